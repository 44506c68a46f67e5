//! A multi-producer, multi-consumer channel where every receiver sees every value.
//!
//! # Structure
//!
//! A ring of `capacity` slots (rounded up to a power of two) behind one short lock,
//! together with the write position `pos` (total values ever sent), the receiver count
//! and the list of waiting receivers. Slot `pos % capacity` holds value number `pos`
//! plus the number of receivers that have yet to read it (`rem`); the last reader drops
//! the value early, otherwise the next send overwrites it. A receiver keeps its own next
//! position; if the sender has lapped it (`slot.pos != next`), it skips to the oldest
//! value still held and reports `RecvError::Lagged(skipped)`.
//!
//! Receivers clone values out under the lock. This is the simple design (tokio's
//! broadcast uses per-slot locks so that readers do not contend with each other); the
//! lock is held only for a slot update or a clone.
//!
//! Waiting receivers are registered by receiver id (one entry per receiver, replaced on
//! re-poll, removed on drop); a send wakes all of them.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::notify::Notify;
use futures_core::Stream;
use magpie_base::coop;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

/// Error types of the broadcast channel.
pub mod error {
    use std::fmt;

    /// Every receiver is gone; the value is handed back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    /// Why `recv` returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind: this many values were overwritten before it read
        /// them. The next receive returns the oldest value still held.
        Lagged(u64),
    }

    /// Why `try_recv` returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// Nothing new yet.
        Empty,
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind by this many values (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Slot<T> {
    pos: u64,
    rem: usize,
    val: Option<T>,
}

struct Tail<T> {
    pos: u64,
    rx_count: usize,
    closed: bool,
    next_rx_id: u64,
    buf: Box<[Slot<T>]>,
    waiters: Vec<(u64, Waker)>,
}

struct Shared<T> {
    tail: Mutex<Tail<T>>,
    mask: u64,
    tx_count: AtomicUsize,
    /// Live `WeakSender` handles (reporting only).
    weak_count: AtomicUsize,
    /// Woken when the last receiver goes (`Sender::closed`).
    notify_rx_gone: Notify,
}

/// Sends to every receiver; cloneable. See [`channel`].
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open; [`WeakSender::upgrade`] it to send.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent after it subscribed. See [`channel`].
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    next: u64,
    id: u64,
    /// The last poll registered a waker (so the entry probably still exists): a poll
    /// that finds nothing then clones the waker only if it must replace it; otherwise it
    /// clones before locking, so it locks once.
    registered: bool,
}

/// Creates a broadcast channel keeping the last `capacity` values (rounded up to a power
/// of two) for slow receivers.
///
/// # Panics
///
/// If `capacity` is 0.
///
/// # Examples
///
/// ```
/// use magpie_sync::broadcast::{self, error::RecvError};
/// # magpie_sync::__block_on(async {
/// let (tx, mut rx1) = broadcast::channel(2);
/// let mut rx2 = tx.subscribe();
/// tx.send(1).unwrap();
/// assert_eq!(rx1.recv().await, Ok(1));
/// assert_eq!(rx2.recv().await, Ok(1));
/// for i in 2..6 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx1.recv().await, Err(RecvError::Lagged(2)));
/// assert_eq!(rx1.recv().await, Ok(4));
/// # });
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity must be > 0");
    let cap = capacity.next_power_of_two();
    let buf = (0..cap)
        .map(|i| Slot {
            // A position no receiver will ever ask for before it is written.
            pos: (i as u64).wrapping_sub(cap as u64),
            rem: 0,
            val: None,
        })
        .collect();
    let shared = Arc::new(Shared {
        tail: Mutex::new(Tail {
            pos: 0,
            rx_count: 1,
            closed: false,
            next_rx_id: 1,
            buf,
            waiters: Vec::new(),
        }),
        mask: cap as u64 - 1,
        tx_count: AtomicUsize::new(1),
        weak_count: AtomicUsize::new(0),
        notify_rx_gone: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            id: 0,
            registered: false,
        },
    )
}

fn wake_all(wakers: Vec<(u64, Waker)>) {
    for (_, w) in wakers {
        w.wake();
    }
}

