//! `as_completed`: a stream of outputs in completion order (asyncio's `as_completed`).

use super::set::FutureSet;
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs every future concurrently inside the task polling the stream, and yields each
/// output as soon as its future completes (asyncio's `for f in as_completed(aws)`).
///
/// Each future has its own waker, so a wake-up polls only the future that was woken.
/// Dropping the stream drops every future not yet finished. Use [`AsCompleted::next`]
/// (or `StreamExt::next`) to iterate:
///
/// ```
/// # magpie_sync::__block_on(async {
/// let (tx1, rx1) = magpie_sync::oneshot::channel();
/// let (tx2, rx2) = magpie_sync::oneshot::channel();
/// let mut done = magpie_sync::as_completed([rx1, rx2]);
/// tx2.send("second").unwrap();
/// assert_eq!(done.next().await, Some(Ok("second")));
/// tx1.send("first").unwrap();
/// assert_eq!(done.next().await, Some(Ok("first")));
/// assert_eq!(done.next().await, None);
/// # });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let iter = futures.into_iter();
    let mut set = FutureSet::with_capacity(iter.size_hint().0);
    for f in iter {
        set.push(f);
    }
    AsCompleted { set }
}

/// Stream returned by [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    set: FutureSet<F>,
}

impl<F> Unpin for AsCompleted<F> {}

impl<F: Future> AsCompleted<F> {
    /// The next output in completion order, or `None` once every future has completed.
    pub async fn next(&mut self) -> Option<F::Output> {
        std::future::poll_fn(|cx| self.set.poll_next(cx).map(|o| o.map(|(_, v)| v))).await
    }

    /// Adds another future to the stream (it is polled at the next poll).
    pub fn push(&mut self, fut: F) {
        self.set.push(fut);
    }

    /// How many futures have not completed yet.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether every future has completed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.get_mut().set.poll_next(cx).map(|o| o.map(|(_, v)| v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.len(), Some(self.set.len()))
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("pending", &self.set.len())
            .finish()
    }
}
