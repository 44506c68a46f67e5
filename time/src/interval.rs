use std::future::{Future as _, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::driver::Handle;
use crate::{Instant, Sleep};

/// How far a tick may lag behind its deadline before it counts as missed.
const MISSED_SLACK: Duration = Duration::from_millis(5);

/// Creates an [`Interval`] that ticks every `period`, the first tick completing at once.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime with time enabled.
///
/// ```
/// # magpie_time::__doc_runtime(|| async {
/// use magpie_time::{interval, Duration, Instant};
///
/// let mut iv = interval(Duration::from_millis(2));
/// let first = iv.tick().await; // at once
/// let second = iv.tick().await;
/// assert_eq!(second - first, Duration::from_millis(2));
/// # });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero");
    let handle = Handle::current();
    Interval::new(handle, Instant::now(), period)
}

/// Creates an [`Interval`] whose first tick completes at `start`, then every `period`.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime with time enabled.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero");
    Interval::new(Handle::current(), start, period)
}

/// What an [`Interval`] does when ticks were missed (the task did not call
/// [`Interval::tick`] in time, or the runtime was busy).
///
/// With a 10 ms period starting at 0 and a task that is late by 25 ms (ticking at 35):
///
/// * `Burst` (the default): the missed ticks at 10, 20, 30 complete at once, one per
///   call, then the schedule continues at 40, 50, ...
/// * `Delay`: the next tick is 10 ms after the late one: 45, 55, ...
/// * `Skip`: missed ticks are dropped; the next is the next multiple on the original
///   schedule: 40, 50, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Catch up: fire missed ticks as fast as possible.
    #[default]
    Burst,
    /// Restart the schedule from the late tick.
    Delay,
    /// Skip missed ticks, keeping the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick that was due at `due` and observed at `now` (late).
    fn next_deadline(self, due: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => due.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let late = now.duration_since(due).as_nanos();
                let behind = late % period.as_nanos();
                // `behind < period`, so this fits.
                let into_period = Duration::from_nanos(behind as u64);
                now.saturating_add(period - into_period)
            }
        }
    }
}

/// A stream of ticks, every `period`; see [`interval`] and [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    // Boxed so that `Interval` is `Unpin` and `tick` can take `&mut self`: one allocation
    // per interval, none per tick.
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    fn new(handle: Handle, start: Instant, period: Duration) -> Interval {
        Interval {
            delay: Box::pin(Sleep::new_in(handle, start)),
            period,
            missed_tick_behavior: MissedTickBehavior::default(),
        }
    }

    /// Completes at the next tick, returning its scheduled instant.
    ///
    /// Cancel safe: dropping the future before it completes loses no tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready` with its scheduled instant.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(self.delay.as_mut().poll(cx));
        let due = self.delay.deadline();
        let now = Instant::now();
        let next = if now > due.saturating_add(MISSED_SLACK) {
            self.missed_tick_behavior
                .next_deadline(due, now, self.period)
        } else {
            due.saturating_add(self.period)
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(due)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = Instant::now().saturating_add(self.period);
        self.delay.as_mut().reset(next);
    }

    /// Makes the next tick complete at once.
    pub fn reset_immediately(&mut self) {
        let now = Instant::now();
        self.delay.as_mut().reset(now);
    }

    /// Makes the next tick complete after `after`.
    pub fn reset_after(&mut self, after: Duration) {
        let next = Instant::now().saturating_add(after);
        self.delay.as_mut().reset(next);
    }

    /// Makes the next tick complete at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The current missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the missed-tick behaviour.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}
