//! The channel shared by the bounded and unbounded flavours: the block list, the
//! receiver's waker, the sender count, and a capacity policy (`Semaphore`).
//!
//! The capacity policy also tracks messages "in flight" (a bounded permit held, or an
//! unbounded send counted, but not yet received), which lets a receiver that called
//! `close` keep receiving until every message that was already admitted has arrived.

use super::list::{self, Read};
use crate::batch_semaphore as bs;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::notify::Notify;
use crate::util::atomic_waker::AtomicWaker;
use magpie_base::coop;
use std::fmt;
use std::task::{Context, Poll, ready};

/// Capacity policy of a channel flavour.
pub(crate) trait Semaphore {
    /// Called after the receiver took a message: gives its capacity back.
    fn add_permit(&self);
    /// No message is admitted-but-not-yet-received.
    fn is_idle(&self) -> bool;
    /// No more messages are admitted.
    fn close(&self);
    fn is_closed(&self) -> bool;
}

/// Bounded: a FIFO semaphore of `bound` permits, one per queued message.
pub(crate) struct Bounded {
    pub(crate) sem: bs::Semaphore,
    pub(crate) bound: usize,
}

impl Semaphore for Bounded {
    fn add_permit(&self) {
        self.sem.release(1);
    }
    fn is_idle(&self) -> bool {
        self.sem.available_permits() == self.bound
    }
    fn close(&self) {
        self.sem.close();
    }
    fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }
}

/// Unbounded: `count << 1 | CLOSED`, where `count` is messages admitted and not yet
/// received. A send increments it (failing once CLOSED is set), a receive decrements it.
pub(crate) struct Unbounded(pub(crate) AtomicUsize);

