//! A channel for sending exactly one value (asyncio's `Future`, resolved from elsewhere).
//!
//! # State word (`state: AtomicUsize`)
//!
//! ```text
//!  VALUE_SENT (1)  the value is in the cell and belongs to the receiver
//!  TX_DONE    (2)  the sender is gone (after sending, or dropped without sending)
//!  RX_CLOSED  (4)  the receiver closed or was dropped
//! ```
//!
//! The sender writes the value into the cell *before* trying to publish it, then sets
//! `VALUE_SENT | TX_DONE` in one CAS that fails if `RX_CLOSED` is set (it then takes the
//! value back and returns it). So `VALUE_SENT` is only ever set while the receiver is
//! open, and once set the cell belongs to the receiver; the receiver never touches the
//! cell without having seen `VALUE_SENT` (acquire). A value nobody took is dropped with
//! the shared allocation, exactly once. Each side has an `AtomicWaker` for the other's
//! signal: the receiver for the value (or the sender's drop), the sender for
//! `Sender::closed`.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::util::atomic_waker::AtomicWaker;
use magpie_base::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

const VALUE_SENT: usize = 1;
const TX_DONE: usize = 2;
const RX_CLOSED: usize = 4;

/// Error types of the oneshot channel.
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending a value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet; the sender may still send one.
        Empty,
        /// The sender was dropped without sending, or the value was already taken.
        Closed,
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: AtomicWaker,
    tx_waker: AtomicWaker,
}

// SAFETY: the value cell is handed from the sender to the receiver through the state
// protocol (see the module docs); only `T: Send` values cross threads.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; no `&T` is ever shared between the two sides.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Creates a oneshot channel.
///
/// # Examples
///
/// ```
/// use magpie_sync::oneshot;
/// # magpie_sync::__block_on(async {
/// let (tx, rx) = oneshot::channel();
/// std::thread::spawn(move || tx.send(42).unwrap());
/// assert_eq!(rx.await, Ok(42));
/// # });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: AtomicWaker::new(),
        tx_waker: AtomicWaker::new(),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

/// Sends the value; see [`channel`].
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the value: a future resolving to `Ok(value)`, or `Err(RecvError)` if the
/// sender was dropped without sending.
///
/// Awaiting it is cancel-safe: if the future (the receiver itself) is dropped, the value,
/// if any, is dropped with it; if it is only polled and not dropped, nothing is lost.
pub struct Receiver<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, consuming the sender. Returns the value back if the receiver is
    /// closed or gone. Never waits.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("sender used after send");
        // SAFETY: before VALUE_SENT is set only the sender touches the cell (the receiver
        // reads it only after observing VALUE_SENT, which is not set yet).
        inner.value.with_mut(|p| unsafe { *p = Some(value) });
        let mut cur = inner.state.load(Acquire);
        loop {
            if cur & RX_CLOSED != 0 {
                // SAFETY: VALUE_SENT was never set, so the cell is still ours.
                let v = inner.value.with_mut(|p| unsafe { (*p).take() });
                inner.state.fetch_or(TX_DONE, Release);
                return Err(v.expect("value just written"));
            }
            match inner.state.compare_exchange_weak(
                cur,
                cur | VALUE_SENT | TX_DONE,
                AcqRel,
                Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        inner.rx_waker.wake();
        Ok(())
    }

    /// Whether the receiver was closed or dropped (a `send` would fail).
    pub fn is_closed(&self) -> bool {
        let inner = self.inner.as_ref().expect("sender used after send");
        inner.state.load(Acquire) & RX_CLOSED != 0
    }

    /// Polls for the receiver closing; see [`Sender::closed`].
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut coop = ready!(coop::poll_proceed(cx));
        let inner = self.inner.as_ref().expect("sender used after send");
        if inner.state.load(Acquire) & RX_CLOSED != 0 {
            coop.made_progress();
            return Poll::Ready(());
        }
        inner.tx_waker.register_by_ref(cx.waker());
        if inner.state.load(Acquire) & RX_CLOSED != 0 {
            coop.made_progress();
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Waits until the receiver is closed or dropped: useful to abandon work whose
    /// result nobody wants any more. Cancel-safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let prev = inner.state.fetch_or(TX_DONE, AcqRel);
            if prev & RX_CLOSED == 0 {
                inner.rx_waker.wake();
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Closes the receiver: a later `send` fails and returns its value. A value sent
    /// before the close can still be taken with [`Receiver::try_recv`] (or by awaiting).
    pub fn close(&mut self) {
        if let Some(inner) = &self.inner {
            let prev = inner.state.fetch_or(RX_CLOSED, AcqRel);
            if prev & (VALUE_SENT | TX_DONE) == 0 {
                inner.tx_waker.wake();
            }
        }
    }

    /// Whether the channel is done: the value was taken, or can never come (sender gone
    /// without sending, or receiver closed before it was sent).
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether a value is waiting to be taken.
    pub fn is_empty(&self) -> bool {
        match &self.inner {
            Some(inner) => inner.state.load(Acquire) & VALUE_SENT == 0,
            None => true,
        }
    }

    /// Takes the value if it was sent, without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let s = inner.state.load(Acquire);
        if s & VALUE_SENT != 0 {
            // SAFETY: VALUE_SENT (acquired) hands the cell to the receiver for good.
            let v = inner.value.with_mut(|p| unsafe { (*p).take() });
            self.inner = None;
            return v.ok_or(TryRecvError::Closed);
        }
        if s & (TX_DONE | RX_CLOSED) != 0 {
            self.inner = None;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Waits for the value, blocking the thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a magpie runtime (it would block the tasks of
    /// that thread): use `.await` there, or call it from `spawn_blocking`.
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        crate::util::assert_not_in_runtime("blocking_recv");
        crate::util::block_on::block_on(self)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let Some(inner) = &self.inner else {
            panic!("oneshot::Receiver polled after completion");
        };
        let mut coop = ready!(coop::poll_proceed(cx));
        let mut s = inner.state.load(Acquire);
        if s & (VALUE_SENT | TX_DONE | RX_CLOSED) == 0 {
            inner.rx_waker.register_by_ref(cx.waker());
            s = inner.state.load(Acquire);
        }
        let res = if s & VALUE_SENT != 0 {
            // SAFETY: VALUE_SENT (acquired) hands the cell to the receiver for good.
            let v = inner.value.with_mut(|p| unsafe { (*p).take() });
            v.ok_or(RecvError(()))
        } else if s & (TX_DONE | RX_CLOSED) != 0 {
            Err(RecvError(()))
        } else {
            return Poll::Pending;
        };
        coop.made_progress();
        self.inner = None;
        Poll::Ready(res)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // The value, if one was sent, is dropped with the shared allocation.
        self.close();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
