//! [`Handle`]: a cheap reference to a runtime, usable from any thread; the current
//! runtime of a thread; [`TryCurrentError`].

use super::{Dump, RuntimeFlavor, RuntimeMetrics};
use crate::context;
use crate::scheduler::{self, current_thread, multi_thread};
use crate::task::{Id, JoinHandle};
use std::fmt;
use std::future::Future;

/// A cheap, cloneable reference to a runtime, usable from any thread (also after the
/// runtime is dropped: spawned tasks are then cancelled at once).
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.runtime_flavor())
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a runtime; use [`try_current`](Handle::try_current) to get an error.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The handle of the runtime this thread is in, or an error.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(|inner| Handle {
            inner: inner.clone(),
        })
    }

    /// Spawns a task onto the runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner
            .spawn(future, Id::next(), crate::task::SpawnMeta::here())
    }

    /// Runs `f` on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.blocking_spawner().spawn_blocking(f)
    }

    /// Runs `future` to completion on this thread with the runtime entered.
    ///
    /// On a multi-thread runtime the future runs here while the workers run the tasks.
    /// On a current-thread runtime this thread drives the scheduler (or, if another
    /// thread does, waits for the future or for its turn).
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.inner {
            scheduler::Handle::CurrentThread(h) => current_thread::block_on(h, future),
            scheduler::Handle::MultiThread(_) => multi_thread::block_on(&self.inner, future),
        }
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::set_current(&self.inner),
            _p: std::marker::PhantomData,
        }
    }

    /// The runtime's name, if the builder gave it one ([`Builder::name`]).
    ///
    /// [`Builder::name`]: super::Builder::name
    pub fn name(&self) -> Option<&str> {
        self.inner.observer().name.as_deref()
    }

    /// Which scheduler the runtime uses.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.inner {
            scheduler::Handle::CurrentThread(_) => RuntimeFlavor::CurrentThread,
            scheduler::Handle::MultiThread(_) => RuntimeFlavor::MultiThread,
        }
    }

    /// Number of worker threads (1 for current-thread).
    pub fn num_workers(&self) -> usize {
        match &self.inner {
            scheduler::Handle::CurrentThread(_) => 1,
            scheduler::Handle::MultiThread(h) => h.num_workers(),
        }
    }

    /// Number of tasks spawned and not yet finished.
    pub fn num_alive_tasks(&self) -> usize {
        match &self.inner {
            scheduler::Handle::CurrentThread(h) => h.num_alive_tasks(),
            scheduler::Handle::MultiThread(h) => h.num_alive_tasks(),
        }
    }

    /// The runtime's metrics: worker count, live tasks, queue depths and per-worker
    /// counters. Always maintained (no cfg, no builder switch).
    ///
    /// ```
    /// let rt = magpie_runtime::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// rt.block_on(async { magpie_runtime::spawn(async {}).await.unwrap() });
    /// let m = rt.handle().metrics();
    /// let polls: u64 = (0..m.num_workers()).map(|i| m.worker_poll_count(i)).sum();
    /// assert!(polls >= 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            handle: self.inner.clone(),
        }
    }

    /// Every live task of the runtime with its id, spawn location, state and (in
    /// debug mode) the time since its last poll. Blocking-pool tasks are not listed.
    ///
    /// ```
    /// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let h = magpie_runtime::spawn(std::future::pending::<()>());
    /// let dump = magpie_runtime::runtime::Handle::current().dump();
    /// assert!(dump.tasks().iter().any(|t| t.id() == h.id()));
    /// println!("{dump}");
    /// # });
    /// ```
    pub fn dump(&self) -> Dump {
        self.inner.dump()
    }

    /// Whether the two handles name the same runtime.
    pub fn same_runtime(&self, other: &Handle) -> bool {
        self.inner.ptr_eq(&other.inner)
    }
}

/// Returned by [`Handle::enter`]: the runtime stays current until it drops.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    _guard: context::SetCurrentGuard,
    _p: std::marker::PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

/// Why [`Handle::try_current`] found no runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError {
    kind: TryCurrentErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TryCurrentErrorKind {
    NoContext,
    ThreadLocalDestroyed,
}

impl TryCurrentError {
    pub(crate) fn new_no_context() -> TryCurrentError {
        TryCurrentError {
            kind: TryCurrentErrorKind::NoContext,
        }
    }

    pub(crate) fn new_thread_local_destroyed() -> TryCurrentError {
        TryCurrentError {
            kind: TryCurrentErrorKind::ThreadLocalDestroyed,
        }
    }

    /// No runtime was entered on this thread.
    pub fn is_missing_context(&self) -> bool {
        self.kind == TryCurrentErrorKind::NoContext
    }

    /// The thread is exiting and its runtime context is gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.kind == TryCurrentErrorKind::ThreadLocalDestroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TryCurrentErrorKind::NoContext => f.write_str(
                "must be called from the context of a magpie runtime: call it inside \
                 `magpie::run`, `#[magpie::main]` or a task, or enter a runtime first \
                 with `Runtime::enter` / `Handle::enter`",
            ),
            TryCurrentErrorKind::ThreadLocalDestroyed => f.write_str(
                "the magpie runtime context of this thread was already destroyed (called \
                 from a thread-local destructor)",
            ),
        }
    }
}

impl std::error::Error for TryCurrentError {}
