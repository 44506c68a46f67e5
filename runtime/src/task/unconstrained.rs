//! [`unconstrained`]: a future that runs without the cooperative budget.

use magpie_base::coop;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `future` with no cooperative budget: the resources it uses (channels,
/// sockets, timers) never return `Pending` to make it yield (tokio's
/// `task::unconstrained`).
///
/// Use it sparingly: a busy unconstrained future can keep the other tasks of its
/// worker from running.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use magpie_runtime::task::{coop, unconstrained};
/// let (tx, mut rx) = magpie_sync::mpsc::unbounded_channel();
/// // 1,000 ready receives in one poll: more than one budget's worth.
/// let n = unconstrained(async move {
///     for i in 0..1_000 {
///         tx.send(i).unwrap();
///         rx.recv().await.unwrap();
///     }
///     coop::has_budget_remaining()
/// })
/// .await;
/// assert!(n);
/// # });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// Future returned by [`unconstrained`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`.
        let future = unsafe { self.map_unchecked_mut(|s| &mut s.future) };
        coop::with_unconstrained(|| future.poll(cx))
    }
}
