//! [`LocalRuntime`]: a current-thread runtime plus the [`LocalSet`] its `block_on`
//! drives, so `!Send` tasks can be spawned anywhere on it (tokio's `LocalRuntime`).

use super::{Handle, Runtime, UnhandledPanic};
use crate::task::{JoinHandle, LocalSet};
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// A runtime whose tasks all run on the thread that calls [`block_on`]: asyncio's single
/// event loop. Besides `Send` tasks ([`spawn`](LocalRuntime::spawn)) it runs `!Send`
/// ones: [`spawn_local`](LocalRuntime::spawn_local), or the free
/// [`task::spawn_local`](crate::task::spawn_local) from any code it runs. Built by
/// [`Builder::build_local`](super::Builder::build_local); `#[magpie::main(flavor =
/// "local")]` uses it.
///
/// It is `!Send`: it stays on the thread that built it. Dropping it cancels every task,
/// dropping each local future exactly once, on this thread.
///
/// [`block_on`]: LocalRuntime::block_on
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let rt = magpie_runtime::runtime::Builder::new_current_thread()
///     .enable_all()
///     .build_local()
///     .unwrap();
/// let hits = Rc::new(Cell::new(0));
/// let h = hits.clone();
/// rt.spawn_local(async move { h.set(h.get() + 1) });
/// rt.block_on(async { magpie_runtime::task::yield_now().await });
/// assert_eq!(hits.get(), 1);
/// ```
pub struct LocalRuntime {
    // Field order is drop order: the set (and its futures, with the runtime entered)
    // goes before the runtime.
    local: LocalSet,
    rt: Runtime,
}

impl LocalRuntime {
    pub(super) fn new(rt: Runtime, policy: UnhandledPanic) -> LocalRuntime {
        let mut local = LocalSet::new();
        local.unhandled_panic(policy);
        local.set_runtime(&rt.handle.inner);
        LocalRuntime { local, rt }
    }

    /// Runs `future` to completion on this thread, running every task of the runtime,
    /// local or not, meanwhile.
    ///
    /// # Panics
    /// When called from inside a runtime (use `.await`), and under
    /// `UnhandledPanic::ShutdownRuntime` once a task panicked.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // Entered for the whole call, not only while the set is polled: `spawn_local`
        // then works from the runtime's `Send` tasks too, and local tasks woken on this
        // thread between polls (a timer) wake the set.
        let _local = self.local.enter();
        self.rt.block_on(self.local.run_until(future))
    }

    /// Spawns a `!Send` task; it runs during `block_on`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local.spawn_local(future)
    }

    /// Spawns a `Send` task; it runs during `block_on`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(future)
    }

    /// Runs `f` on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.rt.spawn_blocking(f)
    }

    /// The runtime's handle (for `Send` work from other threads; its metrics and task
    /// dumps count the `Send` tasks only).
    pub fn handle(&self) -> &Handle {
        self.rt.handle()
    }

    /// Shuts down: cancels every task, then waits at most `timeout` for the blocking
    /// pool.
    pub fn shutdown_timeout(self, timeout: Duration) {
        let LocalRuntime { local, rt } = self;
        drop(local);
        rt.shutdown_timeout(timeout);
    }

    /// Shuts down without waiting for the blocking pool.
    pub fn shutdown_background(self) {
        let LocalRuntime { local, rt } = self;
        drop(local);
        rt.shutdown_background();
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}
