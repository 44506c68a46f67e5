//! Tasks: the unit of concurrency, and the handles users hold to them.
//!
//! A task is one heap allocation (see `core.rs`) whose lifecycle is one atomic state
//! word (see `state.rs`, which documents every bit and transition). `JoinHandle`,
//! `AbortHandle`, wakers and run-queue entries are counted pointers to it.

mod builder;
mod core;
mod error;
mod group;
mod harness;
mod join;
mod join_set;
mod label;
pub(crate) mod list;
mod local;
mod local_set;
mod raw;
mod shield;
mod state;
#[cfg(test)]
mod tests;
mod unconstrained;
mod waker;

pub use self::builder::Builder;
pub(crate) use self::builder::SpawnMeta;
pub use self::error::JoinError;
pub use self::group::{GroupError, GroupJoin, TaskFailure, TaskGroup};
pub use self::join::{AbortHandle, JoinHandle};
pub use self::join_set::JoinSet;
pub use self::local::{AccessError, LocalKey, TaskLocalFuture};
pub use self::local_set::{LocalEnterGuard, LocalSet, RunUntil, spawn_local};
pub(crate) use self::raw::{Notified, RawTask, Task};
pub use self::shield::{Shield, shield};
pub use magpie_sync::{ReturnWhen, Wait, wait};

pub use self::unconstrained::{Unconstrained, unconstrained};
pub use crate::blocking::spawn_blocking;
pub use crate::scheduler::multi_thread::block_in_place;
pub use magpie_base::coop::consume_budget;

/// The cooperative budget, as tokio's `task::coop`: each task poll may perform a fixed
/// number of operations on magpie's resources before they start returning `Pending`,
/// so one busy task cannot starve the others of its worker.
pub mod coop {
    pub use super::unconstrained::{Unconstrained, unconstrained};
    pub use magpie_base::coop::{ConsumeBudget, consume_budget, has_budget_remaining};
}

use std::fmt;
use std::future::Future;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The scheduler a task belongs to: where a woken task goes, and what happens when it
/// completes.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Removes the task from the scheduler's owned-task list, returning the list's
    /// reference (or `None` when the task is not in a list).
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// Queues a woken task.
    fn schedule(&self, task: Notified<Self>);

    /// Queues a task that woke itself while running: it goes behind the others.
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }

    /// The runtime's observer when debug mode or a hook is on (checked once per poll);
    /// `None` keeps the poll path free of observability work.
    fn observer(&self) -> Option<&crate::obs::Observer> {
        None
    }

    /// A poll of the task panicked; `unretrieved`: its `JoinHandle` is gone. Applies
    /// the unhandled-panic policy and reports a panic nobody will see.
    fn task_panicked(&self, _meta: &crate::obs::TaskMeta, _msg: &str, _unretrieved: bool) {}

    /// A `JoinHandle` was dropped without reading its task's panic.
    fn panic_dropped(&self, _meta: &crate::obs::TaskMeta, _msg: &str) {}

    /// The task's cell, bound to owned-list shard `shard`, now exists (called once,
    /// right after its allocation, before anything that could unwind).
    fn cell_created(&self, _shard: usize) {}

    /// The task's cell (bound to owned-list shard `shard`) has been freed; this is the
    /// last use of the scheduler the cell held. Called also when freeing the cell
    /// unwound (a panicking join waker or span drop).
    fn cell_freed(self, _shard: usize) {}
}

/// The index of the runtime worker thread this code runs on (`0..num_workers`), or
/// `None` off the runtime's workers (a plain thread, the blocking pool, `block_on` of a
/// multi-thread runtime). The thread driving a current-thread runtime is worker 0.
///
/// ```
/// # let rt = magpie_runtime::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// let i = rt.block_on(async {
///     magpie_runtime::spawn(async { magpie_runtime::task::worker_index() }).await.unwrap()
/// });
/// assert!(matches!(i, Some(0 | 1)));
/// assert_eq!(magpie_runtime::task::worker_index(), None);
/// ```
pub fn worker_index() -> Option<usize> {
    crate::context::worker_index()
}

/// Task ids: each thread takes a block of `BLOCK` ids from the process-wide counter and
/// hands them out one by one, so a spawn writes a thread-local cell, not a counter every
/// worker writes (one shared write per `BLOCK` spawns). Ids stay unique and never
/// reused; they are not ordered across threads.
mod id_counter {
    use std::sync::atomic::{AtomicU64, Ordering};

    #[cfg(not(loom))]
    static NEXT: AtomicU64 = AtomicU64::new(1);

    /// Ids per block.
    #[cfg(not(loom))]
    const BLOCK: u64 = 1024;

    #[cfg(not(loom))]
    std::thread_local! {
        /// The next id of this thread's block and the end of the block (exclusive).
        static LOCAL: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }

    #[cfg(not(loom))]
    pub(super) fn next() -> u64 {
        LOCAL
            .try_with(|local| {
                let (next, end) = local.get();
                if next < end {
                    local.set((next + 1, end));
                    return next;
                }
                let start = NEXT.fetch_add(BLOCK, Ordering::Relaxed);
                local.set((start + 1, start + BLOCK));
                start
            })
            // In a thread-local destructor: one id straight from the counter.
            .unwrap_or_else(|_| NEXT.fetch_add(1, Ordering::Relaxed))
    }

    // Under loom the counter restarts with every execution (and has no blocks): ids
    // pick the owned list's shard, and a model must take the same path each time it
    // is replayed.
    #[cfg(loom)]
    loom::lazy_static! {
        static ref NEXT: AtomicU64 = AtomicU64::new(1);
    }

    #[cfg(loom)]
    pub(super) fn next() -> u64 {
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}

/// An opaque, unique identifier of a task (never reused within a process).
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = magpie_runtime::spawn(async { magpie_runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), id);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        Id(NonZeroU64::new(id_counter::next()).expect("task id counter wrapped"))
    }

    /// The id as a number.
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of the task being polled on this thread.
///
/// # Panics
/// When called outside a task. Use [`try_id`] to get an `Option`.
#[track_caller]
pub fn id() -> Id {
    try_id().expect("magpie::task::id() called outside of a task")
}

/// The id of the task being polled on this thread, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    crate::context::current_task_id()
}

/// Yields to the scheduler: the current task goes to the back of the run queue, so
/// other tasks run before it is polled again (asyncio's `await asyncio.sleep(0)`).
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// for _ in 0..3 {
///     magpie_runtime::task::yield_now().await;
/// }
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // A task woken while it runs is re-queued behind the others after this poll.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