impl<T: Clone> Sender<T> {
    /// A sender of a new channel with no receiver yet (see [`subscribe`](Sender::subscribe));
    /// `capacity` as for [`channel`].
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    pub fn new(capacity: usize) -> Self {
        channel(capacity).0
    }
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver; returns how many there are. Fails
    /// (handing the value back) if there are none. Never waits: a full ring overwrites
    /// the oldest value (slow receivers then see `Lagged`).
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut tail = self.shared.tail.lock();
        if tail.rx_count == 0 {
            return Err(SendError(value));
        }
        let pos = tail.pos;
        let n = tail.rx_count;
        let idx = (pos & self.shared.mask) as usize;
        let slot = &mut tail.buf[idx];
        slot.pos = pos;
        slot.rem = n;
        let old = slot.val.replace(value);
        tail.pos = pos.wrapping_add(1);
        let waiters = std::mem::take(&mut tail.waiters);
        drop(tail);
        drop(old);
        wake_all(waiters);
        Ok(n)
    }

    /// A new receiver that sees values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.tail.lock().rx_count
    }

    /// Number of values held in the ring that some receiver has not read yet.
    pub fn len(&self) -> usize {
        let tail = self.shared.tail.lock();
        tail.buf.iter().filter(|s| s.rem > 0).count()
    }

    /// Whether no receiver has a value left to read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A [`WeakSender`] for this channel.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.weak_count.fetch_add(1, Relaxed);
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// Number of live senders.
    pub fn strong_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Number of live weak senders.
    pub fn weak_count(&self) -> usize {
        self.shared.weak_count.load(Acquire)
    }

    /// Waits until every receiver is gone (returns at once if none is left).
    /// Cancel-safe.
    pub async fn closed(&self) {
        crate::util::cooperative(async {
            loop {
                let notified = self.shared.notify_rx_gone.notified_unbudgeted();
                if self.receiver_count() == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await
    }
}

impl<T> WeakSender<T> {
    /// A sender, unless every (strong) sender is already gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut cur = self.shared.tx_count.load(Acquire);
        loop {
            if cur == 0 {
                return None;
            }
            match self
                .shared
                .tx_count
                .compare_exchange_weak(cur, cur + 1, AcqRel, Acquire)
            {
                Ok(_) => {
                    return Some(Sender {
                        shared: self.shared.clone(),
                    });
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Number of live senders.
    pub fn strong_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Number of live weak senders.
    pub fn weak_count(&self) -> usize {
        self.shared.weak_count.load(Acquire)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.weak_count.fetch_add(1, Relaxed);
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.weak_count.fetch_sub(1, Relaxed);
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::WeakSender")
            .finish_non_exhaustive()
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut tail = shared.tail.lock();
    tail.rx_count += 1;
    let id = tail.next_rx_id;
    tail.next_rx_id += 1;
    let next = tail.pos;
    drop(tail);
    Receiver {
        shared: shared.clone(),
        next,
        id,
        registered: false,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) == 1 {
            let mut tail = self.shared.tail.lock();
            tail.closed = true;
            let waiters = std::mem::take(&mut tail.waiters);
            drop(tail);
            wake_all(waiters);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

impl<T: Clone> Receiver<T> {
    /// Takes the next value without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.recv_locked(None) {
            Poll::Ready(Ok(v)) => Ok(v),
            Poll::Ready(Err(RecvError::Closed)) => Err(TryRecvError::Closed),
            Poll::Ready(Err(RecvError::Lagged(n))) => Err(TryRecvError::Lagged(n)),
            Poll::Pending => Err(TryRecvError::Empty),
        }
    }

    /// Receives the next value. `Err(Lagged(n))` reports `n` skipped values (the call
    /// after it returns the oldest one still held); `Err(Closed)` comes once every
    /// sender is gone and every value was received.
    ///
    /// Cancel-safe: a value is consumed only by the poll that returns it.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives from synchronous code, blocking the thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a magpie runtime (it would block the tasks of
    /// that thread): use `recv().await` there, or call it from `spawn_blocking`.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        crate::util::assert_not_in_runtime("blocking_recv");
        crate::util::block_on::block_on(self.recv())
    }

    /// Polls for the next value (see [`recv`](Receiver::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        let res = ready!(self.recv_locked(Some(cx.waker())));
        coop.made_progress();
        Poll::Ready(res)
    }

    /// One receive attempt under the lock. A waker to store is cloned outside the
    /// lock (dropping the guard and retrying), and a replaced waker is dropped after
    /// the unlock: a user waker's `clone` or `Drop` may itself use this channel.
    fn recv_locked(&mut self, waker: Option<&Waker>) -> Poll<Result<T, RecvError>> {
        // Declared before the guard: dropped (if unused) after the unlock.
        let Receiver {
            shared,
            next,
            id,
            registered,
        } = self;
        let mut fresh: Option<Waker> = if *registered { None } else { waker.cloned() };
        loop {
            let mut tail = shared.tail.lock();
            if *next != tail.pos {
                *registered = false;
                return Poll::Ready(take_value(shared.mask, next, tail));
            }
            if tail.closed {
                *registered = false;
                return Poll::Ready(Err(RecvError::Closed));
            }
            let Some(w) = waker else {
                return Poll::Pending;
            };
            *registered = true;
            let id = *id;
            // An unused `fresh` is dropped after the guard (declared before it).
            let entry = tail.waiters.iter_mut().find(|(i, _)| *i == id);
            match entry {
                Some((_, old)) if old.will_wake(w) => return Poll::Pending,
                Some((_, old)) if fresh.is_some() => {
                    let replaced = std::mem::replace(old, fresh.take().unwrap());
                    drop(tail);
                    drop(replaced);
                    return Poll::Pending;
                }
                None if fresh.is_some() => {
                    tail.waiters.push((id, fresh.take().unwrap()));
                    return Poll::Pending;
                }
                _ => {
                    drop(tail);
                    fresh = Some(w.clone());
                }
            }
        }
    }

    /// A new receiver that sees values sent from now on (not this one's backlog).
    pub fn resubscribe(&self) -> Self {
        new_receiver(&self.shared)
    }
}

/// Takes value `*next` (which the sender has already written).
fn take_value<T: Clone>(
    mask: u64,
    next: &mut u64,
    mut tail: MutexGuard<'_, Tail<T>>,
) -> Result<T, RecvError> {
    let cap = mask + 1;
    let idx = (*next & mask) as usize;
    if tail.buf[idx].pos != *next {
        // Overwritten: skip to the oldest value still held.
        let oldest = tail.pos.wrapping_sub(cap);
        let missed = oldest.wrapping_sub(*next);
        *next = oldest;
        return Err(RecvError::Lagged(missed));
    }
    let slot = &mut tail.buf[idx];
    slot.rem -= 1;
    let v = if slot.rem == 0 {
        slot.val.take()
    } else {
        slot.val.clone()
    };
    *next = next.wrapping_add(1);
    drop(tail);
    Ok(v.expect("slot read by every receiver already"))
}

impl<T> Receiver<T> {
    /// Values sent that this receiver has not read yet (including overwritten ones).
    pub fn len(&self) -> usize {
        let tail = self.shared.tail.lock();
        tail.pos.wrapping_sub(self.next) as usize
    }

    /// Whether nothing new was sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both receivers listen to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether every sender is gone (values still held can be received).
    pub fn is_closed(&self) -> bool {
        self.shared.tail.lock().closed
    }

    /// Number of live senders.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Number of live weak senders.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.weak_count.load(Acquire)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut tail = self.shared.tail.lock();
        tail.rx_count -= 1;
        let last = tail.rx_count == 0;
        let id = self.id;
        // Moved out and dropped after the unlock (a waker's `Drop` may use the channel).
        let waker = tail
            .waiters
            .iter()
            .position(|(i, _)| *i == id)
            .map(|at| tail.waiters.swap_remove(at));
        // Release the values this receiver still counted for.
        let cap = self.shared.mask + 1;
        let oldest = tail.pos.saturating_sub(cap);
        let mut dropped = Vec::new();
        let mut p = self.next.max(oldest);
        while p != tail.pos {
            let idx = (p & self.shared.mask) as usize;
            let slot = &mut tail.buf[idx];
            if slot.pos == p && slot.rem > 0 {
                slot.rem -= 1;
                if slot.rem == 0 {
                    dropped.extend(slot.val.take());
                }
            }
            p = p.wrapping_add(1);
        }
        drop(tail);
        drop(waker);
        drop(dropped);
        if last {
            self.shared.notify_rx_gone.notify_waiters();
        }
    }
}

impl<T: Clone> Stream for Receiver<T> {
    /// Values, or `Lagged(n)` notices; the stream ends when the channel closes.
    type Item = Result<T, RecvError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match ready!(self.get_mut().poll_recv(cx)) {
            Err(RecvError::Closed) => Poll::Ready(None),
            other => Poll::Ready(Some(other)),
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}
