//! The multi-thread, work-stealing scheduler.
//!
//! N workers, each with a crossbeam-deque local queue and a LIFO slot, share one global
//! `Injector` for tasks queued from outside the workers. See `worker.rs` for the run
//! loop and `idle.rs` for the parking protocol.

pub(crate) mod idle;
pub(crate) mod worker;

pub(crate) use worker::{Handle, MultiThread};

/// Runs blocking code on the current worker thread, first handing this worker's queue
/// to a new worker thread so that the other tasks keep running.
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
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    worker::block_in_place(f)
}
