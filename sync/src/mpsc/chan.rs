//! The channel shared by the bounded and unbounded flavours: the block list, the
//! receiver's waker, the sender counts, and a capacity policy (`Semaphore`); and the one
//! receiver core ([`Rx`]) both flavours' receivers are made of.
//!
//! The capacity policy also tracks messages "in flight" (a bounded permit held, or an
//! unbounded send counted, but not yet received), which lets a receiver that called
//! `close` keep receiving until every message that was already admitted has arrived.
//! Whoever makes a closed channel idle (the last permit released without a send, a
//! cancelled or failed `reserve`) wakes the receiver, which then returns `None`.

use super::error::TryRecvError;
use super::list::{self, Read};
use crate::batch_semaphore as bs;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::notify::Notify;
use crate::util::atomic_waker::AtomicWaker;
use crossbeam_utils::CachePadded;
use magpie_base::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
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
    sem: bs::Semaphore,
    bound: usize,
}

impl Bounded {
    pub(crate) fn new(bound: usize) -> Self {
        Bounded {
            sem: bs::Semaphore::new(bound),
            bound,
        }
    }
}

impl Semaphore for Bounded {
    #[inline]
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
pub(crate) struct Unbounded(AtomicUsize);

impl Unbounded {
    pub(crate) fn new() -> Self {
        Unbounded(AtomicUsize::new(0))
    }

