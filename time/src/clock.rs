//! The runtime's clock, which tests can pause and advance by hand.
//!
//! Semantics follow tokio's `test-util` clock: a paused clock stands still until it is
//! advanced; while paused, a runtime with nothing to do *auto-advances* it to the next
//! timer deadline instead of sleeping (see `Driver::park`), so a test that sleeps for an
//! hour completes at once, deterministically.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::Instant;
use crate::driver::Handle;

/// Set once any clock in the process has been paused. Until then `Instant::now()` need
/// not look for the current runtime's clock at all (the common, fast case).
static ANY_CLOCK_PAUSED: AtomicBool = AtomicBool::new(false);

/// A runtime's source of time: the system's monotonic clock, or a paused clock for tests.
///
/// The runtime creates one per runtime and passes it to
/// [`Driver::new`](crate::driver::Driver::new); [`Clock::new`]`(true)` is what
/// `#[magpie::test(start_paused = true)]` asks for. Cloning yields another handle to the
/// same clock.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<ClockShared>,
}

#[derive(Debug)]
struct ClockShared {
    /// False until the clock is first paused: until then it reads the system clock
    /// directly, without the lock.
    ever_paused: AtomicBool,
    // A std mutex, not the loom shim: the clock is not part of any modelled protocol,
    // and is never held across anything that could block or yield.
    state: Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    /// The clock's reading when it was last paused or advanced.
    base: std::time::Instant,
    /// `None` while paused; otherwise the real instant at which the clock was (last)
    /// resumed: then `now = base + unfrozen.elapsed()`.
    unfrozen: Option<std::time::Instant>,
    /// While positive, the driver does not auto-advance (e.g. blocking work in flight).
    inhibit_auto_advance: usize,
}

impl Clock {
    /// A clock reading the system's monotonic time; paused from the start if
    /// `start_paused`.
    pub fn new(start_paused: bool) -> Clock {
        let now = std::time::Instant::now();
        let clock = Clock {
            inner: Arc::new(ClockShared {
                ever_paused: AtomicBool::new(false),
                state: Mutex::new(ClockState {
                    base: now,
                    unfrozen: Some(now),
                    inhibit_auto_advance: 0,
                }),
            }),
        };
        if start_paused {
            clock.pause();
        }
        clock
    }

    fn lock(&self) -> MutexGuard<'_, ClockState> {
        // Nothing panics while holding it; recover from poison anyway.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clock's current reading.
    pub fn now(&self) -> Instant {
        if !self.inner.ever_paused.load(Ordering::Acquire) {
            // Never paused: `base == unfrozen`, so `base + unfrozen.elapsed()` is now.
            return Instant::from_std(std::time::Instant::now());
        }
        let s = self.lock();
        let now = match s.unfrozen {
            Some(unfrozen) => s.base + unfrozen.elapsed(),
            None => s.base,
        };
        Instant::from_std(now)
    }

    /// Whether the clock is paused.
    #[inline]
    pub fn is_paused(&self) -> bool {
        // Never paused: one load, no lock, no call (the current-thread scheduler asks
        // on every local wake).
        self.inner.ever_paused.load(Ordering::Acquire) && self.is_paused_locked()
    }

    #[cold]
    fn is_paused_locked(&self) -> bool {
        self.lock().unfrozen.is_none()
    }

    /// Stops the clock.
    ///
    /// # Panics
    ///
    /// If it is already paused.
    #[track_caller]
    pub fn pause(&self) {
        let mut s = self.lock();
        let Some(unfrozen) = s.unfrozen else {
            drop(s);
            panic!("magpie::time::pause(): the clock is already paused");
        };
        ANY_CLOCK_PAUSED.store(true, Ordering::Release);
        self.inner.ever_paused.store(true, Ordering::Release);
        s.base += unfrozen.elapsed();
        s.unfrozen = None;
    }

