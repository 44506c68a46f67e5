//! `Notify`: wake one waiting task (storing a permit if none waits) or all of them.
//!
//! # State word (`state: AtomicUsize`)
//!
//! ```text
//!  bits 0-1   EMPTY (0)     no waiter, no stored permit
//!             WAITING (1)   the waiter list is non-empty (set/cleared under the lock)
//!             NOTIFIED (2)  a `notify_one` permit is stored for the next waiter
//!  bits 2..   number of `notify_waiters` calls so far (wrapping); changed under the lock
//! ```
//!
//! Lock-free transitions: `notify_one` does EMPTY/NOTIFIED -> NOTIFIED; a first poll
//! consumes NOTIFIED -> EMPTY. Everything involving the waiter list (WAITING <-> other,
//! the call counter) happens with the list lock held, so under the lock the word can
//! only move between EMPTY and NOTIFIED.
//!
//! # Waiter node
//!
//! A [`Notified`] future embeds its node: links, a waker (under the lock), the call
//! counter value when it was queued (`epoch`), and `notification` (atomic):
//! NONE, ONE (`notify_one` picked this node) or ALL (`notify_waiters`). The notifier
//! unlinks the node, takes its waker, and writes `notification` last, so the owner may
//! complete (and free the node) as soon as it reads a non-NONE value, without the lock.
//!
//! A `Notified` observes every `notify_waiters` call made after it was *created* (not
//! first polled): it records the call counter on creation and completes on first poll if
//! the counter moved. A dropped `Notified` that had been handed a `notify_one` but never
//! returned `Ready` passes the notification on to the next waiter (or stores it), so no
//! wakeup is lost.
//!
//! The design follows the one tokio documents for its `Notify` (state word plus intrusive
//! list); the code and the epoch-based `notify_waiters` batching are our own.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::util::linked_list::{Link, LinkedList, Pointers};
use crate::util::wake_list::WakeList;
use magpie_base::coop;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const LOW: usize = 0b11;
const CALL: usize = 0b100;

const NONE: usize = 0;
const ONE: usize = 1;
const ALL: usize = 2;

fn low(s: usize) -> usize {
    s & LOW
}

fn with_low(s: usize, l: usize) -> usize {
    (s & !LOW) | l
}

/// Notifies tasks: a building block for other primitives (it is how [`Event`](crate::Event),
/// [`watch`](crate::watch) and `Sender::closed` wait).
///
/// * [`notify_one`](Notify::notify_one) wakes the longest-waiting task, or, if none is
///   waiting, stores one permit so that the next `notified().await` completes at once.
/// * [`notify_waiters`](Notify::notify_waiters) wakes every task waiting now (every
///   `Notified` created before the call), and stores nothing.
///
/// # Examples
///
/// ```
/// use magpie_sync::Notify;
/// # magpie_sync::__block_on(async {
/// let notify = Notify::new();
/// notify.notify_one(); // stored as a permit
/// notify.notified().await; // consumes it
/// # });
/// ```
pub struct Notify {
    state: AtomicUsize,
    waiters: Mutex<LinkedList<Waiter>>,
}

struct Waiter {
    ptrs: Pointers<Waiter>,
    waker: UnsafeCell<Option<Waker>>,
    notification: AtomicUsize,
    /// The state's call counter bits when the node was queued (under the lock).
    epoch: AtomicUsize,
}

// SAFETY: `waker` and `ptrs` are accessed only under the list lock; the rest is atomic.
unsafe impl Sync for Waiter {}

// A panic while a `Notify` is in use leaves no broken invariant behind: every state
// change is one atomic step or is completed under the list lock (tokio's `Notify` is
// unwind-safe too).
impl std::panic::UnwindSafe for Notify {}
impl std::panic::RefUnwindSafe for Notify {}

