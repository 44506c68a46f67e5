//! `#[magpie::main]` and `#[magpie::test]`: run an `async fn` on a magpie runtime.
//!
//! Use these through the facade crate, as `#[magpie::main]` and `#[magpie::test]`;
//! this crate is an implementation detail of `magpie`.
//!
//! ```ignore
//! #[magpie::main]
//! async fn main() -> std::io::Result<()> {
//!     let handle = magpie::spawn(async { 6 * 7 });
//!     println!("{}", handle.await.unwrap());
//!     Ok(())
//! }
//!
//! #[magpie::test]
//! async fn adds() {
//!     assert_eq!(magpie::spawn(async { 1 + 1 }).await.unwrap(), 2);
//! }
//! ```
//!
//! # What the attributes expand to
//!
//! The `async fn` becomes a plain `fn` with the same name, visibility, attributes and
//! return type. Its body builds a runtime and blocks on the original body:
//!
//! ```ignore
//! fn main() -> std::io::Result<()> {
//!     let body = ::core::pin::pin!(async move { /* the original body */ });
//!     let body: Pin<&mut dyn Future<Output = std::io::Result<()>>> = body;
//!     return ::magpie::runtime::Builder::new_multi_thread() // or new_current_thread()
//!         .worker_threads(4)   // only when `worker_threads = 4` is given
//!         .enable_all()
//!         .start_paused(true)  // only when `start_paused = true` is given (tests)
//!         .build()
//!         .expect("failed to build the magpie runtime")
//!         .block_on(body);
//! }
//! ```
//!
//! The future is coerced to the declared return type, so `?` and `return` in the body
//! work as in any function returning that type, and a body of the wrong type is
//! reported at the return type. (When the return type cannot be named there, e.g.
//! `impl Trait` or `!`, the future is left to inference instead.) `#[magpie::test]`
//! also puts `#[test]` in front of the function's other attributes, so attributes such
//! as `#[should_panic]` or `#[ignore]` written after it keep working.
//!
//! # Arguments
//!
//! | argument | values | default | |
//! |---|---|---|---|
//! | `flavor` | `"multi_thread"`, `"current_thread"`, `"local"` | main: `"multi_thread"`, test: `"current_thread"` | which scheduler; `"local"` is a current-thread `LocalRuntime` (`Builder::build_local`), where `spawn_local` works anywhere |
//! | `worker_threads` | integer literal > 0 | number of cores | multi-thread only |
//! | `start_paused` | `true`, `false` | `false` | `#[magpie::test]` with current-thread only: start with the clock paused |
//! | `name` | string literal | none | the runtime's name (`Builder::name`, `Handle::name`) |
//! | `crate` | string holding a path | `"::magpie"` | where the facade crate is, for crates that re-export magpie |
//!
//! # Errors
//!
//! Misuse is a compile error pointing at the mistake: a fn that is not `async`, a fn
//! with arguments, an unknown or repeated argument, a bad value, `worker_threads` with
//! the current-thread flavor, `start_paused` with the multi-thread flavor, the
//! attribute on something that is not a fn. The function is still emitted (unchanged,
//! or expanded with the valid arguments) so that no follow-up errors hide the real one.
//!
//! Every misuse above has a compile-fail case, with its expected compiler output, in
//! the facade's `tests/ui/` (run by `tests/macros_ui.rs` with trybuild). The examples
//! in this crate's own tests and doctests run against a small stand-in for the `magpie`
//! runtime, selected with `crate = "..."`, because this crate cannot depend on the
//! facade that re-exports it.

mod args;
mod expand;
mod select;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

use crate::args::Kind;

