//! `gather_all` and `try_gather_all`: run many futures concurrently inside the calling
//! task (asyncio's `gather(*aws)`), built on the [`FutureSet`] ready queue so that each
//! wake-up polls only the child that was woken.

use super::set::FutureSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs every future concurrently inside the calling task and returns their outputs in
/// input order (asyncio's `await asyncio.gather(*aws)`).
///
/// Nothing is spawned: the futures are polled by the task awaiting `gather_all`, each
/// with its own waker, so a wake-up costs one child poll however many futures there are.
/// Dropping the returned future drops every child not yet finished.
///
/// asyncio's `return_exceptions=True` is gathering futures that yield `Result`s; for
/// the default (stop at the first error) use [`try_gather_all`].
///
/// ```
/// # magpie_sync::__block_on(async {
/// let futs = (1..=3).map(|i| async move { i * 10 });
/// assert_eq!(magpie_sync::gather_all(futs).await, vec![10, 20, 30]);
/// # });
/// ```
pub fn gather_all<I>(futures: I) -> GatherAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let iter = futures.into_iter();
    let mut set = FutureSet::with_capacity(iter.size_hint().0);
    for f in iter {
        set.push(f);
    }
    let mut outputs = Vec::with_capacity(set.len());
    outputs.resize_with(set.len(), || None);
    GatherAll { set, outputs }
}

/// Future returned by [`gather_all`].
#[must_use = "futures do nothing unless polled"]
pub struct GatherAll<F: Future> {
    set: FutureSet<F>,
    outputs: Vec<Option<F::Output>>,
}

impl<F: Future> Unpin for GatherAll<F> {}

impl<F: Future> Future for GatherAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((i, out))) => this.outputs[i] = Some(out),
                Poll::Ready(None) => {
                    let outputs = std::mem::take(&mut this.outputs);
                    return Poll::Ready(
                        outputs
                            .into_iter()
                            .map(|o| o.expect("gather_all polled after completion"))
                            .collect(),
                    );
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<F: Future> fmt::Debug for GatherAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherAll")
            .field("pending", &self.set.len())
            .finish()
    }
}

/// Runs every future concurrently inside the calling task; returns all the `Ok` values
/// in input order, or the first `Err` (in completion order), at which point every
/// unfinished future is dropped (asyncio's `gather` without `return_exceptions`).
///
/// ```
/// # magpie_sync::__block_on(async {
/// let ok = magpie_sync::try_gather_all((1..=3).map(|i| async move { Ok::<_, String>(i) }));
/// assert_eq!(ok.await, Ok(vec![1, 2, 3]));
///
/// let futs = (1..=3).map(|i| async move { if i == 2 { Err("two") } else { Ok(i) } });
/// assert_eq!(magpie_sync::try_gather_all(futs).await, Err("two"));
/// # });
/// ```
pub fn try_gather_all<I, T, E>(futures: I) -> TryGatherAll<I::Item, T>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let iter = futures.into_iter();
    let mut set = FutureSet::with_capacity(iter.size_hint().0);
    for f in iter {
        set.push(f);
    }
    let mut outputs = Vec::with_capacity(set.len());
    outputs.resize_with(set.len(), || None);
    TryGatherAll { set, outputs }
}

/// Future returned by [`try_gather_all`].
#[must_use = "futures do nothing unless polled"]
pub struct TryGatherAll<F, T> {
    set: FutureSet<F>,
    outputs: Vec<Option<T>>,
}

impl<F, T> Unpin for TryGatherAll<F, T> {}

impl<F, T, E> Future for TryGatherAll<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((i, Ok(v)))) => this.outputs[i] = Some(v),
                Poll::Ready(Some((_, Err(e)))) => {
                    // Drop the rest now, as asyncio cancels them.
                    drop(this.set.drain());
                    this.outputs.clear();
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    let outputs = std::mem::take(&mut this.outputs);
                    return Poll::Ready(Ok(outputs
                        .into_iter()
                        .map(|o| o.expect("try_gather_all polled after completion"))
                        .collect()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<F, T> fmt::Debug for TryGatherAll<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGatherAll")
            .field("pending", &self.set.len())
            .finish()
    }
}
