//! The time driver: owns the wheel, parks on the layer below until the next deadline,
//! and fires what is due.
//!
//! # Integration
//!
//! The runtime builds `Driver::new(io_or_condvar_park, Clock::new(start_paused))`, keeps
//! the [`Driver`] with whichever worker may park on it, and enters the [`Handle`]
//! ([`Handle::enter`]) on every runtime thread so that `sleep` and friends find it. A
//! worker with nothing to do calls [`Park::park`] (or `park_timeout`) on the driver:
//!
//! 1. under the driver lock, it reads the wheel's next deadline and publishes it in
//!    `next_wake` ("I sleep until tick T");
//! 2. it parks the layer below with that timeout. On a paused clock with auto-advance
//!    allowed, it instead polls the layer below without blocking and, if nothing woke
//!    the runtime meanwhile, moves the clock to the deadline;
//! 3. it clears `next_wake` and fires every timer due at the clock's current reading,
//!    waking their tasks outside the lock, in batches.
//!
//! A timer registered from any thread, under the same lock, compares its deadline with
//! `next_wake`; if it is earlier it lowers `next_wake` and calls the lower layer's
//! unparker, so the parked worker wakes and re-computes its timeout. Unparks are never
//! lost (the `Unpark` contract), so registering between steps 1 and 2 is fine too.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc as StdArc;
use std::task::Waker;
use std::time::Duration;

use magpie_base::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use magpie_base::loom::sync::{Arc, Mutex, MutexGuard};
use magpie_base::park::{Park, Unpark};

use crate::entry::{EntryPtr, EntryShared, FIRED, IDLE, REGISTERED};
use crate::wheel::{MAX_TICK, Wheel};
use crate::{Clock, Instant};

/// The message of the panic raised when time is used outside a runtime.
pub(crate) const NO_DRIVER: &str = "there is no magpie time driver running: call this inside a magpie runtime built with `enable_time()` or `enable_all()` (or inside `magpie::run`)";

/// `next_wake` value: no worker is parked on the driver.
const NOT_PARKED: u64 = 0;
/// `next_wake` value: a worker is parked with no timer deadline.
const PARKED_FOREVER: u64 = u64::MAX;

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
    /// The wheel; this is "the driver lock" of the entry protocol.
    wheel: Mutex<Wheel>,
    /// The tick (+1) until which a parked worker sleeps; `NOT_PARKED` or
    /// `PARKED_FOREVER`. Written only with the lock held; an atomic so it can be read
    /// without it (diagnostics, and future lock-free fast paths).
    next_wake: AtomicU64,
    /// Set by the driver's own unparker (something woke the runtime): a paused clock
    /// must not auto-advance past work that is ready.
    did_wake: AtomicBool,
    is_shutdown: AtomicBool,
    /// The layer below's unparker.
    unpark: StdArc<dyn Unpark>,
    clock: Clock,
    /// Tick 0.
    start: Instant,
}

