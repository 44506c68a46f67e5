//! The time driver: owns the wheel shards, parks on the layer below until the next
//! deadline, and fires what is due.
//!
//! # Integration
//!
//! The runtime builds `Driver::with_shards(io_or_condvar_park, clock, workers,
//! worker_index)` (or [`Driver::new`], one shard), keeps the [`Driver`] with whichever
//! worker may park on it, and enters the [`Handle`] ([`Handle::enter`]) on every runtime
//! thread so that `sleep` and friends find it. Timers live in one wheel per shard, each
//! under its own lock (`shard.rs`: which shard a timer goes to). A worker with nothing to
//! do calls [`Park::park`] (or `park_timeout`) on the driver:
//!
//! 1. with several shards it stores `SCANNING` in `next_wake`; then it locks each shard
//!    in turn (never two at once) for its earliest deadline, and while holding the
//!    *last* shard's lock publishes the minimum `T` as `T + 1` in `next_wake` ("I sleep
//!    until tick T"; `PARKED_FOREVER` if there is no timer);
//! 2. it parks the layer below with that timeout. On a paused clock with auto-advance
//!    allowed, it instead polls the layer below without blocking and, if nothing woke
//!    the runtime meanwhile, moves the clock to the deadline;
//! 3. it stores `NOT_PARKED` in `next_wake` and, shard by shard, fires every timer due
//!    at the clock's current reading, waking their tasks outside the lock, in batches.
//!
//! A timer registered from any thread, under its shard's lock, then reads `next_wake`:
//! if it is not `NOT_PARKED` and the timer's tick + 1 is below it (`SCANNING` and
//! `PARKED_FOREVER` are above every tick), the registration lowers `next_wake`
//! (`fetch_min`) and calls the lower layer's unparker.
//!
//! # Why no wake-up is lost with several shards
//!
//! The race: registration `R` (tick `t`, shard `s`) runs while the driver computes the
//! minimum over the shards, say after the driver has read shard `s` but before it
//! publishes. The claim is that if the driver then sleeps to a deadline `T > t`, `R`
//! unparks it (or an unpark already pending ends that sleep). Every `next_wake` access
//! is SeqCst, and the unpark of the layer below is never lost (`Unpark` contract: an
//! unpark before the park makes the park return at once).
//!
//! * If `R`'s critical section on shard `s` comes before the driver's, the driver sees
//!   the timer, so `T <= t` (or the timer was cancelled or fired meanwhile).
//! * Otherwise the driver stored `SCANNING` (step 1) before it locked `s`, and `R` locks
//!   `s` after the driver unlocked it: that store happens-before `R`'s load of
//!   `next_wake`, so the load returns it or a value later in `next_wake`'s modification
//!   order. Those values are: `SCANNING` (`R` unparks); the published `T + 1` or
//!   `PARKED_FOREVER` (`R` unparks, since `t + 1 < T + 1`); `NOT_PARKED` (the park is
//!   already over: the driver fires and then re-scans every shard before parking again,
//!   and this argument applies to that next park); or a value `x + 1` lowered by another
//!   registration `R'`. If `x + 1 <= t + 1`, `R` does not unpark, but `R'` unparks after its
//!   `fetch_min`, and that unpark cannot have been consumed by an earlier park: it
//!   follows a write that is after `SCANNING` in modification order, so it is not
//!   before the store of `SCANNING`, which precedes this park's call to the layer below.
//!   Either way the park ends before `t` and the driver re-scans.
//!
//! With one shard, `SCANNING` is skipped and the scan and the publication are one
//! critical section: exactly the old one-lock protocol (a registration either is seen by
//! the scan or sees the published deadline). With several, publishing under the last
//! shard's lock keeps that precision for the last shard; a registration on another shard
//! during a scan sees `SCANNING` and unparks even if its deadline is later: a spurious
//! wake-up, which costs one more turn of the worker loop. `fetch_min` (not a store)
//! never raises `next_wake` and never turns `NOT_PARKED` into a deadline.
//!
//! Shutdown follows the same pattern: `is_shutdown` is stored before any shard is
//! drained, and a registration reads it under its shard's lock, so it is either drained
//! or sees the flag and completes at once.
//!
//! Timers due in the same `process` are fired shard by shard: within a shard in deadline
//! (then registration) order, across shards in shard order.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc as StdArc;
use std::task::Waker;
use std::time::Duration;

