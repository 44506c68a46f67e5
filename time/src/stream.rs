//! Time-aware stream adapters (tokio-stream's `StreamExt::{timeout, throttle,
//! chunks_timeout}` shapes), on magpie's timer wheel; the facade re-exports them as
//! `magpie::stream`.
//!
//! Each adapter owns one [`Sleep`] that it resets in place (no allocation per item).
//! Constructing one needs a runtime with time enabled (it panics outside, as
//! [`sleep`](crate::sleep) does), because the timer is registered with the current
//! runtime's wheel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::error::Elapsed;
use crate::{Instant, Sleep, sleep_until};

/// Extension methods for any [`Stream`]: `next`, and the adapters that need a timer.
///
/// ```
/// # magpie_time::__doc_runtime(|| async {
/// use magpie_time::stream::StreamExt;
/// use magpie_time::Duration;
///
/// # struct Iter<I>(I);
/// # impl<I: Iterator + Unpin> futures_core::Stream for Iter<I> {
/// #     type Item = I::Item;
/// #     fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
/// #         -> std::task::Poll<Option<I::Item>> { std::task::Poll::Ready(self.0.next()) }
/// # }
/// let mut chunks = Box::pin(Iter(1..=5).chunks_timeout(2, Duration::from_secs(1)));
/// assert_eq!(chunks.next().await, Some(vec![1, 2]));
/// assert_eq!(chunks.next().await, Some(vec![3, 4]));
/// assert_eq!(chunks.next().await, Some(vec![5])); // the rest, at the end
/// assert_eq!(chunks.next().await, None);
/// # });
/// ```
pub trait StreamExt: Stream {
    /// The next item (`None` once the stream has ended).
    fn next(&mut self) -> Next<'_, Self>
    where
        Self: Unpin,
    {
        Next { stream: self }
    }

    /// Fails with `Err(Elapsed)` when no item arrives within `duration` (measured from
    /// the adapter's creation, then from each item). After an `Err` the stream goes
    /// on; the next `Err` needs another item first, then another `duration` of silence.
    ///
    /// # Panics
    /// Outside a runtime with time enabled.
    #[track_caller]
    fn timeout(self, duration: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        Timeout {
            stream: self,
            sleep: sleep_until(Instant::now().saturating_add(duration)),
            duration,
            armed: true,
        }
    }

    /// Yields at most one item per `duration`: after each item, the stream is not
    /// polled again until `duration` has passed (items are delayed, not dropped).
    ///
    /// # Panics
    /// Outside a runtime with time enabled.
    #[track_caller]
    fn throttle(self, duration: Duration) -> Throttle<Self>
    where
        Self: Sized,
    {
        Throttle {
            stream: self,
            sleep: sleep_until(Instant::now()),
            duration,
            waited: true,
        }
    }

    /// Batches items: a `Vec` of `max_size` items as soon as that many arrived, or
    /// whatever arrived within `duration` of a batch's first item; at the end of the
    /// stream, the last partial batch. Never yields an empty batch.
    ///
    /// # Panics
    /// When `max_size` is 0 (a batch could never be full), or outside a runtime with
    /// time enabled.
    #[track_caller]
    fn chunks_timeout(self, max_size: usize, duration: Duration) -> ChunksTimeout<Self>
    where
        Self: Sized,
    {
        assert!(
            max_size > 0,
            "chunks_timeout: `max_size` must be at least 1"
        );
        ChunksTimeout {
            stream: self,
            sleep: sleep_until(Instant::now()),
            duration,
            max_size,
            items: Vec::new(),
            done: false,
        }
    }
}

impl<S: Stream + ?Sized> StreamExt for S {}

/// Future of [`StreamExt::next`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Next<'a, S: ?Sized> {
    stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for Next<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

pin_project! {
    /// Stream of [`StreamExt::timeout`]: the items as `Ok`, a silence as `Err(Elapsed)`.
    #[must_use = "streams do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<S> {
        #[pin]
        stream: S,
        #[pin]
        sleep: Sleep,
        duration: Duration,
        // Whether the deadline counts (from creation or from the last item).
        armed: bool,
    }
}

impl<S: Stream> Stream for Timeout<S> {
    type Item = Result<S::Item, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if let Poll::Ready(item) = this.stream.poll_next(cx) {
            if item.is_some() {
                let deadline = Instant::now().saturating_add(*this.duration);
                this.sleep.as_mut().reset(deadline);
                *this.armed = true;
            }
            return Poll::Ready(item.map(Ok));
        }
        if *this.armed {
            ready!(this.sleep.poll(cx));
            *this.armed = false;
            return Poll::Ready(Some(Err(Elapsed::new())));
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every item comes through, plus any number of `Err`s.
        (self.stream.size_hint().0, None)
    }
}

pin_project! {
    /// Stream of [`StreamExt::throttle`].
    #[must_use = "streams do nothing unless polled"]
    #[derive(Debug)]
    pub struct Throttle<S> {
        #[pin]
        stream: S,
        #[pin]
        sleep: Sleep,
        duration: Duration,
        // Whether the pause after the last item is over.
        waited: bool,
    }
}

impl<S: Stream> Stream for Throttle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if !*this.waited {
            ready!(this.sleep.as_mut().poll(cx));
            *this.waited = true;
        }
        let item = ready!(this.stream.poll_next(cx));
        if item.is_some() && !this.duration.is_zero() {
            let next = Instant::now().saturating_add(*this.duration);
            this.sleep.reset(next);
            *this.waited = false;
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project! {
    /// Stream of [`StreamExt::chunks_timeout`].
    #[must_use = "streams do nothing unless polled"]
    #[derive(Debug)]
    pub struct ChunksTimeout<S: Stream> {
        #[pin]
        stream: S,
        #[pin]
        sleep: Sleep,
        duration: Duration,
        max_size: usize,
        // The batch being filled; the deadline counts while it is non-empty.
        items: Vec<S::Item>,
        // The inner stream ended: it is not polled again.
        done: bool,
    }
}

impl<S: Stream> Stream for ChunksTimeout<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        let mut this = self.project();
        while !*this.done {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(item)) => {
                    if this.items.is_empty() {
                        let deadline = Instant::now().saturating_add(*this.duration);
                        this.sleep.as_mut().reset(deadline);
                        this.items.reserve(*this.max_size);
                    }
                    this.items.push(item);
                    if this.items.len() >= *this.max_size {
                        return Poll::Ready(Some(std::mem::take(this.items)));
                    }
                }
                Poll::Ready(None) => *this.done = true,
            }
        }
        if *this.done {
            let last = std::mem::take(this.items);
            return Poll::Ready((!last.is_empty()).then_some(last));
        }
        if !this.items.is_empty() {
            ready!(this.sleep.poll(cx));
            return Poll::Ready(Some(std::mem::take(this.items)));
        }
        Poll::Pending
    }
}