// SAFETY: `ptrs` is a field of the node.
unsafe impl Link for Waiter {
    unsafe fn pointers(node: NonNull<Self>) -> NonNull<Pointers<Self>> {
        // SAFETY: the caller guarantees `node` is live.
        unsafe { NonNull::from(&(*node.as_ptr()).ptrs) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Init,
    Waiting,
    Done,
}

/// Future of [`Notify::notified`].
///
/// Cancel-safe: dropping it loses no wakeup (a `notify_one` it had been handed is passed
/// on).
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    inner: Inner<&'a Notify>,
}

/// Future of [`Notify::notified_owned`]: a [`Notified`] that owns an `Arc<Notify>`, so
/// it is `'static` (it can be stored, or moved into a spawned task). Cancel-safe as
/// `Notified`.
#[must_use = "futures do nothing unless polled"]
pub struct OwnedNotified {
    inner: Inner<Arc<Notify>>,
}

/// The waiting future behind [`Notified`] and [`OwnedNotified`], generic over how it
/// holds the `Notify`.
struct Inner<N: Deref<Target = Notify>> {
    notify: N,
    state: State,
    /// Call counter bits when the future was created.
    captured: usize,
    /// Spends the cooperative budget (public futures do; internal users wrap the whole
    /// operation instead, see `util::cooperative`).
    budgeted: bool,
    /// Whether the queued node holds a waker (owner-local: notifiers take the waker
    /// only when they complete the node). A poll of a node queued by `enable` without
    /// one clones the waker before taking the lock, so it locks once.
    waker_stored: bool,
    node: Waiter,
}

impl Notify {
    /// Creates a `Notify` with no stored permit.
    pub fn new() -> Self {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(LinkedList::new()),
        }
    }