use crossbeam_utils::CachePadded;
use magpie_base::loom::sync::Arc;
use magpie_base::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use magpie_base::park::{Park, Unpark};

use crate::entry::{EntryPtr, EntryShared, FIRED, IDLE, REGISTERED};
use crate::shard::Shards;
pub use crate::shard::WorkerIndex;
use crate::wheel::MAX_TICK;
use crate::{Clock, Instant};

/// The message of the panic raised when time is used outside a runtime.
pub(crate) const NO_DRIVER: &str = "there is no magpie time driver running: call this inside a magpie runtime built with `enable_time()` or `enable_all()` (or inside `magpie::run`)";

/// `next_wake` value: no worker is parked on the driver.
const NOT_PARKED: u64 = 0;
/// `next_wake` value: a worker is parked with no timer deadline.
const PARKED_FOREVER: u64 = u64::MAX;
/// `next_wake` value: a worker is computing its deadline over the shards (step 1 of the
/// park); every registration unparks it. Above every published tick (`<= MAX_TICK + 1`).
const SCANNING: u64 = u64::MAX - 1;

/// Wakers collected under the lock and woken after it is released.
const WAKE_BATCH: usize = 32;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// The time driver. It implements [`Park`] over the layer below (`P`): parking on it
/// blocks until the next timer deadline (or an unpark) and then fires the due timers.
///
/// See the [module docs](self) for how the runtime drives it.
pub struct Driver<P: Park> {
    park: P,
    handle: Handle,
    wakers: WakeList,
}

/// A handle to a time driver: what `sleep`, `timeout` and `interval` register with.
///
/// `Send + Sync`, and cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

/// Returned by [`Handle::enter`]; restores the previous current handle when dropped.
#[must_use = "the handle is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<Handle>,
    // Not `Send`: it restores a thread-local of the thread that created it.
    _not_send: PhantomData<*const ()>,
}

pub(crate) struct Inner {
    /// The wheels; a shard's lock is "the driver lock" of the entries on it.
    shards: Shards,
    /// Read by every registration, written about twice per park: on a line of its own,
    /// away from `did_wake`, which every unpark of the runtime writes.
    published: CachePadded<Published>,
    /// Set by the driver's own unparker (something woke the runtime): a paused clock
    /// must not auto-advance past work that is ready.
    did_wake: AtomicBool,
    /// The layer below's unparker.
    unpark: StdArc<dyn Unpark>,
    clock: Clock,
    /// Tick 0.
    start: Instant,
}

/// What registrations read on every call (see the module docs for the protocol).
struct Published {
    /// The tick (+1) until which a parked worker sleeps; `NOT_PARKED`, `SCANNING` or
    /// `PARKED_FOREVER`.
    next_wake: AtomicU64,
    is_shutdown: AtomicBool,
}

impl<P: Park> Driver<P> {
    /// Creates a driver over `park` (the I/O driver, or a condvar parker when I/O is
    /// disabled) reading time from `clock`, and the handle that timers register with.
    /// It has one wheel (one shard): what a single-threaded runtime wants.
    pub fn new(park: P, clock: Clock) -> (Driver<P>, Handle) {
        Driver::build(park, clock, Shards::new(1, None))
    }

    /// Like [`Driver::new`], with one wheel per worker thread: `workers` rounded up to
    /// a power of two (at most 256; `0` counts as `1`), each under its own lock, on its
    /// own cache line. A timer goes to the shard of the worker that first polls it, as
    /// reported by `worker_index` (the runtime's "which worker is this thread"); threads
    /// for which it returns `None` spread their timers over the shards round robin.
    /// Indexes at or above the shard count wrap around.
    ///
    /// ```
    /// use magpie_base::park::CondvarPark;
    /// use magpie_time::Clock;
    /// use magpie_time::driver::Driver;
    ///
    /// fn worker_index() -> Option<usize> {
    ///     None // a runtime returns the calling thread's worker index
    /// }
    /// let (_driver, handle) =
    ///     Driver::with_shards(CondvarPark::new(), Clock::new(false), 3, worker_index);
    /// assert_eq!(handle.shards(), 4);
    /// ```
    pub fn with_shards(
        park: P,
        clock: Clock,
        workers: usize,
        worker_index: WorkerIndex,
    ) -> (Driver<P>, Handle) {
        Driver::build(park, clock, Shards::new(workers, Some(worker_index)))
    }

