//! Streams over magpie's own types (tokio-stream's `wrappers` names). magpie's mpsc
//! receivers already implement [`Stream`] themselves; [`ReceiverStream`] and
//! [`UnboundedReceiverStream`] exist so that code written for tokio-stream compiles
//! and can get the receiver back (`into_inner`) or close it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use magpie_io::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use magpie_io::signal::unix::Signal;
use magpie_sync::mpsc::{Receiver, UnboundedReceiver};
use magpie_time::{Instant, Interval};

/// A [`Stream`] of the values of an mpsc [`Receiver`]; ends when every sender is gone
/// and the buffer is empty.
#[derive(Debug)]
pub struct ReceiverStream<T> {
    inner: Receiver<T>,
}

impl<T> ReceiverStream<T> {
    /// Wraps `recv`.
    pub fn new(recv: Receiver<T>) -> ReceiverStream<T> {
        ReceiverStream { inner: recv }
    }

    /// The receiver back.
    pub fn into_inner(self) -> Receiver<T> {
        self.inner
    }

    /// Closes the channel (senders fail from now on); buffered values are still
    /// yielded.
    pub fn close(&mut self) {
        self.inner.close();
    }
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }
}

impl<T> From<Receiver<T>> for ReceiverStream<T> {
    fn from(recv: Receiver<T>) -> Self {
        ReceiverStream::new(recv)
    }
}

/// A [`Stream`] of the values of an [`UnboundedReceiver`].
#[derive(Debug)]
pub struct UnboundedReceiverStream<T> {
    inner: UnboundedReceiver<T>,
}

impl<T> UnboundedReceiverStream<T> {
    /// Wraps `recv`.
    pub fn new(recv: UnboundedReceiver<T>) -> UnboundedReceiverStream<T> {
        UnboundedReceiverStream { inner: recv }
    }

    /// The receiver back.
    pub fn into_inner(self) -> UnboundedReceiver<T> {
        self.inner
    }

    /// Closes the channel; buffered values are still yielded.
    pub fn close(&mut self) {
        self.inner.close();
    }
}

impl<T> Stream for UnboundedReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }
}

impl<T> From<UnboundedReceiver<T>> for UnboundedReceiverStream<T> {
    fn from(recv: UnboundedReceiver<T>) -> Self {
        UnboundedReceiverStream::new(recv)
    }
}

/// A [`Stream`] of an [`Interval`]'s ticks (never ends).
#[derive(Debug)]
pub struct IntervalStream {
    inner: Interval,
}

impl IntervalStream {
    /// Wraps `interval`.
    pub fn new(interval: Interval) -> IntervalStream {
        IntervalStream { inner: interval }
    }

    /// The interval back.
    pub fn into_inner(self) -> Interval {
        self.inner
    }
}

impl Stream for IntervalStream {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.inner.poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// A [`Stream`] of deliveries of a Unix signal (`()` per delivery; close deliveries
/// may coalesce into one, as with the listener itself).
#[derive(Debug)]
pub struct SignalStream {
    inner: Signal,
}

impl SignalStream {
    /// Wraps `signal`.
    pub fn new(signal: Signal) -> SignalStream {
        SignalStream { inner: signal }
    }

    /// The listener back.
    pub fn into_inner(self) -> Signal {
        self.inner
    }
}

impl Stream for SignalStream {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.inner.poll_recv(cx)
    }
}

/// A [`Stream`] of the connections a [`TcpListener`] accepts. Accept errors (EMFILE,
/// ECONNABORTED, ...) are items too, so the caller decides whether to go on; the
/// stream never ends by itself.
#[derive(Debug)]
pub struct TcpListenerStream {
    inner: TcpListener,
}

impl TcpListenerStream {
    /// Wraps `listener`.
    pub fn new(listener: TcpListener) -> TcpListenerStream {
        TcpListenerStream { inner: listener }
    }

    /// The listener back.
    pub fn into_inner(self) -> TcpListener {
        self.inner
    }
}

impl Stream for TcpListenerStream {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_accept(cx)
            .map(|r| Some(r.map(|(stream, _)| stream)))
    }
}

/// A [`Stream`] of the connections a [`UnixListener`] accepts (errors are items, as
/// for [`TcpListenerStream`]).
#[derive(Debug)]
pub struct UnixListenerStream {
    inner: UnixListener,
}

impl UnixListenerStream {
    /// Wraps `listener`.
    pub fn new(listener: UnixListener) -> UnixListenerStream {
        UnixListenerStream { inner: listener }
    }

    /// The listener back.
    pub fn into_inner(self) -> UnixListener {
        self.inner
    }
}

impl Stream for UnixListenerStream {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_accept(cx)
            .map(|r| Some(r.map(|(stream, _)| stream)))
    }
}
