//! `FutureSet`: a set of futures polled through a ready queue, so that the cost of a
//! poll is proportional to the children that were woken, not to the size of the set.
//!
//! # Design
//!
//! Every child gets its **own waker**: a [`ChildWaker`], an `Arc` holding the child's
//! slot index, a `queued` flag and a pointer to the set's [`Shared`] ready queue. Waking
//! a child pushes its index onto the shared ready list (once, thanks to `queued`) and
//! wakes the parent task. Polling the set drains the ready list and polls only those
//! children. Gathering `n` futures that complete one at a time therefore costs `O(n)`
//! child polls in total, where re-polling every child on every wake would cost `O(n²)`.
//!
//! ```text
//!  child waker ──wake──▶ queued.swap(true)? ──no──▶ lock { ready.push(i); take parent }
//!                                                    └──▶ parent.wake()
//!  parent poll ──▶ lock { swap(ready, local) } ──▶ for i in local:
//!                        queued[i].swap(false); poll child i with child waker i
//! ```
//!
//! ## State
//!
//! * `ChildWaker::queued: AtomicBool`: `true` while the index is in a ready list (the
//!   shared one or the parent's local batch) and the child has not yet been polled.
//!   A wake that finds it `true` does nothing: the poll it asks for is already due.
//!   The parent clears it with `swap(false, AcqRel)` *before* polling the child, so a
//!   wake that arrives during or after that poll queues the child again, and a wake
//!   that arrived before it synchronises with the parent (its `swap(true, AcqRel)` is
//!   read by the parent's swap), so the poll observes what the waker published.
//! * `Shared::inner: Mutex<Inner>`: the ready list and the parent's waker. The parent
//!   registers its waker only while holding the lock *and* finding the list empty; a
//!   waker pushes under the same lock and takes the registered waker, so either the
//!   parent sees the push or the push sees the parent's waker (no lost wake-up). A
//!   parent waker is taken by the first push and re-registered at the next empty poll,
//!   so a burst of child wakes wakes the parent once.
//!
//! Slots are reused after removal; a stale waker of a removed child may push an index
//! that now belongs to a new child, which only costs that child one spurious poll
//! (futures tolerate spurious polls), or an index of an empty slot, which is skipped.
//!
//! A parent poll polls at most as many children as the set held when it started, then
//! yields (waking itself) when more are ready, so a child that wakes itself on every
//! poll cannot trap the parent in a loop.
//!
//! The loom model is `loom-tests/tests/asyncio_ready_queue.rs`.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering::AcqRel};
use magpie_base::coop;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Inner {
    ready: Vec<usize>,
    parent: Option<Waker>,
}

/// The ready queue shared by a set and its child wakers.
struct Shared {
    inner: Mutex<Inner>,
}

/// The waker of one child.
struct ChildWaker {
    index: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, AcqRel) {
            return;
        }
        let parent = {
            let mut inner = self.shared.inner.lock();
            inner.ready.push(self.index);
            inner.parent.take()
        };
        if let Some(w) = parent {
            w.wake();
        }
    }
}

struct Slot<F> {
    fut: Option<Pin<Box<F>>>,
    waker: Arc<ChildWaker>,
}

/// A set of futures polled through a per-child ready queue (see the module docs).
///
/// Not part of the public API; used by `gather_all`, `as_completed`, `wait` and the
/// runtime's `JoinSet`.
#[doc(hidden)]
pub struct FutureSet<F> {
    slots: Vec<Slot<F>>,
    free: Vec<usize>,
    len: usize,
    /// Indices taken from the shared list, not yet polled.
    local: Vec<usize>,
    /// Position in `local` of the next index to poll.
    pos: usize,
    shared: Arc<Shared>,
}