/// Runs an `async fn` on a new magpie runtime: marks the program's entry point.
///
/// Works on `async fn main()` and on any other `async fn` without arguments, whatever
/// its return type. The default runtime is the multi-thread one.
///
/// ```ignore
/// #[magpie::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let n: u32 = "42".parse()?;
///     println!("{n}");
///     Ok(())
/// }
/// ```
///
/// Arguments (all optional):
///
/// - `flavor = "multi_thread"` (default), `flavor = "current_thread"`, or
///   `flavor = "local"` (a `LocalRuntime`: `!Send` tasks with `spawn_local` anywhere);
/// - `worker_threads = N`, `N > 0`, multi-thread only;
/// - `crate = "path::to::magpie"`: the path of the facade crate (default `::magpie`),
///   for crates that re-export magpie under another name.
///
/// ```ignore
/// #[magpie::main(flavor = "current_thread")]
/// async fn main() {}
///
/// #[magpie::main(worker_threads = 2)]
/// async fn main() {}
///
/// #[my_framework::main(crate = "my_framework::magpie")]
/// async fn main() {}
/// ```
///
/// A runnable example, against a stand-in for the runtime (see the crate docs for why):
///
/// ```
/// # mod fake { pub mod runtime {
/// #     use std::future::Future;
/// #     pub static LOG: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
/// #     fn log(s: &str) { LOG.lock().unwrap().push_str(s); }
/// #     pub struct Builder;
/// #     impl Builder {
/// #         pub fn new_multi_thread() -> Self { log("multi_thread"); Builder }
/// #         pub fn new_current_thread() -> Self { log("current_thread"); Builder }
/// #         pub fn worker_threads(&mut self, n: usize) -> &mut Self { log(&format!(" workers={n}")); self }
/// #         pub fn enable_all(&mut self) -> &mut Self { log(" all"); self }
/// #         pub fn start_paused(&mut self, p: bool) -> &mut Self { log(&format!(" paused={p}")); self }
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
/// #[magpie_macros::main(crate = "fake", worker_threads = 2)]
/// async fn answer() -> Result<u32, std::num::ParseIntError> {
///     let n: u32 = "40".parse()?;
///     Ok(n + 2)
/// }
///
/// fn main() {
///     assert_eq!(answer(), Ok(42));
///     assert_eq!(*fake::runtime::LOG.lock().unwrap(), "multi_thread workers=2 all");
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a new magpie runtime.
///
/// The function becomes a `#[test]` that builds a runtime and blocks on the body. The
/// default runtime is the current-thread one (each test gets its own). The test may
/// return anything `#[test]` accepts, such as `Result<(), E>`; attributes written
/// after `#[magpie::test]`, such as `#[should_panic]`, apply to the test.
///
/// ```ignore
/// #[magpie::test]
/// async fn spawns() {
///     assert_eq!(magpie::spawn(async { 2 }).await.unwrap(), 2);
/// }
///
/// #[magpie::test(flavor = "multi_thread", worker_threads = 4)]
/// async fn on_four_workers() -> std::io::Result<()> {
///     Ok(())
/// }
///
/// #[magpie::test(start_paused = true)]
/// async fn with_a_paused_clock() {}
///
/// #[magpie::test]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     panic!("boom");
/// }
/// ```
///
/// Arguments (all optional): `flavor`, `worker_threads` and `crate` as for
/// [`macro@main`], and `start_paused = true | false` (current-thread only): start the
/// runtime with its clock paused, so that timers fire as soon as every task is idle.
///
/// Against a stand-in runtime (outside `cargo test` the `#[test]` function is compiled
/// out, so this only shows that it expands; the crate's integration tests run such
/// tests):
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
/// #[magpie_macros::test(crate = "fake", start_paused = true)]
/// async fn paused() -> Result<(), String> {
///     Ok(())
/// }
///
/// #[magpie_macros::test(crate = "fake")]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     panic!("boom");
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args.into(), item.into()).into()
}

/// Implementation detail of `magpie_sync::select!`: the pattern with `mut`, `ref` and
/// `ref mut` binding modifiers removed (see `select.rs`). Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn __select_clean_pattern(input: TokenStream) -> TokenStream {
    select::clean_pattern(input)
}