impl Unbounded {
    /// Admits one message, unless closed.
    pub(crate) fn try_admit(&self) -> bool {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & 1 != 0 {
                return false;
            }
            assert!(cur < usize::MAX - 2, "unbounded channel overflow");
            match self.0.compare_exchange_weak(cur, cur + 2, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

impl Semaphore for Unbounded {
    fn add_permit(&self) {
        self.0.fetch_sub(2, Release);
    }
    fn is_idle(&self) -> bool {
        self.0.load(Acquire) >> 1 == 0
    }
    fn close(&self) {
        self.0.fetch_or(1, Release);
    }
    fn is_closed(&self) -> bool {
        self.0.load(Acquire) & 1 != 0
    }
}

struct RxFields<T> {
    list: list::Rx<T>,
    rx_closed: bool,
}

pub(crate) struct Chan<T, S> {
    tx: list::Tx<T>,
    rx_waker: AtomicWaker,
    /// Woken (notify_waiters) when the receiver closes: `Sender::closed`.
    notify_rx_closed: Notify,
    pub(crate) semaphore: S,
    /// Live `Sender` handles; the last one to go closes the list.
    tx_count: AtomicUsize,
    /// Live `WeakSender` handles (reporting only).
    tx_weak_count: AtomicUsize,
    /// Only the receiver (through `&mut Rx`) and `Drop` touch this.
    rx_fields: UnsafeCell<RxFields<T>>,
}

// SAFETY: messages (`T: Send`) move from senders to the receiver; `rx_fields` is only
// accessed by the single receiver; everything else is atomic or internally synchronised.
unsafe impl<T: Send, S: Send> Send for Chan<T, S> {}
// SAFETY: as above; no `&T` is ever shared.
unsafe impl<T: Send, S: Sync> Sync for Chan<T, S> {}

impl<T, S> Drop for Chan<T, S> {
    fn drop(&mut self) {
        let tx = &mut self.tx;
        self.rx_fields.with_mut(|rx| {
            // SAFETY: `&mut self`: nobody else can access the list.
            let rx = unsafe { &mut *rx };
            list::drop_list(tx, &mut rx.list);
        });
    }
}

/// The senders' handle on the channel (counted).
pub(crate) struct Tx<T, S> {
    pub(crate) chan: Arc<Chan<T, S>>,
}

/// The receiver's handle on the channel.
pub(crate) struct Rx<T, S: Semaphore> {
    pub(crate) chan: Arc<Chan<T, S>>,
}

pub(crate) fn channel<T, S: Semaphore>(semaphore: S) -> (Tx<T, S>, Rx<T, S>) {
    let (tx, rx) = list::list();
    let chan = Arc::new(Chan {
        tx,
        rx_waker: AtomicWaker::new(),
        notify_rx_closed: Notify::new(),
        semaphore,
        tx_count: AtomicUsize::new(1),
        tx_weak_count: AtomicUsize::new(0),
        rx_fields: UnsafeCell::new(RxFields {
            list: rx,
            rx_closed: false,
        }),
    });
    (Tx { chan: chan.clone() }, Rx { chan })
}

impl<T, S: Semaphore> Tx<T, S> {
    /// Pushes a message whose admission (permit or count) the caller already holds.
    pub(crate) fn send(&self, value: T) {
        self.chan.tx.push(value);
        self.chan.rx_waker.wake();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.chan.semaphore.is_closed()
    }

    pub(crate) async fn closed(&self) {
        loop {
            // Created before the check: it sees any `notify_waiters` after this point.
            let notified = self.chan.notify_rx_closed.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    pub(crate) fn downgrade(&self) -> Arc<Chan<T, S>> {
        self.chan.tx_weak_count.fetch_add(1, Relaxed);
        self.chan.clone()
    }

    pub(crate) fn strong_count(&self) -> usize {
        self.chan.tx_count.load(Acquire)
    }

    pub(crate) fn weak_count(&self) -> usize {
        self.chan.tx_weak_count.load(Acquire)
    }
}

impl<T, S> Chan<T, S> {
    /// Upgrades a weak handle: a new sender, unless every sender is gone.
    pub(crate) fn upgrade(this: &Arc<Self>) -> Option<Tx<T, S>> {
        let mut cur = this.tx_count.load(Acquire);
        loop {
            if cur == 0 {
                return None;
            }
            match this
                .tx_count
                .compare_exchange_weak(cur, cur + 1, AcqRel, Acquire)
            {
                Ok(_) => return Some(Tx { chan: this.clone() }),
                Err(actual) => cur = actual,
            }
        }
    }

    pub(crate) fn add_weak(&self) {
        self.tx_weak_count.fetch_add(1, Relaxed);
    }

    pub(crate) fn drop_weak(&self) {
        self.tx_weak_count.fetch_sub(1, Relaxed);
    }

    pub(crate) fn weak_counts(&self) -> (usize, usize) {
        (
            self.tx_count.load(Acquire),
            self.tx_weak_count.load(Acquire),
        )
    }
}

impl<T, S> Clone for Tx<T, S> {
    fn clone(&self) -> Self {
        self.chan.tx_count.fetch_add(1, Relaxed);
        Tx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S> Drop for Tx<T, S> {
    fn drop(&mut self) {
        if self.chan.tx_count.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        // Last sender: every push by any sender happened before this point.
        self.chan.tx.close();
        self.chan.rx_waker.wake();
    }
}

impl<T, S: Semaphore> Rx<T, S> {
    fn with_rx<R>(&mut self, f: impl FnOnce(&mut RxFields<T>, &Chan<T, S>) -> R) -> R {
        let chan = &*self.chan;
        // SAFETY: only the single receiver (`&mut self`) reaches the receiver fields.
        chan.rx_fields.with_mut(|rx| f(unsafe { &mut *rx }, chan))
    }

    pub(crate) fn close(&mut self) {
        self.with_rx(|rx, chan| {
            if rx.rx_closed {
                return;
            }
            rx.rx_closed = true;
            chan.semaphore.close();
            chan.notify_rx_closed.notify_waiters();
        });
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.chan.semaphore.is_closed() || self.chan.tx_count.load(Acquire) == 0
    }

    pub(crate) fn sender_counts(&self) -> (usize, usize) {
        self.chan.weak_counts()
    }

    /// Takes a message without waiting. `Ok(None)`: closed and drained.
    pub(crate) fn try_recv(&mut self) -> Result<Option<T>, ()> {
        self.with_rx(|rx, chan| match rx.list.pop() {
            Read::Value(v) => {
                chan.semaphore.add_permit();
                Ok(Some(v))
            }
            Read::Closed => Ok(None),
            Read::Empty => {
                if rx.rx_closed && chan.semaphore.is_idle() {
                    Ok(None)
                } else {
                    Err(())
                }
            }
        })
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        if let Ok(v) = self.try_recv() {
            coop.made_progress();
            return Poll::Ready(v);
        }
        self.chan.rx_waker.register_by_ref(cx.waker());
        if let Ok(v) = self.try_recv() {
            coop.made_progress();
            return Poll::Ready(v);
        }
        Poll::Pending
    }

    /// Receives up to `limit` messages into `buf`, waiting only for the first.
    pub(crate) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let Some(first) = ready!(self.poll_recv(cx)) else {
            return Poll::Ready(0);
        };
        buf.reserve(limit.min(32));
        buf.push(first);
        let mut n = 1;
        while n < limit {
            match self.try_recv() {
                Ok(Some(v)) => {
                    buf.push(v);
                    n += 1;
                }
                _ => break,
            }
        }
        Poll::Ready(n)
    }
}

impl<T, S: Semaphore> Drop for Rx<T, S> {
    fn drop(&mut self) {
        self.close();
        // Drop every queued message now (exactly once: each is popped once; messages
        // pushed after this drain are dropped with the channel).
        self.with_rx(|rx, chan| {
            while let Read::Value(v) = rx.list.pop() {
                chan.semaphore.add_permit();
                drop(v);
            }
        });
    }
}

impl<T, S> fmt::Debug for Chan<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("senders", &self.tx_count.load(Relaxed))
            .finish_non_exhaustive()
    }
}