    /// Creates a `Notify` in a `const` context (for `static`s).
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(LinkedList::new()),
        }
    }

    /// A future that completes when this `Notify` is notified.
    ///
    /// It receives every [`notify_waiters`](Notify::notify_waiters) call made after this
    /// method returns, even before it is first polled; a `notify_one` reaches it only once
    /// it is queued (first poll or [`Notified::enable`]) or as a stored permit.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            inner: Inner::new(self, true),
        }
    }

    /// Like [`notified`](Notify::notified), for an `Arc<Notify>`: the future owns the
    /// `Arc` and so is `'static`.
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified {
            inner: Inner::new(self, true),
        }
    }

    /// A `Notified` that does not spend the budget (for primitives that spend it once
    /// for their whole operation).
    pub(crate) fn notified_unbudgeted(&self) -> Notified<'_> {
        Notified {
            inner: Inner::new(self, false),
        }
    }

    /// Wakes the longest-waiting task, or stores a permit for the next one if none waits
    /// (at most one permit is stored).
    pub fn notify_one(&self) {
        let mut cur = self.state.load(SeqCst);
        while low(cur) != WAITING {
            match self
                .state
                .compare_exchange(cur, with_low(cur, NOTIFIED), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        let mut guard = self.waiters.lock();
        let waker = self.notify_one_locked(&mut guard);
        drop(guard);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes the longest-waiting task if one is queued; stores nothing otherwise (the
    /// `notify_one` of a condition variable).
    pub(crate) fn notify_one_waiter(&self) {
        if low(self.state.load(SeqCst)) != WAITING {
            return;
        }
        let mut guard = self.waiters.lock();
        // WAITING only changes under the lock.
        if low(self.state.load(SeqCst)) != WAITING {
            return;
        }
        let waker = self.notify_one_locked(&mut guard);
        drop(guard);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn notify_one_locked(&self, list: &mut MutexGuard<'_, LinkedList<Waiter>>) -> Option<Waker> {
        let mut cur = self.state.load(SeqCst);
        loop {
            if low(cur) != WAITING {
                match self
                    .state
                    .compare_exchange(cur, with_low(cur, NOTIFIED), SeqCst, SeqCst)
                {
                    Ok(_) => return None,
                    Err(actual) => {
                        cur = actual;
                        continue;
                    }
                }
            }
            let node = list.pop_front().expect("WAITING with an empty list");
            if list.is_empty() {
                // Under the lock the word is stable while WAITING.
                self.state.store(with_low(cur, EMPTY), SeqCst);
            }
            // SAFETY: the node was linked, so it is live; the lock is held.
            let w = unsafe { node.as_ref() };
            // SAFETY: lock held.
            let waker = w.waker.with_mut(|p| unsafe { (*p).take() });
            // Last access: the owner may free the node once it sees this.
            w.notification.store(ONE, Release);
            return waker;
        }
    }

    /// Wakes every task waiting now: every [`Notified`] created before this call. Stores
    /// no permit.
    pub fn notify_waiters(&self) {
        let mut guard = self.waiters.lock();
        let prev = self.state.fetch_add(CALL, SeqCst);
        let stop = prev.wrapping_add(CALL) & !LOW;
        let mut wakers = WakeList::new();
        loop {
            let mut more = false;
            while let Some(front) = guard.front() {
                // SAFETY: linked, hence live; lock held.
                let w = unsafe { front.as_ref() };
                if w.epoch.load(Relaxed) == stop {
                    break;
                }
                if !wakers.can_push() {
                    more = true;
                    break;
                }
                guard.pop_front();
                // SAFETY: lock held.
                let waker = w.waker.with_mut(|p| unsafe { (*p).take() });
                w.notification.store(ALL, Release);
                wakers.push(waker);
            }
            if guard.is_empty() {
                let cur = self.state.load(SeqCst);
                if low(cur) == WAITING {
                    self.state.store(with_low(cur, EMPTY), SeqCst);
                }
            }
            drop(guard);
            wakers.wake_all();
            if !more {
                return;
            }
            guard = self.waiters.lock();
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        f.debug_struct("Notify")
            .field("permit", &(low(s) == NOTIFIED))
            .field("waiting", &(low(s) == WAITING))
            .finish()
    }
}

impl<N: Deref<Target = Notify>> Inner<N> {
    fn new(notify: N, budgeted: bool) -> Self {
        let s = notify.state.load(SeqCst);
        Inner {
            notify,
            state: State::Init,
            captured: s & !LOW,
            budgeted,
            waker_stored: false,
            node: Waiter {
                ptrs: Pointers::new(),
                waker: UnsafeCell::new(None),
                notification: AtomicUsize::new(NONE),
                epoch: AtomicUsize::new(0),
            },
        }
    }

    #[allow(clippy::type_complexity)]
    fn project(self: Pin<&mut Self>) -> (&Notify, &mut State, usize, &Waiter, &mut bool) {
        // SAFETY: `node` is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        (
            &this.notify,
            &mut this.state,
            this.captured,
            &this.node,
            &mut this.waker_stored,
        )
    }

    fn enable(self: Pin<&mut Self>) -> bool {
        self.poll_notified(None).is_ready()
    }

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.budgeted {
            return self.poll_notified(Some(cx.waker()));
        }
        let mut coop = ready!(coop::poll_proceed(cx));
        ready!(self.poll_notified(Some(cx.waker())));
        coop.made_progress();
        Poll::Ready(())
    }

    /// Consumes a stored permit or a `notify_waiters` call seen since creation.
    fn try_complete_lock_free(notify: &Notify, captured: usize) -> bool {
        let mut cur = notify.state.load(SeqCst);
        loop {
            if cur & !LOW != captured {
                return true;
            }
            if low(cur) != NOTIFIED {
                return false;
            }
            match notify
                .state
                .compare_exchange(cur, with_low(cur, EMPTY), SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    fn poll_notified(self: Pin<&mut Self>, waker: Option<&Waker>) -> Poll<()> {
        let (notify, state, captured, node, stored) = self.project();
        let res = match *state {
            State::Done => Poll::Ready(()),
            State::Init => {
                *stored = waker.is_some();
                Self::poll_first(notify, state, captured, node, waker)
            }
            State::Waiting => Self::poll_waiting(notify, node, waker, stored),
        };
        if res.is_ready() {
            *state = State::Done;
        }
        res
    }

    fn poll_first(
        notify: &Notify,
        state: &mut State,
        captured: usize,
        node: &Waiter,
        waker: Option<&Waker>,
    ) -> Poll<()> {
        if Self::try_complete_lock_free(notify, captured) {
            return Poll::Ready(());
        }
        // Cloned before the lock (a user waker's clone or drop never runs under it);
        // declared before the guard, so an unused clone is dropped after the unlock.
        let waker = waker.cloned();
        let mut guard = notify.waiters.lock();
        let mut cur = notify.state.load(SeqCst);
        loop {
            if cur & !LOW != captured {
                return Poll::Ready(());
            }
            let next = match low(cur) {
                NOTIFIED => with_low(cur, EMPTY),
                EMPTY => with_low(cur, WAITING),
                _ => break,
            };
            match notify.state.compare_exchange(cur, next, SeqCst, SeqCst) {
                Ok(_) if low(cur) == NOTIFIED => return Poll::Ready(()),
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        node.epoch.store(captured, Relaxed);
        // SAFETY: not linked yet; lock held.
        node.waker.with_mut(|p| unsafe { *p = waker });
        // SAFETY: the node lives in this pinned future, whose `Drop` unlinks it under
        // the lock before it is freed.
        unsafe { guard.push_back(NonNull::from(node)) };
        *state = State::Waiting;
        Poll::Pending
    }

    /// A queued future polled again: done, or the stored waker is updated (the new one
    /// cloned, and the old one dropped, outside the lock).
    fn poll_waiting(
        notify: &Notify,
        node: &Waiter,
        waker: Option<&Waker>,
        stored: &mut bool,
    ) -> Poll<()> {
        let notified = || node.notification.load(Acquire) != NONE;
        if notified() {
            return Poll::Ready(());
        }
        let Some(waker) = waker else {
            return Poll::Pending;
        };
        if *stored {
            let _guard = notify.waiters.lock();
            if notified() {
                return Poll::Ready(());
            }
            // SAFETY: lock held.
            let same = node
                .waker
                .with(|p| unsafe { matches!(&*p, Some(w) if w.will_wake(waker)) });
            if same {
                return Poll::Pending;
            }
        }
        let new = waker.clone();
        let guard = notify.waiters.lock();
        if notified() {
            drop(guard);
            return Poll::Ready(());
        }
        // SAFETY: lock held.
        let old = node.waker.with_mut(|p| unsafe { (*p).replace(new) });
        *stored = true;
        drop(guard);
        drop(old);
        Poll::Pending
    }
}

impl<'a> Notified<'a> {
    fn inner(self: Pin<&mut Self>) -> Pin<&mut Inner<&'a Notify>> {
        // SAFETY: `inner` is structurally pinned: never moved out of the pinned future.
        unsafe { self.map_unchecked_mut(|s| &mut s.inner) }
    }

    /// Queues this future now, without waiting to be polled, so that it can receive a
    /// `notify_one` from this point on. Returns `true` if it is already notified (the
    /// next poll returns `Ready`).
    ///
    /// Useful to close the gap between checking a condition and awaiting: enable, check,
    /// then await.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.inner().enable()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner().poll(cx)
    }
}

impl OwnedNotified {
    fn inner(self: Pin<&mut Self>) -> Pin<&mut Inner<Arc<Notify>>> {
        // SAFETY: `inner` is structurally pinned: never moved out of the pinned future.
        unsafe { self.map_unchecked_mut(|s| &mut s.inner) }
    }

    /// Queues this future now; see [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.inner().enable()
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner().poll(cx)
    }
}

impl<N: Deref<Target = Notify>> Drop for Inner<N> {
    fn drop(&mut self) {
        if self.state != State::Waiting {
            return;
        }
        let notify = &*self.notify;
        let mut guard = notify.waiters.lock();
        match self.node.notification.load(Acquire) {
            NONE => {
                // SAFETY: NONE under the lock means the node is still linked.
                let removed = unsafe { guard.remove(NonNull::from(&self.node)) };
                debug_assert!(removed);
                if guard.is_empty() {
                    let cur = notify.state.load(SeqCst);
                    if low(cur) == WAITING {
                        notify.state.store(with_low(cur, EMPTY), SeqCst);
                    }
                }
                // Taken now, dropped after the unlock.
                // SAFETY: lock held (the node is unlinked, nobody else reaches it).
                let waker = self.node.waker.with_mut(|p| unsafe { (*p).take() });
                drop(guard);
                drop(waker);
            }
            ONE => {
                // We were handed a `notify_one` but never returned Ready: pass it on.
                let waker = notify.notify_one_locked(&mut guard);
                drop(guard);
                if let Some(w) = waker {
                    w.wake();
                }
            }
            _ => {}
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.inner.state)
            .finish()
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified")
            .field("state", &self.inner.state)
            .finish()
    }
}
