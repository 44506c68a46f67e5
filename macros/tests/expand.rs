//! The attributes expanded for real, against a stand-in runtime (`crate = "..."`).
//!
//! The stand-in records the builder calls in a thread-local; `block_on` runs on the
//! test's thread, so a test body can check how its own runtime was built.

mod fake {
    pub mod runtime {
        use std::cell::RefCell;
        use std::future::Future;
        use std::task::{Context, Poll, Waker};

        thread_local! {
            static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        }

        fn log(s: String) {
            LOG.with(|l| l.borrow_mut().push(s));
        }

        /// The builder calls made for the runtime running the current body.
        pub fn calls() -> String {
            LOG.with(|l| l.borrow().join(" "))
        }

        pub struct Builder(());

        impl Builder {
            pub fn new_multi_thread() -> Builder {
                LOG.with(|l| l.borrow_mut().clear());
                log("new_multi_thread".into());
                Builder(())
            }
            pub fn new_current_thread() -> Builder {
                LOG.with(|l| l.borrow_mut().clear());
                log("new_current_thread".into());
                Builder(())
            }
            pub fn worker_threads(&mut self, n: usize) -> &mut Self {
                log(format!("worker_threads({n})"));
                self
            }
            pub fn enable_all(&mut self) -> &mut Self {
                log("enable_all".into());
                self
            }
            pub fn start_paused(&mut self, paused: bool) -> &mut Self {
                log(format!("start_paused({paused})"));
                self
            }
            pub fn build(&mut self) -> std::io::Result<Runtime> {
                log("build".into());
                Ok(Runtime(()))
            }
        }

        pub struct Runtime(());

        impl Runtime {
            pub fn block_on<F: Future>(&self, future: F) -> F::Output {
                let mut future = std::pin::pin!(future);
                let mut cx = Context::from_waker(Waker::noop());
                loop {
                    if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                        return v;
                    }
                    std::thread::yield_now();
                }
            }
        }
    }
}

use fake::runtime::calls;

/// A future that is pending once, so that the body really suspends.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[magpie_macros::test(crate = "fake")]
async fn test_default_is_current_thread() {
    yield_once().await;
    assert_eq!(calls(), "new_current_thread enable_all build");
}

#[magpie_macros::test(crate = "fake", flavor = "multi_thread", worker_threads = 3)]
async fn test_multi_thread_with_workers() {
    assert_eq!(
        calls(),
        "new_multi_thread worker_threads(3) enable_all build"
    );
}

#[magpie_macros::test(crate = "fake", flavor = "multi_thread")]
async fn test_multi_thread_default_workers() {
    assert_eq!(calls(), "new_multi_thread enable_all build");
}

#[magpie_macros::test(crate = "fake", start_paused = true)]
async fn test_start_paused() {
    assert_eq!(
        calls(),
        "new_current_thread enable_all start_paused(true) build"
    );
}

#[magpie_macros::test(crate = "fake", flavor = "current_thread", start_paused = false)]
async fn test_start_paused_false_emits_nothing() {
    assert_eq!(calls(), "new_current_thread enable_all build");
}

#[magpie_macros::test(crate = "fake")]
async fn test_returning_result_with_question_mark() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "12".parse()?;
    if n == 0 {
        return Err("zero".into());
    }
    assert_eq!(n, 12);
    Ok(())
}

#[magpie_macros::test(crate = "fake")]
#[should_panic(expected = "boom")]
async fn test_should_panic_after_the_attribute() {
    yield_once().await;
    panic!("boom");
}

/// Doc comments and `#[allow]` are kept.
#[magpie_macros::test(crate = "fake")]
#[allow(clippy::bool_assert_comparison)]
async fn test_keeps_attributes() {
    #![allow(unused_variables)]
    let unused = 1;
    assert_eq!(true, true);
}

mod nested {
    use super::fake::runtime::calls;

    #[magpie_macros::test(crate = "crate::fake")]
    async fn crate_relative_path() {
        assert_eq!(calls(), "new_current_thread enable_all build");
    }

    #[magpie_macros::test(crate = "super::fake")]
    async fn super_relative_path() {
        assert_eq!(calls(), "new_current_thread enable_all build");
    }
}

// ---- #[magpie::main] on functions that are not `main` ----

#[magpie_macros::main(crate = "fake")]
async fn main_default() -> String {
    yield_once().await;
    calls()
}

#[magpie_macros::main(crate = "fake", flavor = "current_thread")]
async fn main_current_thread() -> String {
    calls()
}

#[magpie_macros::main(crate = "fake", worker_threads = 2)]
async fn main_workers() -> String {
    calls()
}

#[magpie_macros::main(crate = "fake")]
async fn main_result() -> Result<u32, std::num::ParseIntError> {
    let n: u32 = "41".parse()?;
    Ok(n + 1)
}

#[magpie_macros::main(crate = "fake")]
async fn main_early_return() -> u8 {
    if std::hint::black_box(true) {
        return 1;
    }
    2
}

#[magpie_macros::main(crate = "fake")]
async fn main_impl_trait() -> impl std::fmt::Debug {
    vec![1, 2]
}

#[magpie_macros::main(crate = "fake")]
async fn main_unit() {
    yield_once().await;
}

/// Generic functions (without arguments) expand too.
#[magpie_macros::main(crate = "fake")]
async fn main_generic<T: Default>() -> T {
    T::default()
}

struct Server;

impl Server {
    #[magpie_macros::main(crate = "fake", flavor = "current_thread")]
    pub async fn start() -> Self {
        Self
    }
}

#[test]
fn main_flavors() {
    assert_eq!(main_default(), "new_multi_thread enable_all build");
    assert_eq!(main_current_thread(), "new_current_thread enable_all build");
    assert_eq!(
        main_workers(),
        "new_multi_thread worker_threads(2) enable_all build"
    );
}

#[test]
fn main_return_types() {
    assert_eq!(main_result(), Ok(42));
    assert_eq!(main_early_return(), 1);
    assert_eq!(format!("{:?}", main_impl_trait()), "[1, 2]");
    main_unit();
    assert_eq!(main_generic::<u16>(), 0);
    let Server = Server::start();
}