    /// Lets the clock run again, from the reading it has now.
    ///
    /// # Panics
    ///
    /// If it is not paused.
    #[track_caller]
    pub fn resume(&self) {
        let mut s = self.lock();
        if s.unfrozen.is_some() {
            drop(s);
            panic!("magpie::time::resume(): the clock is not paused");
        }
        s.unfrozen = Some(std::time::Instant::now());
    }

    /// Moves a paused clock forward by `duration` (saturating far in the future). Timers
    /// fire the next time the driver processes them; [`advance`] (the free function)
    /// does that at once.
    ///
    /// # Panics
    ///
    /// If the clock is not paused.
    #[track_caller]
    pub fn advance(&self, duration: Duration) {
        let mut s = self.lock();
        if s.unfrozen.is_some() {
            drop(s);
            panic!(
                "magpie::time::advance(): the clock is not paused; call `magpie::time::pause()` first"
            );
        }
        s.base = Instant::from_std(s.base)
            .saturating_add(duration)
            .into_std();
    }

    /// Forbids auto-advance until a matching [`Clock::allow_auto_advance`]: for work the
    /// runtime knows is in flight outside the timer (blocking tasks).
    pub fn inhibit_auto_advance(&self) {
        self.lock().inhibit_auto_advance += 1;
    }

    /// Undoes one [`Clock::inhibit_auto_advance`].
    pub fn allow_auto_advance(&self) {
        let mut s = self.lock();
        s.inhibit_auto_advance = s.inhibit_auto_advance.saturating_sub(1);
    }

    /// Whether an idle driver may jump the clock to its next deadline.
    pub(crate) fn can_auto_advance(&self) -> bool {
        let s = self.lock();
        s.unfrozen.is_none() && s.inhibit_auto_advance == 0
    }
}

/// What `Instant::now()` returns.
pub(crate) fn now() -> Instant {
    if ANY_CLOCK_PAUSED.load(Ordering::Acquire)
        && let Some(now) = Handle::with_current(|h| h.map(|h| h.clock().now()))
    {
        return now;
    }
    Instant::from_std(std::time::Instant::now())
}

/// Pauses the current runtime's clock.
///
/// While paused, [`Instant::now`] stands still; only [`advance`], or the runtime's
/// auto-advance, moves it. Auto-advance: when every task is waiting and a timer is
/// pending, the runtime jumps the clock to that timer's deadline instead of sleeping.
///
/// # Panics
///
/// If the clock is already paused, or outside a runtime with time enabled.
///
/// ```
/// # magpie_time::__doc_runtime(|| async {
/// use magpie_time::{Duration, Instant};
///
/// magpie_time::pause();
/// let start = Instant::now();
/// magpie_time::sleep(Duration::from_secs(3600)).await; // returns at once
/// // The clock jumped to the deadline, rounded up to the timer's 1 ms granularity.
/// let slept = start.elapsed();
/// assert!(slept >= Duration::from_secs(3600));
/// assert!(slept < Duration::from_secs(3600) + Duration::from_millis(1));
/// # });
/// ```
#[track_caller]
pub fn pause() {
    Handle::current().clock().pause();
}

/// Resumes the current runtime's clock: it runs again from its current reading.
///
/// # Panics
///
/// If the clock is not paused, or outside a runtime with time enabled.
#[track_caller]
pub fn resume() {
    Handle::current().clock().resume();
}

/// Advances the paused clock by `duration`, fires the timers that are now due, and
/// yields once so that the tasks they woke get to run.
///
/// # Panics
///
/// If the clock is not paused, or outside a runtime with time enabled.
///
/// ```
/// # magpie_time::__doc_runtime(|| async {
/// use magpie_time::{Duration, Instant};
///
/// magpie_time::pause();
/// let start = Instant::now();
/// magpie_time::advance(Duration::from_millis(250)).await;
/// assert_eq!(start.elapsed(), Duration::from_millis(250));
/// # });
/// ```
pub async fn advance(duration: Duration) {
    let handle = Handle::current();
    handle.clock().advance(duration);
    handle.process();
    YieldNow(false).await;
}

/// Returns `Pending` once (waking itself), then `Ready`.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
