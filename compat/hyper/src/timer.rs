//! [`MagpieTimer`] and [`MagpieSleep`]: hyper's `rt::Timer` on magpie's timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

/// A [`hyper::rt::Timer`] backed by magpie's timer wheel (`magpie_time`).
///
/// Give it to hyper's builders (`.timer(MagpieTimer::new())`) to enable
/// `header_read_timeout`, HTTP/2 keep-alive pings and the client pool's idle timeout.
///
/// * `sleep` / `sleep_until` return a [`MagpieSleep`] (one allocation, the `Box` hyper
///   asks for; the timer entry lives inside it, so registering it allocates nothing);
/// * `reset` moves an existing [`MagpieSleep`]'s deadline in place
///   ([`magpie_time::Sleep::reset`]), no new allocation;
/// * `now` reads magpie's clock, so hyper's timeouts follow a paused test clock
///   (`magpie_time::pause` / `advance`) like every other magpie timer.
///
/// The sleeps register with the time driver of the runtime current where they are
/// created: `sleep` panics outside a magpie runtime with time enabled (hyper creates
/// its sleeps inside connection tasks).
#[derive(Clone, Copy, Debug, Default)]
pub struct MagpieTimer {
    _priv: (),
}

impl MagpieTimer {
    /// The timer (it has no state: every sleep goes to the current runtime's driver).
    pub fn new() -> MagpieTimer {
        MagpieTimer { _priv: () }
    }
}

impl hyper::rt::Timer for MagpieTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(MagpieSleep {
            inner: magpie_time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(MagpieSleep {
            inner: magpie_time::sleep_until(magpie_time::Instant::from_std(deadline)),
        })
    }

    fn now(&self) -> Instant {
        magpie_time::Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<MagpieSleep>() {
            // Ours: move the deadline of the entry we already have.
            Some(ours) => ours.reset(new_deadline),
            // Some other timer's sleep (hyper never mixes them, but the trait allows
            // it): replace it.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

pin_project! {
    /// The [`hyper::rt::Sleep`] of [`MagpieTimer`]: a [`magpie_time::Sleep`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct MagpieSleep {
        #[pin]
        inner: magpie_time::Sleep,
    }
}

impl MagpieSleep {
    /// Wraps a magpie sleep.
    pub fn new(inner: magpie_time::Sleep) -> MagpieSleep {
        MagpieSleep { inner }
    }

    /// The deadline, as a `std::time::Instant`.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline().into_std()
    }

    /// Whether the sleep has elapsed.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline (re-arming an elapsed sleep), reusing the timer entry.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project()
            .inner
            .reset(magpie_time::Instant::from_std(deadline));
    }
}

impl Future for MagpieSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for MagpieSleep {}
