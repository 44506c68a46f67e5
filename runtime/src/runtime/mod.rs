//! Building, running and shutting down a runtime: the [`Builder`] (`builder.rs`), the
//! [`Runtime`] that owns the threads (`runtime.rs`) and the [`Handle`] any thread may
//! hold (`handle.rs`), laid out as tokio's `runtime/` is.

mod builder;
mod handle;
mod local_runtime;
#[allow(clippy::module_inception)]
mod runtime;

pub use self::builder::Builder;
pub(crate) use self::builder::DriverConfig;
pub use self::handle::{EnterGuard, Handle, TryCurrentError};
pub use self::local_runtime::LocalRuntime;
pub use self::runtime::{Runtime, RuntimeFlavor};
pub use crate::obs::{Dump, RuntimeMetrics, TaskDump, TaskMeta, TaskState, UnhandledPanic};

use crate::context;
use crate::task::{Id, JoinHandle};
use std::future::Future;

/// Whether `err` is the error an I/O operation returns because its runtime shut down
/// (tokio's `runtime::is_rt_shutdown_err`): after the runtime is dropped, a socket that
/// outlived it fails every operation with this error.
///
/// ```
/// let rt = magpie_runtime::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let listener = rt.block_on(async { magpie_io::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
/// drop(rt);
/// // The driver is gone: the accept fails at once, without waiting.
/// let mut accept = std::pin::pin!(listener.accept());
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// let std::task::Poll::Ready(Err(err)) = accept.as_mut().poll(&mut cx) else {
///     panic!("accept on a shut-down runtime did not fail at once");
/// };
/// assert!(magpie_runtime::runtime::is_rt_shutdown_err(&err));
/// ```
pub fn is_rt_shutdown_err(err: &std::io::Error) -> bool {
    magpie_io::driver::is_shutdown_err(err)
}

/// Spawns a task on the current runtime (asyncio's `create_task`).
///
/// The task starts running in the background at once; the returned [`JoinHandle`]
/// awaits its output, and dropping it detaches the task.
///
/// # Panics
/// Outside a runtime.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let a = magpie_runtime::spawn(async { 1 });
/// let b = magpie_runtime::spawn(async { 2 });
/// assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// # });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let id = Id::next();
    let meta = crate::task::SpawnMeta::here();
    match context::with_current(|h| h.spawn(future, id, meta)) {
        Ok(join) => join,
        Err(e) => panic!("`spawn` {e}"),
    }
}
