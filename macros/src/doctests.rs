//! Doctests that run the attributes against a stand-in for the magpie runtime.
//!
//! This crate cannot depend on the `magpie` facade (the facade depends on it), so each
//! example defines a tiny `fake::runtime::Builder` with the same API and points the
//! attribute at it with `crate = "fake"`. The first example compiles and runs; every
//! other one is a `compile_fail` case for one misuse. The exact messages are checked by
//! the unit tests in `tests.rs`; each case here differs from a compiling program only
//! by the mistake it names.
//!
//! Only compiled for `cargo test --doc`.

/// The stand-in runtime and both attributes, used correctly: this one compiles and runs,
/// so the `compile_fail` cases below fail for the reason they name and no other.
///
/// ```
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let n: u32 = "7".parse()?;
///     if n == 0 {
///         return Err("zero".into());
///     }
///     assert_eq!(n, 7);
///     Ok(())
/// }
///
/// #[magpie_macros::test(crate = "fake", flavor = "multi_thread", worker_threads = 2)]
/// async fn a_test() {}
/// ```
#[cfg(doctest)]
pub(crate) mod fine {}

/// `#[magpie::main]` on a fn that is not `async`:
/// "the `async` keyword is missing from the function declaration".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake")]
/// fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod main_not_async {}

/// `#[magpie::test]` on a fn that is not `async`:
/// "the `async` keyword is missing from the function declaration".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake")]
/// fn not_async() {}
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod test_not_async {}

/// A `#[magpie::main]` function with arguments: "... cannot accept arguments".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake")]
/// async fn run(n: u32) -> u32 {
///     n
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod main_with_arguments {}

/// A test function with arguments: "a test function cannot accept arguments".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake")]
/// async fn takes(n: u32) {
///     let _ = n;
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod test_with_arguments {}

/// An unknown argument: "unknown argument `threads` for `#[magpie::main]`; expected one of
/// `flavor`, `worker_threads`, `crate`".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", threads = 4)]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod unknown_argument {}

/// An unknown argument to `#[magpie::test]`.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake", paused = true)]
/// async fn a_test() {}
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod unknown_argument_test {}

/// `start_paused` is only an argument of `#[magpie::test]`.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", flavor = "current_thread", start_paused = true)]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod start_paused_on_main {}

/// A flavor that does not exist: "unknown runtime flavor `multi_threaded`; expected
/// `\"multi_thread\"` or `\"current_thread\"`".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", flavor = "multi_threaded")]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod bad_flavor {}

/// A flavor that is not a string literal.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", flavor = current_thread)]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod flavor_not_a_string {}

/// `worker_threads` with `flavor = "current_thread"`.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", flavor = "current_thread", worker_threads = 2)]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod worker_threads_with_current_thread {}

/// `worker_threads` on a test without `flavor = "multi_thread"` (tests default to the
/// current-thread runtime).
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake", worker_threads = 2)]
/// async fn a_test() {}
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod worker_threads_with_default_test_flavor {}

/// `worker_threads = 0`: "`worker_threads` must be greater than 0".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", worker_threads = 0)]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod worker_threads_zero {}

/// `worker_threads` that is not an integer literal.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", worker_threads = "4")]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod worker_threads_not_an_integer {}

/// `start_paused` with `flavor = "multi_thread"`.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake", flavor = "multi_thread", start_paused = true)]
/// async fn a_test() {}
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod start_paused_with_multi_thread {}

/// An argument given twice: "`flavor` is set more than once".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake", flavor = "current_thread", flavor = "current_thread")]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod duplicate_argument {}

/// A `crate` that is not a path.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "not a path")]
/// async fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod bad_crate_path {}

/// `#[magpie::main]` on something that is not a fn: "the `#[magpie::main]` attribute can
/// only be applied to an `async fn`".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake")]
/// struct Main;
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod main_on_a_struct {}

/// `#[magpie::test]` on something that is not a fn.
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake")]
/// struct NotATest;
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod test_on_a_struct {}

/// `#[test]` next to `#[magpie::test]`: "a second test attribute is supplied".
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::test(crate = "fake")]
/// #[test]
/// async fn twice() {}
/// # fn main() {}
/// ```
#[cfg(doctest)]
pub(crate) mod second_test_attribute {}

/// The body is checked against the declared return type: `return 5` in a fn
/// returning `()` fails (inside the body, not at the generated `block_on`).
///
/// ```compile_fail
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { Builder }
/// #         pub fn new_current_thread() -> Self { Builder }
/// #         pub fn worker_threads(&mut self, _: usize) -> &mut Self { self }
/// #         pub fn enable_all(&mut self) -> &mut Self { self }
/// #         pub fn start_paused(&mut self, _: bool) -> &mut Self { self }
/// #         pub fn build(&mut self) -> std::io::Result<Runtime> { Ok(Runtime) }
/// #     }
/// #     pub struct Runtime;
/// #     impl Runtime {
/// #         pub fn block_on<F: Future>(&self, f: F) -> F::Output {
/// #             let mut f = std::pin::pin!(f);
/// #             let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #             loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// #         }
/// #     }
/// # } }
/// #[magpie_macros::main(crate = "fake")]
/// async fn main() {
///     return 5;
/// }
/// ```
#[cfg(doctest)]
pub(crate) mod return_type_is_checked_in_the_body {}
