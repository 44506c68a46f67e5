use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use magpie_base::coop;
use pin_project_lite::pin_project;

use crate::driver::Handle;
use crate::error::Elapsed;
use crate::{Instant, Sleep};

/// Runs `future` with a time limit: `Ok(output)` if it completes within `duration`,
/// `Err(Elapsed)` otherwise (and the future is dropped when the `Timeout` is).
///
/// The future is polled before the timer is checked, so a future that is ready at once
/// succeeds even with a zero duration. A `duration` too large to add (up to
/// `Duration::MAX`) saturates to about 30 years.
///
/// # Panics
///
/// Outside a runtime with time enabled.
///
/// ```
/// # magpie_time::__doc_runtime(|| async {
/// use magpie_time::{sleep, timeout, Duration};
///
/// let slow = sleep(Duration::from_secs(10));
/// assert!(timeout(Duration::from_millis(5), slow).await.is_err());
/// assert_eq!(timeout(Duration::ZERO, async { 7 }).await, Ok(7));
/// # });
/// ```
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let handle = Handle::current();
    let deadline = Instant::now().saturating_add(duration);
    Timeout::new(future.into_future(), Sleep::new_in(handle, deadline))
}

/// Like [`timeout`], with an absolute deadline.
///
/// # Panics
///
/// Outside a runtime with time enabled.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(
        future.into_future(),
        Sleep::new_in(Handle::current(), deadline),
    )
}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<T> {
        #[pin]
        value: T,
        #[pin]
        delay: Sleep,
    }
}

impl<T> Timeout<T> {
    fn new(value: T, delay: Sleep) -> Timeout<T> {
        Timeout { value, delay }
    }

    /// The inner future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The inner future, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Consumes the timeout, returning the inner future.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.project();
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(v) = me.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        // If the inner future spent the last of the budget, still check the deadline:
        // otherwise a future that always exhausts the budget would never time out.
        let delay = if had_budget && !coop::has_budget_remaining() {
            coop::with_unconstrained(|| me.delay.poll(cx))
        } else {
            me.delay.poll(cx)
        };
        match delay {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}
