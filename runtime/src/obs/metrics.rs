//! Per-worker counters (single writer, Relaxed load + store) and the public
//! [`RuntimeMetrics`] snapshot that reads them.

use super::{Observer, now_ns};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// One worker's counters. Written only by the thread holding that worker's core.
#[derive(Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) steal_operations: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) lifo_hits: AtomicU64,
    /// Busy nanoseconds accumulated up to the last park.
    pub(crate) busy_ns: AtomicU64,
    /// When the worker last unparked (epoch ns), 0 while parked.
    pub(crate) busy_since: AtomicU64,
    /// Local queue depth, for schedulers whose queue cannot be read from other
    /// threads (current-thread): published at batch boundaries.
    pub(crate) queue_depth: AtomicU64,
}

/// Single-writer increment: a Relaxed load and store, no read-modify-write.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl WorkerMetrics {
    /// The worker thread starts running (not an unpark: the park/unpark count stays
    /// even).
    pub(crate) fn started(&self) {
        self.busy_since.store(now_ns(), Relaxed);
    }

    /// The worker was woken from a park.
    pub(crate) fn unparked(&self) {
        self.busy_since.store(now_ns(), Relaxed);
        bump(&self.unparks, 1);
    }

    /// The worker is about to park.
    pub(crate) fn parking(&self) {
        let since = self.busy_since.load(Relaxed);
        if since != 0 {
            bump(&self.busy_ns, now_ns().saturating_sub(since));
            self.busy_since.store(0, Relaxed);
        }
        bump(&self.parks, 1);
    }

    pub(super) fn busy(&self) -> Duration {
        let mut ns = self.busy_ns.load(Relaxed);
        let since = self.busy_since.load(Relaxed);
        if since != 0 {
            ns += now_ns().saturating_sub(since);
        }
        Duration::from_nanos(ns)
    }
}

/// A snapshot of a runtime's metrics (see [`Handle::metrics`]).
///
/// Counters are per worker and monotonic; read them twice and subtract to get rates.
/// They are maintained always (no cfg, no builder switch): each worker writes its own
/// cache-padded counters with plain Relaxed stores.
///
/// [`Handle::metrics`]: crate::runtime::Handle::metrics
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub(crate) handle: crate::scheduler::Handle,
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &self.num_workers())
            .field("num_alive_tasks", &self.num_alive_tasks())
            .field("global_queue_depth", &self.global_queue_depth())
            .finish_non_exhaustive()
    }
}

impl RuntimeMetrics {
    fn obs(&self) -> &Observer {
        self.handle.observer()
    }

    /// Number of worker threads (1 for the current-thread runtime).
    pub fn num_workers(&self) -> usize {
        self.obs().num_worker_slots()
    }

    /// Tasks spawned and not yet finished (blocking-pool tasks are not counted).
    pub fn num_alive_tasks(&self) -> usize {
        self.handle.num_alive_tasks()
    }

    /// Tasks in the global (injection) queue.
    pub fn global_queue_depth(&self) -> usize {
        self.handle.global_queue_depth()
    }

    /// Threads the blocking pool runs now (busy or idle).
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.blocking_spawner().num_threads()
    }

    /// Closures ever handed to the blocking pool (`spawn_blocking`, and what is built on
    /// it: `magpie::fs`, `lookup_host`).
    pub fn blocking_tasks_spawned(&self) -> u64 {
        self.handle.blocking_spawner().num_spawned()
    }

    /// Blocking closures waiting for a pool thread.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.blocking_spawner().queue_depth()
    }

    /// Task polls worker `i` has done.
    ///
    /// # Panics
    /// When `i >= num_workers()` (as do the other `worker_*` methods).
    pub fn worker_poll_count(&self, i: usize) -> u64 {
        self.obs().worker(i).polls.load(Relaxed)
    }

    /// Tasks worker `i` stole from other workers' queues.
    pub fn worker_steal_count(&self, i: usize) -> u64 {
        self.obs().worker(i).steals.load(Relaxed)
    }

    /// Successful steal operations of worker `i` (each moves one or more tasks).
    pub fn worker_steal_operations(&self, i: usize) -> u64 {
        self.obs().worker(i).steal_operations.load(Relaxed)
    }

    /// Times worker `i` parked (went to sleep for lack of work).
    pub fn worker_park_count(&self, i: usize) -> u64 {
        self.obs().worker(i).parks.load(Relaxed)
    }

    /// How many times worker `i` parked plus how many times it unparked (tokio's
    /// `worker_park_unpark_count`): odd while the worker is parked.
    ///
    /// # Panics
    /// When `i >= num_workers()`.
    pub fn worker_park_unpark_count(&self, i: usize) -> u64 {
        let w = self.obs().worker(i);
        w.parks.load(Relaxed) + w.unparks.load(Relaxed)
    }

    /// Tasks in worker `i`'s local queue now (the LIFO slot not included). On the
    /// current-thread runtime this is the value at the last batch boundary.
    pub fn worker_local_queue_depth(&self, i: usize) -> usize {
        self.handle.worker_local_queue_depth(i)
    }

    /// Time worker `i` spent awake (between unpark and park), including the
    /// current stretch when it is awake now.
    pub fn worker_total_busy_duration(&self, i: usize) -> Duration {
        self.obs().worker_busy(i)
    }

    /// Times worker `i`'s local queue overflowed into the global queue. Always 0:
    /// magpie's local queues (crossbeam deques) are unbounded and never overflow.
    pub fn worker_overflow_count(&self, i: usize) -> u64 {
        let _ = self.obs().worker(i);
        0
    }

    /// Tasks worker `i` polled from its LIFO slot.
    pub fn worker_lifo_hits(&self, i: usize) -> u64 {
        self.obs().worker(i).lifo_hits.load(Relaxed)
    }
}
