//! The bounded flavour.

use super::chan::{self, Bounded, Chan};
use super::error::{SendError, TryRecvError, TrySendError};
use crate::batch_semaphore as bs;
use crate::loom::sync::Arc;
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends to a bounded channel; cloneable. See [`channel`].
pub struct Sender<T> {
    chan: chan::Tx<T, Bounded>,
}

/// A sender that does not keep the channel open; [`WeakSender::upgrade`] it to send.
pub struct WeakSender<T> {
    chan: Arc<Chan<T, Bounded>>,
}

/// Receives from a bounded channel. See [`channel`].
pub struct Receiver<T> {
    chan: chan::Rx<T, Bounded>,
}

/// A reserved slot in the channel: [`Permit::send`] never waits and never fails.
/// Dropping it unused gives the slot back.
pub struct Permit<'a, T> {
    chan: &'a chan::Tx<T, Bounded>,
}

/// A reserved slot that owns its sender; see [`Sender::reserve_owned`].
pub struct OwnedPermit<T> {
    chan: Option<chan::Tx<T, Bounded>>,
}

/// Creates a bounded channel holding at most `buffer` queued messages.
///
/// # Panics
///
/// If `buffer` is 0 (or above `Semaphore::MAX_PERMITS`).
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let (tx, rx) = chan::channel(Bounded {
        sem: bs::Semaphore::new(buffer),
        bound: buffer,
    });
    (Sender { chan: tx }, Receiver { chan: rx })
}

impl<T> Sender<T> {
    fn sem(&self) -> &bs::Semaphore {
        &self.chan.chan.semaphore.sem
    }

    /// Sends `value`, waiting for capacity (FIFO among waiting senders). Fails, handing
    /// the value back, if the receiver is closed or gone.
    ///
    /// Not cancel-safe for the value: dropping the future drops the value with it. It
    /// never loses capacity: a slot granted to a dropped `send` is given back. To keep
    /// the value across a cancellation, [`reserve`](Sender::reserve) first (cancel-safe),
    /// then [`Permit::send`].
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.sem().acquire(1).await {
            Ok(()) => {
                self.chan.send(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is capacity now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.sem().try_acquire(1) {
            Ok(()) => {
                self.chan.send(value);
                Ok(())
            }
            Err(bs::TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
            Err(bs::TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
        }
    }

    /// Sends from synchronous code, blocking the thread while the channel is full. Do
    /// not call it from an async task.
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::util::block_on::block_on(self.send(value))
    }

    /// Waits for capacity and reserves one slot.
    ///
    /// Cancel-safe: dropping the future never loses capacity (a slot granted meanwhile is
    /// handed on); only the place in the queue of waiting senders is lost. This is the
    /// building block of `send_timeout` and of `select!` loops that must not lose values.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match self.sem().acquire(1).await {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(_) => Err(SendError(())),
        }
    }

    /// Reserves one slot if there is capacity now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.sem().try_acquire(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(bs::TryAcquireError::Closed) => Err(TrySendError::Closed(())),
            Err(bs::TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// Like [`reserve`](Sender::reserve) but the permit owns the sender (so it can move
    /// into another task). Cancel-safe as `reserve`.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        match self.sem().acquire(1).await {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(_) => Err(SendError(())),
        }
    }

    /// Like [`try_reserve`](Sender::try_reserve), owning the sender; hands the sender
    /// back on failure.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.sem().try_acquire(1) {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(bs::TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
            Err(bs::TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
        }
    }

    /// Waits until the receiver is closed or dropped. Cancel-safe.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.sem().available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.chan.semaphore.bound
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A [`WeakSender`] for this channel.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
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

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("chan", &*self.chan.chan)
            .finish()
    }
}

impl<T> WeakSender<T> {
    /// A sender, unless every (strong) sender is already gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        Chan::upgrade(&self.chan).map(|chan| Sender { chan })
    }

    /// Number of live senders.
    pub fn strong_count(&self) -> usize {
        self.chan.weak_counts().0
    }

    /// Number of live weak senders.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_counts().1
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_weak();
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak();
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Receives the next message, or `None` once every sender is gone (or the receiver
    /// was closed) and every queued message was received.
    ///
    /// Cancel-safe: a message is only taken out of the channel by the poll that returns
    /// it, so dropping the future (e.g. in a `select!`) loses nothing.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer`, waiting only until there is at
    /// least one. Returns how many were added (0: closed and drained, or `limit == 0`).
    /// Cancel-safe, as [`recv`](Receiver::recv).
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

    /// Receives from synchronous code, blocking the thread. Do not call it from an async
    /// task.
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::util::block_on::block_on(self.recv())
    }

    /// Polls for the next message (the building block of [`recv`](Receiver::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Polls for up to `limit` messages; see [`recv_many`](Receiver::recv_many).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
    }

    /// Closes the channel for sending (sends fail from now on, waiting senders wake with
    /// an error) without dropping what is queued: keep receiving to drain it.
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Whether no more messages can be sent (closed, or every sender gone).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.chan.chan.semaphore.sem.available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.chan.semaphore.bound
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

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("chan", &*self.chan.chan)
            .finish()
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot. Never waits, never fails.
    pub fn send(self, value: T) {
        self.chan.send(value);
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.chan.semaphore.sem.release(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot, returning the sender.
    pub fn send(mut self, value: T) -> Sender<T> {
        let chan = self.chan.take().expect("permit used twice");
        chan.send(value);
        Sender { chan }
    }

    /// Gives the slot back unused, returning the sender.
    pub fn release(mut self) -> Sender<T> {
        let chan = self.chan.take().expect("permit used twice");
        chan.chan.semaphore.sem.release(1);
        Sender { chan }
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            chan.chan.semaphore.sem.release(1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}
