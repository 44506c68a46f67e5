//! The wheel shards: one `Mutex<Wheel>` per runtime worker, each on its own cache line.
//!
//! A timer registers on the shard of the worker thread that first polls it (or resets
//! it before any poll), found through the runtime's worker-index hook; a thread that is
//! not a worker (a `block_on` caller, a blocking-pool thread, a foreign thread) takes
//! the next shard of a thread-local round robin. The entry remembers its shard, so a
//! cancel, a waker update or a reset locks only that shard, and a reset keeps the timer
//! in the shard it was first registered on. With one worker (the current-thread runtime)
//! there is one shard and no hook is consulted.
//!
//! The point is that a `sleep` registered and cancelled on worker `i` writes only shard
//! `i`'s lock word and wheel, not a line every other worker writes too. (The idea is
//! tokio's "sharded timer wheel", tokio 1.38; the code here is our own.)

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;
use magpie_base::loom::sync::atomic::AtomicBool;
use magpie_base::loom::sync::{Mutex, MutexGuard};

use crate::wheel::Wheel;

/// Reports the index of the runtime worker the calling thread currently is, or `None`
/// on a thread that is not a worker. The runtime passes its own to
/// [`Driver::with_shards`](crate::driver::Driver::with_shards).
pub type WorkerIndex = fn() -> Option<usize>;

/// The most shards a driver uses: beyond it, workers share shards (each shard's wheel
/// costs about 6 KiB).
pub(crate) const MAX_SHARDS: usize = 256;

/// Seeds each thread's round robin at a different shard (read once per thread).
static SEED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The next shard this non-worker thread registers on (before masking).
    static ROUND_ROBIN: Cell<usize> = Cell::new(SEED.fetch_add(1, Ordering::Relaxed));
}

pub(crate) struct Shards {
    /// `wheels.len()` is a power of two: a shard is picked by masking.
    wheels: Box<[CachePadded<Shard>]>,
    worker_index: Option<WorkerIndex>,
}

struct Shard {
    wheel: Mutex<Wheel>,
    /// Whether the wheel held a timer when its lock was last released: a hint, read
    /// without the lock by the driver's firing pass to skip empty shards (see
    /// `Shards::may_have_timers`).
    occupied: AtomicBool,
}

/// A locked shard. Releasing it records whether the wheel holds a timer.
pub(crate) struct ShardGuard<'a> {
    wheel: MutexGuard<'a, Wheel>,
    occupied: &'a AtomicBool,
}

impl Deref for ShardGuard<'_> {
    type Target = Wheel;
    fn deref(&self) -> &Wheel {
        &self.wheel
    }
}

impl DerefMut for ShardGuard<'_> {
    fn deref_mut(&mut self) -> &mut Wheel {
        &mut self.wheel
    }
}

impl Drop for ShardGuard<'_> {
    fn drop(&mut self) {
        self.occupied
            .store(self.wheel.len() != 0, Ordering::Relaxed);
    }
}

impl Shards {
    /// `workers` rounded up to a power of two, between 1 and [`MAX_SHARDS`]; `0` is
    /// treated as `1`.
    pub(crate) fn count_for(workers: usize) -> usize {
        workers.clamp(1, MAX_SHARDS).next_power_of_two()
    }

    pub(crate) fn new(workers: usize, worker_index: Option<WorkerIndex>) -> Shards {
        let n = Shards::count_for(workers);
        Shards {
            wheels: (0..n)
                .map(|_| {
                    CachePadded::new(Shard {
                        wheel: Mutex::new(Wheel::new()),
                        occupied: AtomicBool::new(false),
                    })
                })
                .collect(),
            worker_index,
        }
    }

    /// Number of shards (a power of two).
    pub(crate) fn len(&self) -> usize {
        self.wheels.len()
    }

