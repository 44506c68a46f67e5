//! magpie-sync: channels, locks and notification primitives that work under any executor.
//!
//! Nothing here depends on a runtime: every primitive is a plain future that registers the
//! polling task's [`Waker`](std::task::Waker), so it works under magpie, another
//! executor, or a hand-written `block_on`. When they run on magpie's runtime, waiting
//! operations (`recv`, `acquire`, `lock`, ...) spend the task's cooperative budget (see
//! `magpie_base::coop`), so a task that always finds its channel ready still yields.
//!
//! | module / type | what it is | asyncio |
//! |---|---|---|
//! | [`mpsc`] | multi-producer, single-consumer queue, bounded or unbounded | `Queue` |
//! | [`oneshot`] | one value, once | `Future` |
//! | [`broadcast`] | every receiver sees every value (bounded ring) | |
//! | [`watch`] | latest value, change notification | |
//! | [`Mutex`], [`RwLock`] | async locks, FIFO-fair | `Lock` |
//! | [`Semaphore`] | counting semaphore, FIFO-fair | `Semaphore` |
//! | [`Notify`] | wake one / all waiting tasks | |
//! | [`Event`] | a settable flag tasks wait on | `Event` |
//! | [`Barrier`] | rendezvous of `n` tasks | `Barrier` |
//! | [`OnceCell`] | lazily, asynchronously initialised value | |
//! | [`SetOnce`] | a value set once, awaited by others | |
//! | [`Condition`] | condition variable used with [`Mutex`] | `Condition` |
//! | [`gather!`], [`gather_all`], [`try_gather!`], [`try_gather_all`] | run futures concurrently in this task, collect outputs | `gather` |
//! | [`as_completed`] | a `Stream` of outputs in completion order | `as_completed` |
//! | [`wait`], [`ReturnWhen`] | wait until first done / first error / all done | `wait` |
//! | [`join!`], [`try_join!`] | tokio's names for `gather!(..).await`, `try_gather!(..).await` | `gather` |
//! | [`select!`] | first of several futures wins, the rest are dropped | `wait(FIRST_COMPLETED)` |
//! | [`pin!`] | pin futures on the stack, to poll them by `&mut` | |
//!
//! See `docs/sync.md` for the design and the table of cancel-safe methods.
#![warn(missing_docs, missing_debug_implementations)]

pub(crate) use magpie_base::loom;

mod barrier;
mod batch_semaphore;
pub mod broadcast;
mod combinators;
mod condition;
mod event;
mod once_cell;
mod set_once;
mod util;

pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod rwlock;
mod semaphore;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
#[doc(hidden)]
pub use combinators::__private;
pub use combinators::{
    AsCompleted, GatherAll, ReturnWhen, TryGatherAll, Wait, as_completed, gather_all,
    try_gather_all, wait,
};
pub use condition::Condition;
pub use event::Event;
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};

/// Runs a future to completion on the current thread (parking it between polls).
///
/// For doc examples and tests only; not part of the public API.
#[doc(hidden)]
pub fn __block_on<F: std::future::Future>(fut: F) -> F::Output {
    util::block_on::block_on(fut)
}
