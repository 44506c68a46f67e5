//! The unbounded flavour.

use super::chan::{self, Chan, Unbounded};
use super::error::{SendError, TryRecvError};
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::AtomicUsize;
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends to an unbounded channel; cloneable. See [`unbounded_channel`].
pub struct UnboundedSender<T> {
    chan: chan::Tx<T, Unbounded>,
}

/// An unbounded sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T, Unbounded>>,
}

/// Receives from an unbounded channel. See [`unbounded_channel`].
pub struct UnboundedReceiver<T> {
    chan: chan::Rx<T, Unbounded>,
}

/// Creates a channel whose `send` never waits (memory is the only limit: prefer a
/// bounded [`channel`](super::channel) when producers can outrun the consumer).
///
/// ```
/// use magpie_sync::mpsc;
/// # magpie_sync::__block_on(async {
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// tx.send("hello").unwrap();
/// drop(tx);
/// assert_eq!(rx.recv().await, Some("hello"));
/// assert_eq!(rx.recv().await, None);
/// # });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = chan::channel(Unbounded(AtomicUsize::new(0)));
    (UnboundedSender { chan: tx }, UnboundedReceiver { chan: rx })
}

impl<T> UnboundedSender<T> {
    /// Sends `value` without waiting; fails (handing it back) if the receiver is closed
    /// or gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if !self.chan.chan.semaphore.try_admit() {
            return Err(SendError(value));
        }
        self.chan.send(value);
        Ok(())
    }

    /// Waits until the receiver is closed or dropped. Cancel-safe.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A weak sender for this channel.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            chan: self.chan.downgrade(),
        }
    }

    /// Number of live senders.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// Number of live weak senders.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("chan", &*self.chan.chan)
            .finish()
    }
}

impl<T> WeakUnboundedSender<T> {
    /// A sender, unless every (strong) sender is already gone.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        Chan::upgrade(&self.chan).map(|chan| UnboundedSender { chan })
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_weak();
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak();
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message, or `None` once every sender is gone (or the receiver
    /// was closed) and every sent message was received. Cancel-safe.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer`, waiting only for the first.
    /// Cancel-safe.
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
    }

    /// Takes a message if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.chan.try_recv() {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(TryRecvError::Disconnected),
            Err(()) => Err(TryRecvError::Empty),
        }
    }

    /// Receives from synchronous code, blocking the thread.
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::util::block_on::block_on(self.recv())
    }

    /// Polls for the next message.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Polls for up to `limit` messages.
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
    }

    /// Closes the channel for sending without dropping what is queued.
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Whether no more messages can be sent.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Number of live senders.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.sender_counts().0
    }

    /// Number of live weak senders.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.sender_counts().1
    }
}

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("chan", &*self.chan.chan)
            .finish()
    }
}