    /// Admits one message, unless closed.
    #[inline]
    fn try_admit(&self) -> bool {
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
    #[inline]
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

/// The channel. Its fields sit on three groups of cache lines, by who writes them on
/// every message (the layout tokio's `Chan` uses too, with `CachePadded`):
///
/// * `tx`: the senders' tail (`tail_position` takes one `fetch_add` per send);
/// * `shared`: what both sides write per message, the receiver's waker (one RMW per
///   send, a register per empty poll) and the capacity word (a send takes, a receive
///   gives back), together so that a send or receive moves one line, not two;
/// * `rx_fields`: the receiver's read position (written on every receive).
///
/// Without the padding the receiver's `index` store and the senders' `fetch_add` on
/// `tail_position` shared a line, so every receive invalidated the line every sender
/// needs next (issue 18: `mpsc_contended_*`).
pub(crate) struct Chan<T, S> {
    tx: CachePadded<list::Tx<T>>,
    shared: CachePadded<Shared<S>>,
    /// Woken (notify_waiters) when the receiver closes: `Sender::closed`.
    notify_rx_closed: Notify,
    /// Live `Sender` handles; the last one to go closes the list.
    tx_count: AtomicUsize,
    /// Live weak sender handles (reporting only).
    tx_weak_count: AtomicUsize,
    /// Only the receiver (through `&mut Rx`, or `&Rx` for `len`) and `Drop` touch this.
    rx_fields: CachePadded<UnsafeCell<RxFields<T>>>,
}

/// The per-message state both sides write (see [`Chan`]).
struct Shared<S> {
    rx_waker: AtomicWaker,
    semaphore: S,
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
    chan: Arc<Chan<T, S>>,
}

/// A weak sender handle (counted in `tx_weak_count`).
pub(crate) struct WeakTx<T, S> {
    chan: Arc<Chan<T, S>>,
}

/// The receiver's handle on the channel: the receiver core of both flavours.
pub(crate) struct Rx<T, S: Semaphore> {
    chan: Arc<Chan<T, S>>,
}

pub(crate) fn channel<T, S: Semaphore>(semaphore: S) -> (Tx<T, S>, Rx<T, S>) {
    let (tx, rx) = list::list();
    let chan = Arc::new(Chan {
        tx: CachePadded::new(tx),
        shared: CachePadded::new(Shared {
            rx_waker: AtomicWaker::new(),
            semaphore,
        }),
        notify_rx_closed: Notify::new(),
        tx_count: AtomicUsize::new(1),
        tx_weak_count: AtomicUsize::new(0),
        rx_fields: CachePadded::new(UnsafeCell::new(RxFields {
            list: rx,
            rx_closed: false,
        })),
    });
    (Tx { chan: chan.clone() }, Rx { chan })
}

impl<T, S: Semaphore> Chan<T, S> {
    /// Wakes the receiver if the channel is closed and nothing is in flight any more:
    /// its `recv` can now return `None`.
    fn wake_rx_if_closed_and_idle(&self) {
        if self.shared.semaphore.is_closed() && self.shared.semaphore.is_idle() {
            self.shared.rx_waker.wake();
        }
    }

    fn strong_count(&self) -> usize {
        self.tx_count.load(Acquire)
    }

    fn weak_count(&self) -> usize {
        self.tx_weak_count.load(Acquire)
    }
}

impl<T, S: Semaphore> Tx<T, S> {
    /// Pushes a message whose admission (permit or count) the caller already holds.
    pub(crate) fn send(&self, value: T) {
        self.chan.tx.push(value);
        self.chan.shared.rx_waker.wake();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.chan.shared.semaphore.is_closed()
    }

    pub(crate) async fn closed(&self) {
        loop {
            // Created before the check: it sees any `notify_waiters` after this point.
            let notified = self.chan.notify_rx_closed.notified_unbudgeted();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    pub(crate) fn downgrade(&self) -> WeakTx<T, S> {
        self.chan.tx_weak_count.fetch_add(1, Relaxed);
        WeakTx {
            chan: self.chan.clone(),
        }
    }

    pub(crate) fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    pub(crate) fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Tx<T, Unbounded> {
    /// Admits and pushes `value`, or hands it back if the receiver is closed.
    pub(crate) fn try_send_unbounded(&self, value: T) -> Result<(), T> {
        if !self.chan.shared.semaphore.try_admit() {
            return Err(value);
        }
        self.send(value);
        Ok(())
    }
}

impl<T> Tx<T, Bounded> {
    /// Takes `n` slots now, or fails.
    pub(crate) fn try_reserve(&self, n: usize) -> Result<(), bs::TryAcquireError> {
        self.chan.shared.semaphore.sem.try_acquire(n)
    }

    /// Waits for `n` slots; fails once the receiver is closed (also when the slots were
    /// assigned just before the close).
    pub(crate) fn reserve(&self, n: usize) -> Reserve<'_, T> {
        Reserve {
            acquire: self.chan.shared.semaphore.sem.acquire(n),
            guard: IdleWake {
                chan: &self.chan,
                armed: true,
            },
        }
    }

    /// Gives back `n` slots that were reserved and not used.
    pub(crate) fn release(&self, n: usize) {
        self.chan.shared.semaphore.sem.release(n);
        self.chan.wake_rx_if_closed_and_idle();
    }

    /// Free slots now.
    pub(crate) fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The capacity the channel was created with.
    pub(crate) fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
    }
}

impl<T> Chan<T, Bounded> {
    /// Free slots now.
    pub(crate) fn capacity(&self) -> usize {
        self.shared.semaphore.sem.available_permits()
    }

    /// The capacity the channel was created with.
    pub(crate) fn max_capacity(&self) -> usize {
        self.shared.semaphore.bound
    }
}

/// Future of [`Tx::reserve`].
pub(crate) struct Reserve<'a, T> {
    // Field order matters: the acquire is dropped (returning any permits it held)
    // before the guard checks whether the closed channel became idle.
    acquire: bs::Acquire<'a>,
    guard: IdleWake<'a, T>,
}

/// Wakes a closed channel's receiver on drop if armed (see [`Chan::wake_rx_if_closed_and_idle`]).
struct IdleWake<'a, T> {
    chan: &'a Chan<T, Bounded>,
    armed: bool,
}

impl<T> Drop for IdleWake<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            self.chan.wake_rx_if_closed_and_idle();
        }
    }
}

impl<T> Future for Reserve<'_, T> {
    type Output = Result<(), ()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        // SAFETY: `acquire` is structurally pinned (never moved out); the other fields
        // are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let acquire = unsafe { Pin::new_unchecked(&mut this.acquire) };
        let res = ready!(acquire.poll(cx));
        let chan = this.guard.chan;
        // A first-poll success was checked against CLOSED by its CAS; a grant made
        // while queued may predate a close that happened since.
        if res.is_ok() && !(this.acquire.waited() && chan.shared.semaphore.is_closed()) {
            this.guard.armed = false;
            return Poll::Ready(Ok(()));
        }
        if res.is_ok() {
            // Assigned just before the close: a closed channel admits nothing.
            chan.shared.semaphore.sem.release(this.acquire.permits());
        }
        this.guard.armed = false;
        chan.wake_rx_if_closed_and_idle();
        Poll::Ready(Err(()))
    }
}