impl<P: Park> Driver<P> {
    /// Creates a driver over `park` (the I/O driver, or a condvar parker when I/O is
    /// disabled) reading time from `clock`, and the handle that timers register with.
    pub fn new(park: P, clock: Clock) -> (Driver<P>, Handle) {
        let unpark = park.unparker();
        let start = clock.now();
        let handle = Handle {
            inner: Arc::new(Inner {
                wheel: Mutex::new(Wheel::new()),
                next_wake: AtomicU64::new(NOT_PARKED),
                did_wake: AtomicBool::new(false),
                is_shutdown: AtomicBool::new(false),
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
        let next = {
            let wheel = inner.lock();
            let next = wheel.next_deadline();
            let published = next.map_or(PARKED_FOREVER, |t| t + 1);
            inner.next_wake.store(published, Ordering::SeqCst);
            next
        };

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

        inner.next_wake.store(NOT_PARKED, Ordering::SeqCst);
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
    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock()
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
        let mut wakers = WakeList::new();
        let mut wheel = inner.lock();
        inner.is_shutdown.store(true, Ordering::SeqCst);
        // SAFETY: lock held.
        while let Some(e) = unsafe { wheel.drain() } {
            // SAFETY: `e` was linked, so live, and is now unlinked; lock held.
            if let Some(w) = unsafe { fire(e) } {
                wakers.push(w);
            }
            if wakers.is_full() {
                drop(wheel);
                wakers.wake_all();
                wheel = inner.lock();
            }
        }
        drop(wheel);
        wakers.wake_all();
        inner.unpark.unpark();
    }

    /// Whether [`Handle::shutdown`] has been called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown.load(Ordering::SeqCst)
    }

    /// Number of timers currently registered with the driver (for tests and metrics).
    pub fn registered_timers(&self) -> usize {
        self.inner.lock().len()
    }

    /// The deadline of the earliest registered timer, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let tick = self.inner.lock().next_deadline()?;
        Some(self.tick_to_instant(tick))
    }

    /// Fires every timer due by the clock's current reading (the driver does this after
    /// each park; [`advance`](crate::advance) does it after moving a paused clock).
    pub fn process(&self) {
        self.process_with(&mut WakeList::new());
    }

    fn process_with(&self, wakers: &mut WakeList) {
        let now = self.instant_to_tick(self.inner.clock.now());
        self.process_at(now, wakers);
    }

    fn process_at(&self, now: u64, wakers: &mut WakeList) {
        let inner = &*self.inner;
        let mut wheel = inner.lock();
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
                wheel = inner.lock();
            }
        }
        drop(wheel);
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

    /// Links `entry` (which must be `IDLE` or `FIRED`) with deadline `tick`, first
    /// storing `waker` if one is given. Returns `true`, leaving the entry `FIRED`, if it
    /// fired at once instead (deadline already reached, or driver shut down).
    ///
    /// # Safety
    ///
    /// `entry` is pinned: it stays at its address until it has been unlinked (its owner
    /// unlinks it in its destructor), and the caller is its owner.
    pub(crate) unsafe fn register(
        &self,
        entry: &EntryShared,
        tick: u64,
        waker: Option<&Waker>,
    ) -> bool {
        let inner = &*self.inner;
        // Declared before the guard so that it drops after the lock is released.
        let _replaced: Option<Waker>;
        let mut wheel = inner.lock();
        debug_assert_ne!(entry.state.load(Ordering::Relaxed), REGISTERED);
        if let Some(w) = waker {
            // SAFETY: the owner writes the waker under the lock (entry protocol); no
            // driver reads it concurrently, and the owner (the caller) holds no borrow.
            _replaced = unsafe { set_waker(entry, w) };
        }
        if tick <= wheel.elapsed() || inner.is_shutdown.load(Ordering::SeqCst) {
            entry.state.store(FIRED, Ordering::Release);
            return true;
        }
        // SAFETY: lock held; the entry is pinned (caller) and, being IDLE or FIRED, in
        // no list; `tick > elapsed` was checked above.
        unsafe { wheel.insert(NonNull::from(entry), tick) };
        entry.state.store(REGISTERED, Ordering::Release);

        // Wake a worker that sleeps past this deadline.
        let parked_until = inner.next_wake.load(Ordering::SeqCst);
        if parked_until != NOT_PARKED && tick + 1 < parked_until {
            inner.next_wake.store(tick + 1, Ordering::SeqCst);
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
    /// The caller owns `entry`, which is live (and pinned if it was ever registered).
    pub(crate) unsafe fn deregister(&self, entry: &EntryShared) -> u8 {
        // Fast path: IDLE or FIRED means the driver holds no pointer to the entry.
        let state = entry.state.load(Ordering::Acquire);
        if state != REGISTERED {
            return state;
        }
        let mut wheel = self.inner.lock();
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
    /// The caller owns `entry`, which is live and pinned.
    pub(crate) unsafe fn update_waker(&self, entry: &EntryShared, waker: &Waker) -> bool {
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
        let _wheel = self.inner.lock();
        if entry.state.load(Ordering::Acquire) == FIRED {
            return true;
        }
        // SAFETY: owner, lock held: the driver cannot be reading the waker.
        _replaced = unsafe { set_waker(entry, waker) };
        false
    }

    #[doc(hidden)]
    /// For tests: the worker's published wake-up tick (`0`: not parked).
    pub fn __next_wake(&self) -> u64 {
        self.inner.next_wake.load(Ordering::SeqCst)
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
