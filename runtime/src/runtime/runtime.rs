//! [`Runtime`]: owns the scheduler's threads, the blocking pool and the drivers; dropping
//! it shuts them down.

use super::builder::Builder;
use super::{EnterGuard, Handle};
use crate::blocking;
use crate::context;
use crate::scheduler::{current_thread, multi_thread};
use crate::task::JoinHandle;
use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;

pub(super) enum Scheduler {
    CurrentThread(current_thread::CurrentThread),
    MultiThread(multi_thread::MultiThread),
}

/// A magpie runtime: its scheduler, worker threads, blocking pool and drivers.
///
/// Dropping it shuts it down: every task is cancelled and its future dropped exactly
/// once, and the call waits for the worker threads (and running blocking tasks) to
/// finish. Use [`shutdown_timeout`](Runtime::shutdown_timeout) to bound that wait, or
/// [`shutdown_background`](Runtime::shutdown_background) not to wait at all.
pub struct Runtime {
    pub(super) handle: Handle,
    pub(super) scheduler: Scheduler,
    pub(super) blocking: blocking::Spawner,
    pub(super) shut_down: bool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.runtime_flavor())
            .finish_non_exhaustive()
    }
}

/// Which scheduler a runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// One thread runs everything.
    CurrentThread,
    /// Work-stealing worker threads.
    MultiThread,
}

impl Runtime {
    /// A multi-thread runtime with every driver the builder knows enabled.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().enable_all().build()
    }

    /// Runs `future` to completion on this thread, running the runtime's tasks
    /// meanwhile (current-thread) or alongside on the workers (multi-thread).
    ///
    /// # Panics
    /// When called from inside a runtime (a task, or another `block_on`): blocking that
    /// thread would stall the tasks it drives. Use `.await` instead.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.scheduler {
            Scheduler::CurrentThread(ct) => ct.block_on(future),
            Scheduler::MultiThread(_) => self.handle.block_on(future),
        }
    }

    /// Spawns a task onto this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// The runtime's metrics (tokio's `Runtime::metrics`; the same as
    /// [`Handle::metrics`]).
    ///
    /// ```
    /// let rt = magpie_runtime::runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> crate::runtime::RuntimeMetrics {
        self.handle.metrics()
    }

    /// A handle to this runtime, usable from any thread.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime the current one on this thread until the guard drops (so
    /// `magpie::spawn` works from plain threads).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for worker and blocking threads to stop.
    /// Threads still running after that are left to finish on their own.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.do_shutdown(Some(timeout));
    }

    /// Shuts down without waiting for threads (safe to call from async code).
    pub fn shutdown_background(mut self) {
        self.do_shutdown(Some(Duration::ZERO));
    }

    fn do_shutdown(&mut self, timeout: Option<Duration>) {
        if self.shut_down {
            return;
        }
        self.shut_down = true;
        // Task futures dropped below may use the runtime (deregister a socket, cancel a
        // timer): make it current.
        let _current = context::set_current(&self.handle.inner);
        match &self.scheduler {
            Scheduler::CurrentThread(ct) => ct.shutdown(),
            Scheduler::MultiThread(mt) => mt.shutdown(timeout),
        }
        self.blocking.shutdown(timeout);
        self.handle.inner.observer().stop();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropping a runtime from inside a runtime must not block that thread on the
        // worker threads (it might be one of them): don't wait.
        let timeout = match context::runtime_state() {
            context::EnterRuntime::Entered { .. } => Some(Duration::ZERO),
            context::EnterRuntime::NotEntered => None,
        };
        self.do_shutdown(timeout);
    }
}