    /// Locks shard `i` (`i < len()`): the "driver lock" of the entries on it.
    #[inline]
    pub(crate) fn lock(&self, i: usize) -> ShardGuard<'_> {
        let shard = &self.wheels[i];
        ShardGuard {
            wheel: shard.wheel.lock(),
            occupied: &shard.occupied,
        }
    }

    /// Whether shard `i` may hold a timer: false only if its wheel was empty when its
    /// lock was last released. A hint, read without the lock: the firing pass skips a
    /// shard that says no. A timer registered meanwhile is not lost: it is seen, under
    /// the lock, by the next park's deadline scan (`publish_next_wake`), which parks no
    /// longer than its deadline (zero if it is already due) and fires it on return.
    #[inline]
    pub(crate) fn may_have_timers(&self, i: usize) -> bool {
        self.wheels[i].occupied.load(Ordering::Relaxed)
    }

    /// The shard a timer first registered by the calling thread goes to.
    #[inline]
    pub(crate) fn pick(&self) -> usize {
        let mask = self.wheels.len() - 1;
        if mask == 0 {
            return 0;
        }
        if let Some(i) = self.worker_index.and_then(|f| f()) {
            return i & mask;
        }
        // A thread-local being destroyed (a `Sleep` polled from a TLS destructor) falls
        // back to shard 0.
        ROUND_ROBIN
            .try_with(|c| {
                let v = c.get();
                c.set(v.wrapping_add(1));
                v
            })
            .unwrap_or(0)
            & mask
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn count_is_a_bounded_power_of_two() {
        assert_eq!(Shards::count_for(0), 1);
        assert_eq!(Shards::count_for(1), 1);
        assert_eq!(Shards::count_for(2), 2);
        assert_eq!(Shards::count_for(3), 4);
        assert_eq!(Shards::count_for(16), 16);
        assert_eq!(Shards::count_for(17), 32);
        assert_eq!(Shards::count_for(100_000), MAX_SHARDS);
        assert_eq!(Shards::count_for(usize::MAX), MAX_SHARDS);
    }

    #[test]
    fn worker_threads_use_their_own_shard() {
        fn five() -> Option<usize> {
            Some(5)
        }
        let s = Shards::new(4, Some(five));
        assert_eq!(s.len(), 4);
        // Worker 5 of a runtime that somehow has more workers than shards: masked.
        assert_eq!(s.pick(), 1);
        let one = Shards::new(1, Some(five));
        assert_eq!(one.pick(), 0);
    }

    #[test]
    fn other_threads_go_round_robin() {
        fn none() -> Option<usize> {
            None
        }
        for hook in [None, Some(none as WorkerIndex)] {
            let s = Shards::new(4, hook);
            let mut seen = [0usize; 4];
            for _ in 0..8 {
                seen[s.pick()] += 1;
            }
            assert_eq!(seen, [2, 2, 2, 2]);
        }
    }

    thread_local! {
        static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
    }

    fn test_worker() -> Option<usize> {
        WORKER.with(|w| w.get())
    }

    /// A timer goes to the shard of the worker that first polls it, and stays there
    /// when it is re-polled, reset or dropped from elsewhere.
    #[test]
    fn entry_keeps_its_first_shard() {
        use crate::driver::Driver;
        use crate::{Clock, Duration, Sleep};
        use magpie_base::park::CondvarPark;
        use std::future::Future;
        use std::task::{Context, Waker};

        let (_driver, handle) =
            Driver::with_shards(CondvarPark::new(), Clock::new(true), 4, test_worker);
        let on = |i| handle.timers_on_shard(i);
        let now = handle.clock().now();
        let mut s = Box::pin(Sleep::new_in(handle.clone(), now + Duration::from_secs(5)));
        let mut cx = Context::from_waker(Waker::noop());
        WORKER.with(|w| w.set(Some(2)));
        assert!(s.as_mut().poll(&mut cx).is_pending());
        assert_eq!((on(0), on(1), on(2), on(3)), (0, 0, 1, 0));
        WORKER.with(|w| w.set(Some(1)));
        assert!(s.as_mut().poll(&mut cx).is_pending());
        s.as_mut().reset(now + Duration::from_secs(9));
        assert_eq!((on(1), on(2)), (0, 1));
        // Fired, then re-armed from worker 1: still shard 2.
        handle.clock().advance(Duration::from_secs(10));
        handle.process();
        assert!(s.is_elapsed());
        assert_eq!(handle.registered_timers(), 0);
        s.as_mut().reset(now + Duration::from_secs(20));
        assert_eq!((on(1), on(2)), (0, 1));
        drop(s);
        assert_eq!(handle.registered_timers(), 0);
        // A non-worker thread's timers go round robin: 4 timers, one per shard.
        WORKER.with(|w| w.set(None));
        let mut v: Vec<_> = (0..4)
            .map(|_| Box::pin(Sleep::new_in(handle.clone(), now + Duration::from_secs(30))))
            .collect();
        for s in &mut v {
            assert!(s.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!((on(0), on(1), on(2), on(3)), (1, 1, 1, 1));
    }
}
