//! The semaphore core shared by [`Semaphore`](crate::Semaphore), [`Mutex`](crate::Mutex),
//! [`RwLock`](crate::RwLock) and the bounded [`mpsc`](crate::mpsc) channel.
//!
//! A fair (FIFO) counting semaphore: an atomic word for the uncontended path and an
//! intrusive queue of waiters, behind a short lock, for the contended one. An
//! acquisition of `n` permits can be satisfied in several pieces: released permits are
//! assigned to the queue's head waiter first, so a large request at the head is never
//! starved by a stream of small ones (the "batch semaphore" idea of tokio; our own code).
//!
//! # State word (`state: AtomicUsize`)
//!
//! ```text
//!  bit 0       CLOSED   set once by `close`, never cleared
//!  bit 1       WAITERS  the waiter queue is non-empty; set and cleared only with the
//!                       queue lock held
//!  bits 2..    available permits (at most MAX_PERMITS)
//! ```
//!
//! Invariant: `WAITERS` set implies zero available permits. Permits released while
//! waiters exist go to the waiters (under the lock), and the bit is cleared in the same
//! atomic step that deposits any leftover permits. So the lock-free fast paths are:
//!
//! * acquire: `CAS(state, state - n)` when `!CLOSED && !WAITERS && available >= n`;
//! * release: `CAS(state, state + n)` when `!WAITERS`.
//!
//! Everything else takes the lock. An acquirer that cannot be satisfied takes all the
//! available permits (under the lock, in the same CAS that sets `WAITERS`) and queues a
//! node asking for the rest.
//!
//! # Waiter node (`remaining: AtomicUsize`)
//!
//! ```text
//!  k > 0        queued, still needs k permits (written under the lock)
//!  0            granted in full and unlinked; written last, after the waker was taken,
//!               so the owning future may be freed as soon as it reads 0
//!  NODE_CLOSED  unlinked by `close`; its partial permits were returned by the closer
//! ```
//!
//! The owner reads `remaining` without the lock to complete; it takes the lock to
//! re-register its waker or to unlink itself on drop. A dropped future hands back what
//! it had been assigned (all of it if it was granted but never observed the grant), so
//! cancellation loses no permit.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::util::linked_list::{Link, LinkedList, Pointers};
use crate::util::wake_list::WakeList;
use magpie_base::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker, ready};

const CLOSED: usize = 0b01;
const WAITERS: usize = 0b10;
const SHIFT: usize = 2;
const NODE_CLOSED: usize = usize::MAX;

/// The semaphore core. See the module documentation.
pub(crate) struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<LinkedList<Waiter>>,
}

/// Why a `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    Closed,
    NoPermits,
}

/// The semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcquireError;

/// Outcome of [`Semaphore::take`].
enum Take {
    Acquired,
    /// Queued (WAITERS set); this many permits are still needed.
    Queued(usize),
    Closed,
    NoPermits,
}

struct Waiter {
    ptrs: Pointers<Waiter>,
    /// Accessed only with the queue lock held.
    waker: UnsafeCell<Option<Waker>>,
    remaining: AtomicUsize,
    /// Permits asked for; written before the node is linked, read by `close`.
    requested: AtomicUsize,
}

// SAFETY: `waker` and `ptrs` are only touched under the queue lock; `remaining` is atomic.
unsafe impl Sync for Waiter {}

// SAFETY: `ptrs` is a field of `Waiter`, so the pointer stays inside the node.
unsafe impl Link for Waiter {
    unsafe fn pointers(node: NonNull<Self>) -> NonNull<Pointers<Self>> {
        // SAFETY: the caller guarantees `node` is live.
        unsafe { NonNull::from(&(*node.as_ptr()).ptrs) }
    }
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

