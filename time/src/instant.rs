use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A point in time, as read from the runtime's clock.
///
/// It wraps [`std::time::Instant`]; the difference is [`Instant::now`], which reads the
/// clock of the current magpie runtime, so that it stops while the clock is paused
/// ([`pause`](crate::pause)) and jumps with [`advance`](crate::advance). Outside a runtime,
/// or while the clock runs, it is `std::time::Instant::now()`.
///
/// ```
/// use magpie_time::{Duration, Instant};
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(10);
/// assert_eq!(later.duration_since(start), Duration::from_millis(10));
/// assert_eq!(start.duration_since(later), Duration::ZERO); // saturates
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    std: std::time::Instant,
}

impl Instant {
    /// The current time, from the current runtime's clock (see the type's docs).
    pub fn now() -> Instant {
        crate::clock::now()
    }

    /// Wraps a `std::time::Instant`.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The `std::time::Instant` this wraps.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// Time since `self`, by the runtime's clock ([`Instant::now`]); zero if `self` is in
    /// the future.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + duration`, or `None` if that is not representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that is not representable.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }

    /// `self + duration`, saturating at a point about 30 years from now when that
    /// overflows.
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        match self.checked_add(duration) {
            Some(t) => t,
            None => {
                // Try 30 years, then smaller steps: some platforms cannot represent
                // even that.
                let mut step = Duration::from_secs(86_400 * 365 * 30);
                loop {
                    if let Some(t) = self.checked_add(step.min(duration)) {
                        return t;
                    }
                    step /= 2;
                }
            }
        }
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Like `std::time::Instant`, on overflow; use [`Instant::checked_add`] to avoid it.
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Like `std::time::Instant`, on overflow; use [`Instant::checked_sub`] to avoid it.
    fn sub(self, rhs: Duration) -> Instant {
        Instant::from_std(self.std - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates to zero when `rhs` is later, like [`Instant::duration_since`].
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
