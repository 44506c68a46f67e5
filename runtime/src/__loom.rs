//! Internals reachable only under `--cfg loom`, for the models in `loom-tests/`. Not
//! part of the public API.

use crate::loom::sync::Mutex;
use crate::scheduler::multi_thread::idle;
use crate::scheduler::park;
use crate::task::list::OwnedTasks;
use crate::task::{Id, JoinHandle, Notified, Schedule, Task};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

/// A minimal scheduler over the real task code: a queue under a mutex plus the real
/// owned-task list.
pub struct Sched(Arc<Inner>);

/// The shared part of [`Sched`].
pub struct Inner {
    queue: Mutex<VecDeque<Notified<Arc<Inner>>>>,
    owned: OwnedTasks<Arc<Inner>>,
}

impl Schedule for Arc<Inner> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.queue.lock().push_back(task);
    }
}

impl Default for Sched {
    fn default() -> Self {
        Self::new()
    }
}

impl Sched {
    /// A new scheduler with an empty queue.
    pub fn new() -> Sched {
        Sched(Arc::new(Inner {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(1),
        }))
    }

    /// Spawns `f` (queued, not run).
    pub fn spawn<F>(&self, f: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.0.owned.bind(
            f,
            self.0.clone(),
            Id::next(),
            crate::task::SpawnMeta::here(),
            0,
        );
        if let Some(n) = notified {
            self.0.schedule(n);
        }
        join
    }

    /// Runs one queued task. Returns false when the queue was empty.
    pub fn run_one(&self) -> bool {
        let task = self.0.queue.lock().pop_front();
        match task {
            Some(t) => {
                t.run();
                true
            }
            None => false,
        }
    }

    /// Runs queued tasks until the queue is empty.
    pub fn run_all(&self) {
        while self.run_one() {}
    }

    /// Cancels every task and drops the queue, as runtime shutdown does.
    pub fn shutdown(&self) {
        self.0.owned.close_and_shutdown_all(0);
        let drained: Vec<_> = self.0.queue.lock().drain(..).collect();
        drop(drained);
    }

    /// Drops every queued `Notified` without running it (a real runtime's final drain
    /// of its queues at shutdown), leaving the owned list alone.
    pub fn drain_queue(&self) {
        let drained: Vec<_> = self.0.queue.lock().drain(..).collect();
        drop(drained);
    }

    /// Tasks not yet completed.
    pub fn num_alive(&self) -> usize {
        self.0.owned.len()
    }

    /// Task allocations not yet freed: every task cell holds a clone of the scheduler
    /// handle, so this is the handle's strong count less this `Sched`'s own.
    pub fn num_cells(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }

    /// Number of `Notified` entries in the queue.
    pub fn queue_len(&self) -> usize {
        self.0.queue.lock().len()
    }
}

/// The worker parker (no driver).
pub struct Parker(park::Parker);

/// Wakes a [`Parker`].
#[derive(Clone)]
pub struct Unparker(park::Unparker);

/// A driver slot shared by several parkers: whichever parker can lock it parks on the
/// driver, the others on their condvars.
pub struct Driver(std::sync::Arc<park::DriverSlot>);

impl Driver {
    /// A slot holding `driver`.
    pub fn new(driver: Box<dyn magpie_base::park::Park>) -> Driver {
        Driver(std::sync::Arc::new(park::DriverSlot::new(Some(driver))))
    }
}

impl Parker {
    /// A parker that parks on its condvar.
    pub fn new() -> Parker {
        Parker(park::Parker::new(std::sync::Arc::new(
            park::DriverSlot::new(None),
        )))
    }

    /// A parker sharing `driver` with other parkers.
    pub fn with_driver(driver: &Driver) -> Parker {
        Parker(park::Parker::new(driver.0.clone()))
    }

    /// Its unparker.
    pub fn unparker(&self) -> Unparker {
        Unparker(self.0.unparker())
    }

    /// Blocks until unparked.
    pub fn park(&mut self) {
        self.0.park();
    }
}

impl Default for Parker {
    fn default() -> Self {
        Self::new()
    }
}

impl Unparker {
    /// Wakes the parker (or makes its next park return at once).
    pub fn unpark(&self) {
        self.0.unpark();
    }
}

/// The idle-worker tracker of the multi-thread scheduler.
pub struct Idle(idle::Idle);

impl Idle {
    /// Tracks `n` workers, all unparked.
    pub fn new(n: usize) -> Idle {
        Idle(idle::Idle::new(n))
    }
    /// See the scheduler's `Idle::worker_to_notify`.
    pub fn worker_to_notify(&self) -> Option<usize> {
        self.0.worker_to_notify()
    }
    /// See `Idle::transition_worker_to_parked`.
    pub fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        self.0.transition_worker_to_parked(worker, is_searching)
    }
    /// See `Idle::transition_worker_to_searching`.
    pub fn transition_worker_to_searching(&self) -> bool {
        self.0.transition_worker_to_searching()
    }
    /// See `Idle::transition_worker_from_searching`.
    pub fn transition_worker_from_searching(&self) -> bool {
        self.0.transition_worker_from_searching()
    }
    /// See `Idle::unpark_worker_by_id`.
    pub fn unpark_worker_by_id(&self, worker: usize) -> bool {
        self.0.unpark_worker_by_id(worker)
    }
    /// See `Idle::is_parked`.
    pub fn is_parked(&self, worker: usize) -> bool {
        self.0.is_parked(worker)
    }
    /// Workers counted as searching (for end-of-model accounting checks).
    pub fn num_searching(&self) -> usize {
        self.0.num_searching()
    }
}

/// Polls `f` once with a no-op waker and returns its output.
///
/// # Panics
/// When `f` is not ready at once (a test expected it to be).
pub fn block_on_ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("expected a ready future"),
    }
}

/// A waker that unparks the calling thread's `block_on` parker (the real one).
pub fn park_thread_waker() -> std::task::Waker {
    park::park_thread_waker()
}

/// Parks the calling thread until a waker from [`park_thread_waker`] fires.
pub fn park_thread() {
    park::CachedParkThread.park(None);
}

/// The multi-thread runtime's distributed count of live task cells
/// (`scheduler/multi_thread/task_handle.rs`).
pub struct CellCount(crate::scheduler::multi_thread::task_handle::CellCount);

impl CellCount {
    /// `shards` words, all zero.
    pub fn new(shards: usize) -> CellCount {
        CellCount(crate::scheduler::multi_thread::task_handle::CellCount::new(
            shards,
        ))
    }
    /// See `CellCount::inc`: true when the caller must take the cells' reference.
    pub fn inc(&self, shard: usize) -> bool {
        self.0.inc(shard)
    }
    /// See `CellCount::dec`: true when the caller must release the cells' reference.
    pub fn dec(&self, shard: usize) -> bool {
        self.0.dec(shard)
    }
    /// See `CellCount::drain`: true when the caller must release the cells' reference.
    pub fn drain(&self) -> bool {
        self.0.drain()
    }
}