    #[track_caller]
    pub(crate) fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most {} permits",
            Self::MAX_PERMITS
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(LinkedList::new()),
        }
    }

    /// A semaphore usable in `static`s (not available under loom).
    #[cfg(not(loom))]
    pub(crate) const fn const_new(permits: usize) -> Self {
        assert!(permits <= Self::MAX_PERMITS);
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(LinkedList::new()),
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.state.load(Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Acquire) & CLOSED != 0
    }

    /// Takes `n` permits now, or fails. Never barges past queued waiters.
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        match self.take(n, false) {
            Take::Acquired => Ok(()),
            Take::Closed => Err(TryAcquireError::Closed),
            Take::NoPermits | Take::Queued(_) => Err(TryAcquireError::NoPermits),
        }
    }

    /// The one acquire step, a CAS loop on the state word. Takes `n` permits if no
    /// waiter is queued and enough are available. Otherwise, with `queue` (the caller
    /// holds the queue lock and will link a node), takes every available permit in the
    /// same CAS that sets WAITERS and returns how many are still needed.
    #[inline]
    fn take(&self, n: usize, queue: bool) -> Take {
        let mut cur = self.state.load(Acquire);
        loop {
            if cur & CLOSED != 0 {
                return Take::Closed;
            }
            let avail = cur >> SHIFT;
            let (next, res) = if cur & WAITERS == 0 && avail >= n {
                (cur - (n << SHIFT), Take::Acquired)
            } else if queue {
                // WAITERS implies avail == 0, so this takes all that is there.
                (WAITERS, Take::Queued(n - avail))
            } else {
                return Take::NoPermits;
            };
            match self.state.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return res,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Removes up to `n` available permits (also from a closed semaphore); returns how
    /// many were removed.
    pub(crate) fn forget(&self, n: usize) -> usize {
        let mut cur = self.state.load(Acquire);
        loop {
            let take = n.min(cur >> SHIFT);
            if take == 0 {
                return 0;
            }
            match self
                .state
                .compare_exchange_weak(cur, cur - (take << SHIFT), AcqRel, Acquire)
            {
                Ok(_) => return take,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Waits for `n` permits.
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            node: Waiter {
                ptrs: Pointers::new(),
                waker: UnsafeCell::new(None),
                remaining: AtomicUsize::new(0),
                requested: AtomicUsize::new(n),
            },
            num: n,
            state: AcqState::Init,
        }
    }

    /// Returns `n` permits, handing them to queued waiters first. The first CAS with
    /// nobody queued is inlined (a bounded mpsc receive releases one permit per message).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let cur = self.state.load(Acquire);
        if cur & WAITERS == 0
            && self
                .state
                .compare_exchange_weak(cur, Self::add(cur, n), AcqRel, Acquire)
                .is_ok()
        {
            return;
        }
        self.release_slow(n);
    }

    /// `release` after its first attempt failed: the CAS loop, or the queue.
    #[inline(never)]
    fn release_slow(&self, n: usize) {
        let mut cur = self.state.load(Acquire);
        while cur & WAITERS == 0 {
            let next = Self::add(cur, n);
            match self.state.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        let guard = self.waiters.lock();
        self.release_locked(n, guard);
    }

    #[inline]
    fn add(cur: usize, n: usize) -> usize {
        let avail = cur >> SHIFT;
        assert!(
            n <= Self::MAX_PERMITS - avail,
            "a semaphore holds at most {} permits",
            Self::MAX_PERMITS
        );
        cur + (n << SHIFT)
    }

    /// Distributes `n` permits to the queue (head first), depositing the rest.
    fn release_locked<'a>(
        &'a self,
        n: usize,
        mut guard: crate::loom::sync::MutexGuard<'a, LinkedList<Waiter>>,
    ) {
        let mut rem = n;
        let mut wakers = WakeList::new();
        loop {
            while rem > 0 && wakers.can_push() {
                let Some(node) = guard.front() else { break };
                // SAFETY: linked nodes are live; we hold the lock.
                let w = unsafe { node.as_ref() };
                let need = w.remaining.load(Relaxed);
                if need > rem {
                    w.remaining.store(need - rem, Release);
                    rem = 0;
                    break;
                }
                rem -= need;
                guard.pop_front();
                // SAFETY: we hold the lock, which guards the waker cell.
                let waker = w.waker.with_mut(|p| unsafe { (*p).take() });
                // Last access to the node: its owner may free it once it reads 0.
                w.remaining.store(0, Release);
                wakers.push(waker);
            }
            if guard.is_empty() {
                let mut cur = self.state.load(Acquire);
                loop {
                    let next = Self::add(cur & !WAITERS, rem);
                    match self.state.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                        Ok(_) => break,
                        Err(actual) => cur = actual,
                    }
                }
                rem = 0;
            }
            drop(guard);
            wakers.wake_all();
            if rem == 0 {
                return;
            }
            guard = self.waiters.lock();
        }
    }

    /// Closes the semaphore: fails every queued and future acquisition.
    pub(crate) fn close(&self) {
        let mut guard = self.waiters.lock();
        self.state.fetch_or(CLOSED, AcqRel);
        let mut wakers = WakeList::new();
        let mut returned = 0;
        loop {
            while wakers.can_push() {
                let Some(node) = guard.pop_front() else { break };
                // SAFETY: the node was linked, hence live; we hold the lock.
                let w = unsafe { node.as_ref() };
                // Return what had been assigned to the node so far.
                let need = w.remaining.load(Relaxed);
                returned += w.requested.load(Relaxed) - need;
                // SAFETY: lock held.
                let waker = w.waker.with_mut(|p| unsafe { (*p).take() });
                w.remaining.store(NODE_CLOSED, Release);
                wakers.push(waker);
            }
            if guard.is_empty() {
                let mut cur = self.state.load(Acquire);
                loop {
                    let next = Self::add(cur & !WAITERS, returned);
                    match self.state.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                        Ok(_) => break,
                        Err(actual) => cur = actual,
                    }
                }
                drop(guard);
                wakers.wake_all();
                return;
            }
            drop(guard);
            wakers.wake_all();
            guard = self.waiters.lock();
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        f.debug_struct("Semaphore")
            .field("permits", &(s >> SHIFT))
            .field("closed", &(s & CLOSED != 0))
            .field("waiters", &(s & WAITERS != 0))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcqState {
    Init,
    Queued,
    /// Completed on the first poll (the lock-free or the locked attempt).
    Done,
    /// Completed after waiting in the queue.
    DoneQueued,
}

/// Future of [`Semaphore::acquire`]: resolves once `num` permits are held by the caller.
///
/// Cancel-safe in the sense that matters: dropping it never loses permits (it returns
/// what it was assigned); it does lose its place in the queue.
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    node: Waiter,
    num: usize,
    state: AcqState,
}

impl Acquire<'_> {
    fn project(self: Pin<&mut Self>) -> (&Semaphore, &Waiter, usize, &mut AcqState) {
        // SAFETY: we never move `node` out of the pinned future; the other fields are
        // not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        (this.sem, &this.node, this.num, &mut this.state)
    }

    /// The first poll's lock-free attempt, inlined into `poll`: `None` when the caller
    /// must go on to the locked path (`poll_inner`).
    #[inline]
    fn poll_fast(
        sem: &Semaphore,
        num: usize,
        state: &mut AcqState,
    ) -> Option<Result<(), AcquireError>> {
        if *state != AcqState::Init || num == 0 {
            return None;
        }
        let res = match sem.take(num, false) {
            Take::Acquired => Ok(()),
            Take::Closed => Err(AcquireError),
            Take::NoPermits | Take::Queued(_) => return None,
        };
        *state = AcqState::Done;
        Some(res)
    }

    #[inline(never)]
    fn poll_inner(
        sem: &Semaphore,
        node: &Waiter,
        num: usize,
        state: &mut AcqState,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let res = match *state {
            AcqState::Init => Self::poll_first(sem, node, num, state, cx),
            AcqState::Queued => Self::poll_queued(sem, node, cx),
            AcqState::Done | AcqState::DoneQueued => panic!("Acquire polled after completion"),
        };
        if res.is_ready() {
            *state = match *state {
                AcqState::Queued => AcqState::DoneQueued,
                _ => AcqState::Done,
            };
        }
        res
    }

    /// First poll: the lock-free attempt, then (under the lock) take what is there and
    /// queue the node for the rest.
    fn poll_first(
        sem: &Semaphore,
        node: &Waiter,
        num: usize,
        state: &mut AcqState,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if num == 0 {
            return Poll::Ready(if sem.is_closed() {
                Err(AcquireError)
            } else {
                Ok(())
            });
        }
        match sem.take(num, false) {
            Take::Acquired => return Poll::Ready(Ok(())),
            Take::Closed => return Poll::Ready(Err(AcquireError)),
            Take::NoPermits | Take::Queued(_) => {}
        }
        assert!(
            num <= Semaphore::MAX_PERMITS,
            "cannot acquire more than MAX_PERMITS"
        );
        // Cloned before the lock: a user waker's clone (or drop) never runs under it.
        // Declared before the guard, so an unused clone is dropped after the unlock.
        let waker = cx.waker().clone();
        let mut guard = sem.waiters.lock();
        match sem.take(num, true) {
            Take::Acquired => Poll::Ready(Ok(())),
            Take::Closed | Take::NoPermits => Poll::Ready(Err(AcquireError)),
            Take::Queued(rem) => {
                node.remaining.store(rem, Relaxed);
                // SAFETY: the node is not linked yet; the lock is held.
                node.waker.with_mut(|p| unsafe { *p = Some(waker) });
                // SAFETY: the node lives in a pinned future whose `Drop` unlinks it
                // (under this lock) before it is freed.
                unsafe { guard.push_back(NonNull::from(node)) };
                *state = AcqState::Queued;
                Poll::Pending
            }
        }
    }

    /// The node's outcome, if it has one (readable without the lock).
    fn outcome(node: &Waiter) -> Option<Result<(), AcquireError>> {
        match node.remaining.load(Acquire) {
            0 => Some(Ok(())),
            NODE_CLOSED => Some(Err(AcquireError)),
            _ => None,
        }
    }

    /// Later polls: completed, or still queued (then the stored waker is updated; a new
    /// one is cloned, and the old one dropped, outside the lock).
    fn poll_queued(
        sem: &Semaphore,
        node: &Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if let Some(res) = Self::outcome(node) {
            return Poll::Ready(res);
        }
        {
            let _guard = sem.waiters.lock();
            if let Some(res) = Self::outcome(node) {
                return Poll::Ready(res);
            }
            // SAFETY: the lock is held.
            let same = node
                .waker
                .with(|p| unsafe { matches!(&*p, Some(w) if w.will_wake(cx.waker())) });
            if same {
                return Poll::Pending;
            }
        }
        let new = cx.waker().clone();
        let guard = sem.waiters.lock();
        if let Some(res) = Self::outcome(node) {
            drop(guard);
            return Poll::Ready(res);
        }
        // SAFETY: the lock is held.
        let old = node.waker.with_mut(|p| unsafe { (*p).replace(new) });
        drop(guard);
        drop(old);
        Poll::Pending
    }
}