impl<T, S> WeakTx<T, S> {
    /// A new sender, unless every sender is gone.
    pub(crate) fn upgrade(&self) -> Option<Tx<T, S>> {
        let mut cur = self.chan.tx_count.load(Acquire);
        loop {
            if cur == 0 {
                return None;
            }
            match self
                .chan
                .tx_count
                .compare_exchange_weak(cur, cur + 1, AcqRel, Acquire)
            {
                Ok(_) => {
                    return Some(Tx {
                        chan: self.chan.clone(),
                    });
                }
                Err(actual) => cur = actual,
            }
        }
    }

    pub(crate) fn strong_count(&self) -> usize {
        self.chan.tx_count.load(Acquire)
    }

    pub(crate) fn weak_count(&self) -> usize {
        self.chan.tx_weak_count.load(Acquire)
    }
}

impl<T, S> Clone for WeakTx<T, S> {
    fn clone(&self) -> Self {
        self.chan.tx_weak_count.fetch_add(1, Relaxed);
        WeakTx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S> Drop for WeakTx<T, S> {
    fn drop(&mut self) {
        self.chan.tx_weak_count.fetch_sub(1, Relaxed);
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
        self.chan.shared.rx_waker.wake();
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
            chan.shared.semaphore.close();
            chan.notify_rx_closed.notify_waiters();
        });
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.chan.shared.semaphore.is_closed() || self.chan.strong_count() == 0
    }

    /// Messages queued now.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: shared access to the receiver fields: the receiver is borrowed, so no
        // `&mut` access (receive, close, drop) runs concurrently.
        self.chan.rx_fields.with(|rx| unsafe { (*rx).list.len() })
    }

    pub(crate) fn sender_strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    pub(crate) fn sender_weak_count(&self) -> usize {
        self.chan.weak_count()
    }

    pub(crate) fn chan(&self) -> &Chan<T, S> {
        &self.chan
    }

    /// The one receive step behind `try_recv` and `poll_recv`: a message (its capacity
    /// given back), `Closed` (every sender gone, or closed and nothing in flight), or
    /// `Empty`. Inlined into both, so the receive path converts its result once.
    #[inline]
    fn pop(&mut self) -> Read<T> {
        self.with_rx(|rx, chan| match rx.list.pop(&chan.tx) {
            Read::Value(v) => {
                chan.shared.semaphore.add_permit();
                Read::Value(v)
            }
            Read::Empty if rx.rx_closed && chan.shared.semaphore.is_idle() => Read::Closed,
            other => other,
        })
    }

    /// Takes a message without waiting; never consults the budget.
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.pop() {
            Read::Value(v) => Ok(v),
            Read::Closed => Err(TryRecvError::Disconnected),
            Read::Empty => Err(TryRecvError::Empty),
        }
    }

    /// `pop` as a poll result: `Pending` when empty.
    #[inline]
    fn poll_try(&mut self) -> Poll<Option<T>> {
        match self.pop() {
            Read::Value(v) => Poll::Ready(Some(v)),
            Read::Closed => Poll::Ready(None),
            Read::Empty => Poll::Pending,
        }
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        if let Poll::Ready(v) = self.poll_try() {
            coop.made_progress();
            return Poll::Ready(v);
        }
        self.chan.shared.rx_waker.register_by_ref(cx.waker());
        let res = ready!(self.poll_try());
        coop.made_progress();
        Poll::Ready(res)
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
                Ok(v) => {
                    buf.push(v);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        Poll::Ready(n)
    }
}

impl<T, S: Semaphore> Drop for Rx<T, S> {
    fn drop(&mut self) {
        self.close();
        // Drop every queued message now, each exactly once (messages pushed after this
        // drain are dropped with the channel). A panicking `Drop` of one message does
        // not leak the others: the first panic is resumed after all were dropped.
        let mut panic = None;
        self.with_rx(|rx, chan| {
            while let Read::Value(v) = rx.list.pop(&chan.tx) {
                chan.shared.semaphore.add_permit();
                crate::util::drop_catching(v, &mut panic);
            }
        });
        // The channel may outlive us (senders): release our waker now.
        drop(self.chan.shared.rx_waker.take());
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
    }
}