    fn build(park: P, clock: Clock, shards: Shards) -> (Driver<P>, Handle) {
        let unpark = park.unparker();
        let start = clock.now();
        let handle = Handle {
            inner: Arc::new(Inner {
                shards,
                published: CachePadded::new(Published {
                    next_wake: AtomicU64::new(NOT_PARKED),
                    is_shutdown: AtomicBool::new(false),
                }),
                did_wake: AtomicBool::new(false),
                unpark,
                clock,
                start,
            }),
        };
        let driver = Driver {
            park,
            handle: handle.clone(),
            wakers: WakeList::new(),
        };
        (driver, handle)
    }

    /// The driver's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The layer below.
    pub fn get_park(&self) -> &P {
        &self.park
    }

    /// The layer below, mutably.
    pub fn get_park_mut(&mut self) -> &mut P {
        &mut self.park
    }

    fn park_internal(&mut self, limit: Option<Duration>) {
        let inner = &*self.handle.inner;
        let next = inner.publish_next_wake();

        match next {
            Some(tick) => {
                let now = inner.clock.now();
                let mut dur = self.handle.tick_to_instant(tick).duration_since(now);
                if dur > Duration::ZERO {
                    if let Some(limit) = limit {
                        dur = dur.min(limit);
                    }
                    park_for(&mut self.park, inner, dur);
                } else {
                    self.park.park_timeout(Duration::ZERO);
                }
            }
            None => match limit {
                Some(limit) => park_for(&mut self.park, inner, limit),
                None => self.park.park(),
            },
        }

        inner
            .published
            .next_wake
            .store(NOT_PARKED, Ordering::SeqCst);
        self.handle.process_with(&mut self.wakers);
    }
}

/// Parks `park` for `dur`, or on a paused clock, polls it and jumps the clock.
fn park_for<P: Park>(park: &mut P, inner: &Inner, dur: Duration) {
    if inner.clock.can_auto_advance() {
        park.park_timeout(Duration::ZERO);
        // Something woke the runtime (a task is ready): it runs first, and the clock
        // only moves once the runtime is idle again.
        if !inner.did_wake.swap(false, Ordering::SeqCst) {
            inner.clock.advance(dur);
        }
    } else {
        park.park_timeout(dur);
    }
}

impl<P: Park> Park for Driver<P> {
    fn park(&mut self) {
        self.park_internal(None);
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.park_internal(Some(duration));
    }

    fn unparker(&self) -> StdArc<dyn Unpark> {
        StdArc::new(TimeUnpark {
            inner: self.handle.inner.clone(),
        })
    }

    fn shutdown(&mut self) {
        self.handle.shutdown();
        self.park.shutdown();
    }
}

impl<P: Park> fmt::Debug for Driver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

/// The driver's unparker: records the wake-up (for auto-advance), then unparks below.
struct TimeUnpark {
    inner: Arc<Inner>,
}

impl Unpark for TimeUnpark {
    fn unpark(&self) {
        self.inner.did_wake.store(true, Ordering::SeqCst);
        self.inner.unpark.unpark();
    }
}

impl Inner {
    /// Step 1 of the park (module docs): the earliest deadline over all shards,
    /// published in `next_wake` under the last shard's lock.
    fn publish_next_wake(&self) -> Option<u64> {
        let next_wake = &self.published.next_wake;
        let last = self.shards.len() - 1;
        if last > 0 {
            // Not needed with one shard: the scan is then a single critical section.
            next_wake.store(SCANNING, Ordering::SeqCst);
        }
        let mut next = None;
        for i in 0..last {
            next = earliest(next, self.shards.lock(i).next_deadline());
        }
        let wheel = self.shards.lock(last);
        next = earliest(next, wheel.next_deadline());
        next_wake.store(next.map_or(PARKED_FOREVER, |t| t + 1), Ordering::SeqCst);
        drop(wheel);
        next
    }

    fn is_shutdown(&self) -> bool {
        self.published.is_shutdown.load(Ordering::SeqCst)
    }
}

fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Handle {
    /// Makes this the current time handle of the calling thread until the guard drops
    /// (the previous one, if any, is restored then). Guards nest.
    pub fn enter(&self) -> EnterGuard {
        // `try_with`: a runtime may be dropped (and so entered) from a thread-local
        // destructor, after this thread's slot is gone; the guard is then a no-op.
        let prev = CURRENT
            .try_with(|c| c.replace(Some(self.clone())))
            .ok()
            .flatten();
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The current thread's time handle, if any.
    pub fn try_current() -> Option<Handle> {
        Handle::with_current(|h| h.cloned())
    }

    /// The current thread's time handle.
    ///
    /// # Panics
    ///
    /// Outside a runtime with time enabled (the message says how to fix it).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!("{}", NO_DRIVER),
        }
    }

    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
        let mut f = Some(f);
        match CURRENT.try_with(|c| {
            let f = f.take().expect("called once");
            f(c.borrow().as_ref())
        }) {
            Ok(r) => r,
            // The thread-local is being destroyed: behave as outside a runtime.
            Err(_) => (f.take().expect("not called yet"))(None),
        }
    }

    /// The clock this driver reads.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Fires every timer and makes every later registration complete at once: pending
    /// `Sleep`s complete (a `Timeout` then reports `Elapsed`) instead of hanging.
    /// Idempotent.
    pub fn shutdown(&self) {
        let inner = &*self.inner;
        // Before any shard is drained: a registration that locks a shard after its
        // drain sees the flag (module docs).
        inner.published.is_shutdown.store(true, Ordering::SeqCst);
        let mut wakers = WakeList::new();
        for i in 0..inner.shards.len() {
            let mut wheel = inner.shards.lock(i);
            // SAFETY: lock held.
            while let Some(e) = unsafe { wheel.drain() } {
                // SAFETY: `e` was linked, so live, and is now unlinked; lock held.
                if let Some(w) = unsafe { fire(e) } {
                    wakers.push(w);
                }
                if wakers.is_full() {
                    drop(wheel);
                    wakers.wake_all();
                    wheel = inner.shards.lock(i);
                }
            }
        }
        wakers.wake_all();
        inner.unpark.unpark();
    }

    /// Whether [`Handle::shutdown`] has been called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// Number of timers currently registered with the driver (for tests and metrics):
    /// the sum over the shards, each read under its lock in turn, so with timers being
    /// registered concurrently it is a snapshot of no single instant.
    pub fn registered_timers(&self) -> usize {
        let shards = &self.inner.shards;
        (0..shards.len()).map(|i| shards.lock(i).len()).sum()
    }

    /// The deadline of the earliest registered timer, if any (over all shards).
    pub fn next_deadline(&self) -> Option<Instant> {
        let shards = &self.inner.shards;
        let tick = (0..shards.len())
            .filter_map(|i| shards.lock(i).next_deadline())
            .min()?;
        Some(self.tick_to_instant(tick))
    }

    /// How many wheel shards (locks) this driver has: 1 for [`Driver::new`], the
    /// worker count rounded up to a power of two for [`Driver::with_shards`].
    pub fn shards(&self) -> usize {
        self.inner.shards.len()
    }

    /// The shard a timer first registered by the calling thread goes to.
    pub(crate) fn pick_shard(&self) -> usize {
        self.inner.shards.pick()
    }

    /// For in-crate tests: the number of timers on shard `i`.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn timers_on_shard(&self, i: usize) -> usize {
        self.inner.shards.lock(i).len()
    }

    /// Fires every timer due by the clock's current reading (the driver does this after
    /// each park; [`advance`](crate::advance) does it after moving a paused clock).
    pub fn process(&self) {
        let now = self.instant_to_tick(self.inner.clock.now());
        // Every shard, empty or not: an explicit `process` (and the paused clock's
        // `advance`) brings every wheel to the clock's reading.
        self.process_at(now, &mut WakeList::new(), false);
    }

    /// The park's firing pass.
    fn process_with(&self, wakers: &mut WakeList) {
        // No timer anywhere (the common case of a park on a runtime without timers):
        // no clock read, no lock.
        let shards = &self.inner.shards;
        if !(0..shards.len()).any(|i| shards.may_have_timers(i)) {
            return;
        }
        let now = self.instant_to_tick(self.inner.clock.now());
        self.process_at(now, wakers, true);
    }

    /// Fires what is due at `now`, shard by shard: one lock at a time, none held while
    /// waking.
    fn process_at(&self, now: u64, wakers: &mut WakeList, skip_empty: bool) {
        let shards = &self.inner.shards;
        for i in 0..shards.len() {
            if skip_empty && !shards.may_have_timers(i) {
                continue; // see `Shards::may_have_timers`
            }
            let mut wheel = shards.lock(i);
            // `now` below `elapsed` (a clock stepping back) just fires nothing.
            // SAFETY: lock held.
            while let Some(e) = unsafe { wheel.poll(now) } {
                // SAFETY: `e` was linked, so live, and is now unlinked; lock held.
                if let Some(w) = unsafe { fire(e) } {
                    wakers.push(w);
                }
                if wakers.is_full() {
                    // Entries still due stay linked in the wheel's `pending` list, where a
                    // concurrent drop can unlink them.
                    drop(wheel);
                    wakers.wake_all();
                    wheel = shards.lock(i);
                }
            }
        }
        wakers.wake_all();
    }

    /// Ticks are whole milliseconds since the driver started (rounded down).
    pub(crate) fn instant_to_tick(&self, t: Instant) -> u64 {
        let ms = t.duration_since(self.inner.start).as_millis();
        u64::try_from(ms).unwrap_or(MAX_TICK).min(MAX_TICK)
    }

    /// A deadline's tick rounds *up*, so that a timer never fires early.
    pub(crate) fn deadline_to_tick(&self, t: Instant) -> u64 {
        match t.checked_add(Duration::from_nanos(999_999)) {
            Some(t) => self.instant_to_tick(t),
            None => MAX_TICK,
        }
    }

    pub(crate) fn tick_to_instant(&self, tick: u64) -> Instant {
        self.inner.start.saturating_add(Duration::from_millis(tick))
    }

    // ----- the owner side of the entry protocol (see entry.rs) -----

    /// Links `entry` (which must be `IDLE` or `FIRED`) into shard `shard` with deadline
    /// `tick`, first storing `waker` if one is given. Returns `true`, leaving the entry
    /// `FIRED`, if it fired at once instead (deadline already reached, or driver shut
    /// down).
    ///
    /// # Safety
    ///
    /// `entry` is pinned: it stays at its address until it has been unlinked (its owner
    /// unlinks it in its destructor), and the caller is its owner. `shard <
    /// self.shards()`, and every later call for this entry passes the same `shard`.
    pub(crate) unsafe fn register(
        &self,
        entry: &EntryShared,
        shard: usize,
        tick: u64,
        waker: Option<&Waker>,
    ) -> bool {
        let inner = &*self.inner;
        // Declared before the guard so that it drops after the lock is released.
        let _replaced: Option<Waker>;
        let mut wheel = inner.shards.lock(shard);
        debug_assert_ne!(entry.state.load(Ordering::Relaxed), REGISTERED);
        if let Some(w) = waker {
            // SAFETY: the owner writes the waker under the lock (entry protocol); no
            // driver reads it concurrently, and the owner (the caller) holds no borrow.
            _replaced = unsafe { set_waker(entry, w) };
        }
        if wheel.len() == 0 {
            // The park's firing pass skips a shard that was empty (`may_have_timers`),
            // leaving its `elapsed` behind the clock: catch it up before the "already
            // due" check below, so a deadline already reached still fires at once.
            let now = self.instant_to_tick(inner.clock.now());
            // SAFETY: lock held; the wheel is empty, so nothing is due or returned.
            let due = unsafe { wheel.poll(now) };
            debug_assert!(due.is_none());
        }
        if tick <= wheel.elapsed() || inner.is_shutdown() {
            entry.state.store(FIRED, Ordering::Release);
            return true;
        }
        // SAFETY: lock held; the entry is pinned (caller) and, being IDLE or FIRED, in
        // no list; `tick > elapsed` was checked above.
        unsafe { wheel.insert(NonNull::from(entry), tick) };
        entry.state.store(REGISTERED, Ordering::Release);

        // Wake a worker that sleeps past this deadline, or that may be computing its
        // deadline without having seen this shard's new timer (module docs).
        let next_wake = &inner.published.next_wake;
        let parked_until = next_wake.load(Ordering::SeqCst);
        if parked_until != NOT_PARKED && tick + 1 < parked_until {
            next_wake.fetch_min(tick + 1, Ordering::SeqCst);
            drop(wheel);
            inner.unpark.unpark();
        }
        false
    }

    /// Unlinks `entry` if it is linked; leaves it `IDLE` unless it had `FIRED`. Returns
    /// the state it was left in.
    ///
    /// # Safety
    ///
    /// The caller owns `entry`, which is live (and pinned if it was ever registered);
    /// if the entry was ever registered, `shard` is the shard it was registered on.
    pub(crate) unsafe fn deregister(&self, entry: &EntryShared, shard: usize) -> u8 {
        // Fast path: IDLE or FIRED means the driver holds no pointer to the entry.
        let state = entry.state.load(Ordering::Acquire);
        if state != REGISTERED {
            return state;
        }
        let mut wheel = self.inner.shards.lock(shard);
        // Re-read under the lock: the driver may have fired it meanwhile.
        let state = entry.state.load(Ordering::Acquire);
        if state == REGISTERED {
            // SAFETY: lock held, entry live and linked into this driver's wheel.
            unsafe { wheel.remove(NonNull::from(entry)) };
            entry.state.store(IDLE, Ordering::Relaxed);
            return IDLE;
        }
        state
    }

    /// Replaces the waker of a `REGISTERED` entry if it would not wake the same task.
    /// Returns `true` if the entry has fired meanwhile.
    ///
    /// # Safety
    ///
    /// The caller owns `entry`, which is live, pinned and was registered on `shard`.
    pub(crate) unsafe fn update_waker(
        &self,
        entry: &EntryShared,
        shard: usize,
        waker: &Waker,
    ) -> bool {
        // SAFETY: the owner may read its waker without the lock (entry protocol).
        let same = entry
            .waker
            .with(|w| unsafe { (*w).as_ref().is_some_and(|w| w.will_wake(waker)) });
        if same {
            // If the driver fires between our state load and now, it wakes this waker.
            return false;
        }
        // Declared before the guard so that it drops after the lock is released.
        let _replaced: Option<Waker>;
        let _wheel = self.inner.shards.lock(shard);
        if entry.state.load(Ordering::Acquire) == FIRED {
            return true;
        }
        // SAFETY: owner, lock held: the driver cannot be reading the waker.
        _replaced = unsafe { set_waker(entry, waker) };
        false
    }

    #[doc(hidden)]
    /// For tests: the worker's published wake-up tick (`0`: not parked, or still
    /// computing its deadline).
    pub fn __next_wake(&self) -> u64 {
        match self.inner.published.next_wake.load(Ordering::SeqCst) {
            SCANNING => NOT_PARKED,
            v => v,
        }
    }
}