impl<F> Default for FutureSet<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> FutureSet<F> {
    /// An empty set.
    pub fn new() -> Self {
        FutureSet {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            local: Vec::new(),
            pos: 0,
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    ready: Vec::new(),
                    parent: None,
                }),
            }),
        }
    }

    /// An empty set with room for `n` futures.
    pub fn with_capacity(n: usize) -> Self {
        let mut set = Self::new();
        set.slots.reserve(n);
        set.local.reserve(n);
        set
    }

    /// How many futures the set holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no future.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a future, returning its index (stable until it completes or is removed).
    /// The new future is polled at the next `poll_next`.
    pub fn push(&mut self, fut: F) -> usize {
        let fut = Some(Box::pin(fut));
        let index = match self.free.pop() {
            Some(i) => i,
            None => self.slots.len(),
        };
        let waker = Arc::new(ChildWaker {
            index,
            queued: AtomicBool::new(true),
            shared: self.shared.clone(),
        });
        if index == self.slots.len() {
            self.slots.push(Slot { fut, waker });
        } else {
            self.slots[index] = Slot { fut, waker };
        }
        self.len += 1;
        // The parent owns the set, so it is the one that polls next: put the index in
        // its local batch directly.
        self.local.push(index);
        index
    }

    /// The future at `index`, if it is still in the set.
    pub fn get_mut(&mut self, index: usize) -> Option<Pin<&mut F>> {
        self.slots.get_mut(index)?.fut.as_mut().map(|f| f.as_mut())
    }

    /// Iterates over the futures still in the set, with their indices.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &F)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.fut.as_ref().map(|f| (i, &**f)))
    }

    /// Removes and returns the future at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Pin<Box<F>>> {
        let fut = self.slots.get_mut(index)?.fut.take()?;
        self.len -= 1;
        self.free.push(index);
        Some(fut)
    }

    /// Removes every future, returning them in index order (input order for a set
    /// filled by `push` without removals).
    pub fn drain(&mut self) -> Vec<Pin<Box<F>>> {
        let out: Vec<_> = self.slots.iter_mut().filter_map(|s| s.fut.take()).collect();
        self.slots.clear();
        self.free.clear();
        self.local.clear();
        self.pos = 0;
        self.len = 0;
        // Queued indices are stale now (late wakes may still add some: they are skipped).
        self.shared.inner.lock().ready.clear();
        out
    }

    /// The next index to poll, or `None` after registering `cx`'s waker.
    fn next_ready(&mut self, cx: &mut Context<'_>) -> Option<usize> {
        if self.pos == self.local.len() {
            self.local.clear();
            self.pos = 0;
            let mut inner = self.shared.inner.lock();
            if inner.ready.is_empty() {
                match &inner.parent {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => inner.parent = Some(cx.waker().clone()),
                }
                return None;
            }
            mem::swap(&mut inner.ready, &mut self.local);
        }
        let i = self.local[self.pos];
        self.pos += 1;
        Some(i)
    }
}

impl<F: Future> FutureSet<F> {
    /// Polls the woken children until one completes, returning its index and output
    /// (the child is removed and dropped). `Ready(None)` when the set is empty.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        let limit = self.len;
        let mut polled = 0;
        while let Some(index) = self.next_ready(cx) {
            // A stale index (its child completed, was removed or drained): skip it.
            let Some(slot) = self.slots.get_mut(index) else {
                continue;
            };
            let Some(fut) = slot.fut.as_mut() else {
                continue;
            };
            slot.waker.queued.swap(false, AcqRel);
            let waker = Waker::from(slot.waker.clone());
            let mut child_cx = Context::from_waker(&waker);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut child_cx) {
                slot.fut = None;
                self.len -= 1;
                self.free.push(index);
                return Poll::Ready(Some((index, out)));
            }
            polled += 1;
            if polled >= limit {
                // Fairness: give the executor back; come back for the rest.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        Poll::Pending
    }
}

impl<F: Future> FutureSet<F> {
    /// The output of a child that is already finished, if any, without waiting (the
    /// building block of `JoinSet::try_join_next`). Never consults the cooperative
    /// budget: the children are polled unconstrained, so a sweep of many finished
    /// children is not cut short once the calling task's budget is spent. It does not
    /// register a waker; children it polls and leaves pending are re-queued only when
    /// they wake.
    pub fn try_next(&mut self) -> Option<(usize, F::Output)> {
        let mut cx = Context::from_waker(Waker::noop());
        match coop::with_unconstrained(|| self.poll_next(&mut cx)) {
            Poll::Ready(r) => r,
            Poll::Pending => None,
        }
    }
}

impl<F> fmt::Debug for FutureSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureSet").field("len", &self.len).finish()
    }
}