impl Acquire<'_> {
    /// Whether it completed after waiting in the queue (rather than at its first poll,
    /// whose CAS also checked that the semaphore was open).
    #[inline]
    pub(crate) fn waited(&self) -> bool {
        self.state == AcqState::DoneQueued
    }

    /// The number of permits it asks for.
    pub(crate) fn permits(&self) -> usize {
        self.num
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut coop = ready!(coop::poll_proceed(cx));
        let (sem, node, num, state) = self.project();
        let res = match Self::poll_fast(sem, num, state) {
            Some(res) => res,
            None => ready!(Self::poll_inner(sem, node, num, state, cx)),
        };
        coop.made_progress();
        Poll::Ready(res)
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.state == AcqState::Queued {
            self.drop_queued();
        }
    }
}

impl Acquire<'_> {
    /// `Drop` of a future still in (or just granted from) the queue.
    #[inline(never)]
    fn drop_queued(&mut self) {
        let mut guard = self.sem.waiters.lock();
        let rem = self.node.remaining.load(Acquire);
        match rem {
            NODE_CLOSED => {}
            0 => {
                // Granted in full but never observed: give it all back.
                self.sem.release_locked(self.num, guard);
            }
            _ => {
                // SAFETY: `rem > 0` under the lock means the node is still linked.
                let removed = unsafe { guard.remove(NonNull::from(&self.node)) };
                debug_assert!(removed);
                if guard.is_empty() {
                    self.sem.state.fetch_and(!WAITERS, AcqRel);
                }
                let assigned = self.num - rem;
                if assigned > 0 {
                    self.sem.release_locked(assigned, guard);
                }
            }
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("num", &self.num)
            .field("state", &self.state)
            .finish()
    }
}
