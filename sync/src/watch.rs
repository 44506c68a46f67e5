//! A single-producer, multi-consumer channel that keeps only the latest value.
//!
//! # State
//!
//! `state: AtomicUsize` = `version << 1 | CLOSED`. Every send bumps the version by one
//! (by 2 in the raw word) while holding the value's write lock, then wakes receivers
//! with `Notify::notify_waiters`. A receiver remembers the version it last saw;
//! `changed()` completes when the current version differs. Because `changed()` creates
//! its `Notified` before it reads the version, a send after that read always reaches it.
//! CLOSED is set when the last sender is dropped.

use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::notify::Notify;
use crate::util::rwlock::{ReadGuard, RwLock};
use std::fmt;
use std::ops::Deref;

const CLOSED: usize = 1;
const STEP: usize = 2;

/// Error types of the watch channel.
pub mod error {
    use std::fmt;

    /// Every receiver is gone; the value is handed back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    /// The sender is gone (and the current value was already seen).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

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
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RwLock<T>,
    state: AtomicUsize,
    rx_count: AtomicUsize,
    /// Live senders; the last one to go closes the channel.
    tx_count: AtomicUsize,
    /// Woken on every send and when the last sender goes.
    notify_rx: Notify,
    /// Woken when the last receiver goes.
    notify_tx: Notify,
}

/// Publishes values; see [`channel`].
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Observes the latest value; cloneable. See [`channel`].
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    version: usize,
}

/// A read-locked borrow of the current value. Hold it briefly: the sender waits for it.
pub struct Ref<'a, T> {
    guard: ReadGuard<'a, T>,
    changed: bool,
}

/// Creates a watch channel holding `init`.
///
/// # Examples
///
/// ```
/// use magpie_sync::watch;
/// # magpie_sync::__block_on(async {
/// let (tx, mut rx) = watch::channel("init");
/// tx.send("new").unwrap();
/// rx.changed().await.unwrap();
/// assert_eq!(*rx.borrow_and_update(), "new");
/// drop(tx);
/// assert!(rx.changed().await.is_err());
/// # });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        rx_count: AtomicUsize::new(1),
        tx_count: AtomicUsize::new(1),
        notify_rx: Notify::new(),
        notify_tx: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, version: 0 },
    )
}

impl<T> Ref<'_, T> {
    /// Whether this value had not been seen by the receiver when it was borrowed.
    pub fn has_changed(&self) -> bool {
        self.changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        let v = self.shared.state.load(Acquire) & !CLOSED;
        Ref {
            guard,
            changed: v != self.version,
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        // Read under the read lock: a send bumps the version under the write lock, so
        // this is exactly the value's version.
        let v = self.shared.state.load(Acquire) & !CLOSED;
        let changed = v != self.version;
        self.version = v;
        Ref { guard, changed }
    }

    /// Whether a value not yet seen is available; errors if the sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let s = self.shared.state.load(Acquire);
        if s & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(s & !CLOSED != self.version)
    }

    /// Marks the current value as not seen.
    pub fn mark_changed(&mut self) {
        self.version = self.version.wrapping_sub(STEP);
    }

    /// Marks the current value as seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state.load(Acquire) & !CLOSED;
    }

    /// Waits for a value not yet seen, and marks it seen. Errors once the sender is
    /// gone and no unseen value is left.
    ///
    /// Cancel-safe: dropping the future loses nothing; the unseen value stays unseen.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        crate::util::cooperative(self.changed_inner()).await
    }

    async fn changed_inner(&mut self) -> Result<(), RecvError> {
        loop {
            let notified = self.shared.notify_rx.notified_unbudgeted();
            let s = self.shared.state.load(SeqCst);
            if s & !CLOSED != self.version {
                self.version = s & !CLOSED;
                return Ok(());
            }
            if s & CLOSED != 0 {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    /// Waits until the value satisfies `f` (checking the current value first), marks
    /// it seen and borrows it. Errors if the sender goes first. Cancel-safe.
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let shared = self.shared.clone();
        let found = crate::util::cooperative(async {
            loop {
                let notified = shared.notify_rx.notified_unbudgeted();
                {
                    let guard = shared.value.read();
                    let s = shared.state.load(SeqCst);
                    self.version = s & !CLOSED;
                    if f(&guard) {
                        return Ok(());
                    }
                    if s & CLOSED != 0 {
                        return Err(RecvError(()));
                    }
                }
                notified.await;
            }
        })
        .await;
        found.map(|()| self.borrow_and_update())
    }

    /// Whether both receivers watch the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.fetch_add(1, Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.rx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.notify_tx.notify_waiters();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("version", &(self.version >> 1))
            .finish()
    }
}

impl<T> Sender<T> {
    /// Creates a channel with no receiver yet; see [`Sender::subscribe`].
    pub fn new(init: T) -> Self {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Publishes `value`; fails (handing it back) if every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Publishes `value` even without receivers, returning the previous value.
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|old| std::mem::swap(old, &mut value));
        value
    }

    /// Modifies the value in place and notifies receivers (even without receivers).
    pub fn send_modify(&self, f: impl FnOnce(&mut T)) {
        self.send_if_modified(|v| {
            f(v);
            true
        });
    }

    /// Modifies the value in place; notifies receivers only if `f` returns `true`.
    pub fn send_if_modified(&self, f: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut guard = self.shared.value.write();
            if !f(&mut guard) {
                return false;
            }
            self.shared.state.fetch_add(STEP, SeqCst);
        }
        self.shared.notify_rx.notify_waiters();
        true
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read(),
            changed: false,
        }
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone. Cancel-safe.
    pub async fn closed(&self) {
        crate::util::cooperative(async {
            loop {
                let notified = self.shared.notify_tx.notified_unbudgeted();
                if self.is_closed() {
                    return;
                }
                notified.await;
            }
        })
        .await
    }

    /// A new receiver; the current value counts as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.fetch_add(1, Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.shared.state.load(Acquire) & !CLOSED,
        }
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.load(Acquire)
    }

    /// Number of live senders.
    pub fn sender_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender of the same channel (tokio 1.37's multi-sender watch); the
    /// channel closes when the last sender is dropped.
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        self.shared.state.fetch_or(CLOSED, SeqCst);
        self.shared.notify_rx.notify_waiters();
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}