/// Stores `waker` unless the stored one would wake the same task; returns the waker it
/// replaced. The caller must drop that only after releasing the lock: dropping a waker
/// may drop a task, whose future may drop `Sleep`s, which take the lock.
///
/// # Safety
///
/// Caller is the entry's owner and holds the driver lock.
#[must_use = "drop the replaced waker after unlocking"]
unsafe fn set_waker(entry: &EntryShared, waker: &Waker) -> Option<Waker> {
    entry.waker.with_mut(|w| {
        // SAFETY: owner + lock: exclusive access (entry protocol).
        let w = unsafe { &mut *w };
        match w {
            Some(old) if old.will_wake(waker) => None,
            _ => w.replace(waker.clone()),
        }
    })
}

/// Fires an entry the wheel just unlinked: clones its waker, then publishes `FIRED`,
/// which is the driver's last access to it.
///
/// # Safety
///
/// Driver lock held; `e` is live and was just unlinked by the wheel.
unsafe fn fire(e: EntryPtr) -> Option<Waker> {
    // SAFETY: `e` is live (caller): it was linked until now, and its owner must take the
    // lock we hold before it can free it.
    let entry = unsafe { e.as_ref() };
    debug_assert_eq!(entry.state.load(Ordering::Relaxed), REGISTERED);
    // SAFETY: lock held, so the owner is not writing the waker; reads may overlap.
    let waker = entry.waker.with(|w| unsafe { (*w).clone() });
    entry.state.store(FIRED, Ordering::Release);
    // `entry` must not be used past this point: its owner may free it now.
    waker
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// A fixed-capacity batch of wakers (no allocation on the firing path).
struct WakeList {
    wakers: [Option<Waker>; WAKE_BATCH],
    len: usize,
}

impl WakeList {
    fn new() -> WakeList {
        WakeList {
            wakers: std::array::from_fn(|_| None),
            len: 0,
        }
    }

    fn push(&mut self, w: Waker) {
        debug_assert!(!self.is_full());
        self.wakers[self.len] = Some(w);
        self.len += 1;
    }

    fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    fn wake_all(&mut self) {
        for w in &mut self.wakers[..self.len] {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
        self.len = 0;
    }
}