impl<T, S> fmt::Debug for Chan<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("senders", &self.tx_count.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// The receiver methods both flavours share, generated once over [`Rx`].
macro_rules! receiver_methods {
    ($Rx:ident) => {
        impl<T> $Rx<T> {
            /// Receives the next message, or `None` once every sender is gone (or the
            /// receiver was closed) and every admitted message was received.
            ///
            /// Cancel-safe: a message is only taken out of the channel by the poll that
            /// returns it, so dropping the future (e.g. in a `select!`) loses nothing.
            pub async fn recv(&mut self) -> Option<T> {
                std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
            }

            /// Receives up to `limit` messages into `buffer`, waiting only until there
            /// is at least one. Returns how many were added (0: closed and drained, or
            /// `limit == 0`). Cancel-safe, as `recv`.
            pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
                std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
            }

            /// Takes a message if one is queued now. Never waits, never spends the
            /// cooperative budget.
            pub fn try_recv(&mut self) -> Result<T, $crate::mpsc::error::TryRecvError> {
                self.chan.try_recv()
            }

            /// Receives from synchronous code, blocking the thread.
            ///
            /// # Panics
            ///
            /// If called on a thread that drives a magpie runtime (use `recv().await`).
            #[track_caller]
            pub fn blocking_recv(&mut self) -> Option<T> {
                $crate::util::assert_not_in_runtime("blocking_recv");
                $crate::util::block_on::block_on(self.recv())
            }

            /// Polls for the next message (the building block of `recv`).
            pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.chan.poll_recv(cx)
            }

            /// Polls for up to `limit` messages; see `recv_many`.
            pub fn poll_recv_many(
                &mut self,
                cx: &mut Context<'_>,
                buffer: &mut Vec<T>,
                limit: usize,
            ) -> Poll<usize> {
                self.chan.poll_recv_many(cx, buffer, limit)
            }

            /// Closes the channel for sending (sends fail from now on, waiting senders
            /// wake with an error) without dropping what is queued: keep receiving to
            /// drain it. `recv` returns `None` once every message admitted before the
            /// close (including reserved permits) was received or given up.
            pub fn close(&mut self) {
                self.chan.close();
            }

            /// Whether no more messages can be sent (closed, or every sender gone).
            pub fn is_closed(&self) -> bool {
                self.chan.is_closed()
            }

            /// Number of messages queued now.
            pub fn len(&self) -> usize {
                self.chan.len()
            }

            /// Whether no message is queued now.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Number of live senders.
            pub fn sender_strong_count(&self) -> usize {
                self.chan.sender_strong_count()
            }

            /// Number of live weak senders.
            pub fn sender_weak_count(&self) -> usize {
                self.chan.sender_weak_count()
            }
        }

        impl<T> futures_core::Stream for $Rx<T> {
            type Item = T;

            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.get_mut().chan.poll_recv(cx)
            }
        }

        impl<T> fmt::Debug for $Rx<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Rx))
                    .field("chan", self.chan.chan())
                    .finish()
            }
        }
    };
}
pub(crate) use receiver_methods;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of};

    /// The three groups of fields written per message by different sides start on
    /// cache lines of their own (128 bytes: `CachePadded` on x86_64, which also covers
    /// the adjacent-line prefetcher), so a receive no longer invalidates the line the
    /// senders' `fetch_add` needs, or the reverse (issue 18).
    #[test]
    fn senders_shared_and_receiver_fields_sit_on_separate_lines() {
        fn check<S>() {
            let line = align_of::<CachePadded<u8>>();
            assert!(line >= 64, "padding of {line} bytes");
            let mut offs = [
                offset_of!(Chan<u64, S>, tx),
                offset_of!(Chan<u64, S>, shared),
                offset_of!(Chan<u64, S>, rx_fields),
            ];
            offs.sort_unstable();
            assert!(offs.iter().all(|o| o % line == 0), "{offs:?}");
            assert!(offs.windows(2).all(|w| w[1] - w[0] >= line), "{offs:?}");
        }
        check::<Unbounded>();
        check::<Bounded>();
    }
}
