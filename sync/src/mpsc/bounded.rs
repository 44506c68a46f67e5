//! The bounded flavour.

use super::chan::{self, Bounded, receiver_methods};
use super::error::{SendError, TrySendError};
use crate::batch_semaphore as bs;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends to a bounded channel; cloneable. See [`channel`].
pub struct Sender<T> {
    chan: chan::Tx<T, Bounded>,
}

/// A sender that does not keep the channel open; [`WeakSender::upgrade`] it to send.
pub struct WeakSender<T> {
    chan: chan::WeakTx<T, Bounded>,
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

/// `n` reserved slots, handed out one [`Permit`] at a time; see
/// [`Sender::reserve_many`]. Dropping it gives the slots not handed out back.
pub struct PermitIterator<'a, T> {
    chan: &'a chan::Tx<T, Bounded>,
    n: usize,
}

/// Creates a bounded channel holding at most `buffer` queued messages.
///
/// # Panics
///
/// If `buffer` is 0 (or above `Semaphore::MAX_PERMITS`).
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let (tx, rx) = chan::channel(Bounded::new(buffer));
    (Sender { chan: tx }, Receiver { chan: rx })
}

fn map_try(e: bs::TryAcquireError) -> TrySendError<()> {
    match e {
        bs::TryAcquireError::Closed => TrySendError::Closed(()),
        bs::TryAcquireError::NoPermits => TrySendError::Full(()),
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for capacity (FIFO among waiting senders). Fails, handing
    /// the value back, if the receiver is closed or gone.
    ///
    /// Not cancel-safe for the value: dropping the future drops the value with it. It
    /// never loses capacity: a slot granted to a dropped `send` is given back. To keep
    /// the value across a cancellation, [`reserve`](Sender::reserve) first (cancel-safe),
    /// then [`Permit::send`].
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.chan.reserve(1).await {
            Ok(()) => {
                self.chan.send(value);
                Ok(())
            }
            Err(()) => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is capacity now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.try_reserve(1) {
            Ok(()) => {
                self.chan.send(value);
                Ok(())
            }
            Err(bs::TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
            Err(bs::TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
        }
    }

    /// Sends from synchronous code, blocking the thread while the channel is full.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a magpie runtime (use `send().await`, or call
    /// it from `spawn_blocking`).
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::util::assert_not_in_runtime("blocking_send");
        crate::util::block_on::block_on(self.send(value))
    }

    /// Waits for capacity and reserves one slot.
    ///
    /// Cancel-safe: dropping the future never loses capacity (a slot granted meanwhile is
    /// handed on); only the place in the queue of waiting senders is lost. Fails if the
    /// receiver closes first, also when a slot had just been assigned.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match self.chan.reserve(1).await {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(()) => Err(SendError(())),
        }
    }

    /// Waits for `n` slots, reserved together; the iterator hands them out as
    /// [`Permit`]s. Fails if the receiver closes first, or if `n` exceeds
    /// [`max_capacity`](Sender::max_capacity). Cancel-safe as `reserve`.
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if n > self.max_capacity() {
            return Err(SendError(()));
        }
        match self.chan.reserve(n).await {
            Ok(()) => Ok(PermitIterator {
                chan: &self.chan,
                n,
            }),
            Err(()) => Err(SendError(())),
        }
    }

    /// Reserves one slot if there is capacity now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.chan.try_reserve(1).map_err(map_try)?;
        Ok(Permit { chan: &self.chan })
    }

    /// Reserves `n` slots if there is capacity for all of them now. `Full` also when `n`
    /// exceeds [`max_capacity`](Sender::max_capacity).
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        if n > self.max_capacity() {
            return Err(TrySendError::Full(()));
        }
        self.chan.try_reserve(n).map_err(map_try)?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Like [`reserve`](Sender::reserve) but the permit owns the sender (so it can move
    /// into another task). Cancel-safe as `reserve`.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        match self.chan.reserve(1).await {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(()) => Err(SendError(())),
        }
    }

    /// Like [`try_reserve`](Sender::try_reserve), owning the sender; hands the sender
    /// back on failure.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.try_reserve(1) {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(bs::TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
            Err(bs::TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
        }
    }

    /// Waits until the receiver is closed or dropped. Cancel-safe.
    pub async fn closed(&self) {
        crate::util::cooperative(self.chan.closed()).await
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
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
            .field("strong_count", &self.strong_count())
            .finish_non_exhaustive()
    }
}

impl<T> WeakSender<T> {
    /// A sender, unless every (strong) sender is already gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().map(|chan| Sender { chan })
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

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

receiver_methods!(Receiver);

impl<T> Receiver<T> {
    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.chan.chan().capacity()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.chan().max_capacity()
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
        self.chan.release(1);
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
        chan.release(1);
        Sender { chan }
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            chan.release(1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.chan.release(self.n);
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("remaining", &self.n)
            .finish_non_exhaustive()
    }
}
