//! The unbounded flavour.

use super::chan::{self, Unbounded, receiver_methods};
use super::error::SendError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends to an unbounded channel; cloneable. See [`unbounded_channel`].
pub struct UnboundedSender<T> {
    chan: chan::Tx<T, Unbounded>,
}

/// An unbounded sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    chan: chan::WeakTx<T, Unbounded>,
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
    let (tx, rx) = chan::channel(Unbounded::new());
    (UnboundedSender { chan: tx }, UnboundedReceiver { chan: rx })
}

impl<T> UnboundedSender<T> {
    /// Sends `value` without waiting; fails (handing it back) if the receiver is closed
    /// or gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.try_send_unbounded(value).map_err(SendError)
    }

    /// Waits until the receiver is closed or dropped. Cancel-safe.
    pub async fn closed(&self) {
        crate::util::cooperative(self.chan.closed()).await
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
            .field("strong_count", &self.strong_count())
            .finish_non_exhaustive()
    }
}

impl<T> WeakUnboundedSender<T> {
    /// A sender, unless every (strong) sender is already gone.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().map(|chan| UnboundedSender { chan })
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

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

receiver_methods!(UnboundedReceiver);
