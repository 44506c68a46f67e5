//! The multi-thread, work-stealing scheduler.
//!
//! N workers, each with a crossbeam-deque local queue and a LIFO slot, share one global
//! `Injector` for tasks queued from outside the workers. See `worker.rs` for the run
//! loop and `idle.rs` for the parking protocol.

mod block_in_place;
pub(crate) mod idle;
#[cfg(loom)]
mod loom_queue;
pub(crate) mod task_handle;
#[cfg(test)]
mod tests;
pub(crate) mod worker;

pub(crate) use worker::{Handle, MultiThread};

use crate::context;
use std::future::Future;

/// `block_on` of a multi-thread runtime: the future runs on the calling thread (which
/// is not a worker) while the workers run the tasks; the thread parks on its own
/// parker between polls.
#[track_caller]
pub(crate) fn block_on<F: Future>(handle: &crate::scheduler::Handle, future: F) -> F::Output {
    let _enter = context::enter_runtime(handle, true);
    let waker = crate::scheduler::park::park_thread_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    let obs = handle.observer();
    obs.register_waiter(&waker);
    loop {
        if obs.has_panicked() {
            panic!("{}", crate::obs::SHUTDOWN_PANIC_MSG);
        }
        if let std::task::Poll::Ready(out) =
            magpie_base::coop::budget(|| future.as_mut().poll(&mut cx))
        {
            return out;
        }
        crate::scheduler::park::CachedParkThread.park(None);
    }
}

/// Runs blocking code on the current worker thread, first handing this worker's queue
/// to a blocking-pool thread (which becomes a worker) so that the other tasks keep
/// running. The closure runs without the caller's cooperative budget.
///
/// Unlike [`spawn_blocking`](crate::task::spawn_blocking), the closure may borrow from
/// the caller. Outside a runtime it simply runs the closure.
///
/// # Panics
/// On a current-thread runtime, which has no other thread to hand its tasks to.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
/// let data = vec![1, 2, 3];
/// let sum = magpie_runtime::spawn(async move {
///     magpie_runtime::task::block_in_place(|| data.iter().sum::<i32>())
/// }).await.unwrap();
/// assert_eq!(sum, 6);
/// # });
/// ```
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    block_in_place::block_in_place(f)
}
