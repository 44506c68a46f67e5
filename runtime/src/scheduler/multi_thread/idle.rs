//! Idle-worker tracking: how many workers are unparked and how many of those are
//! searching for work, plus the list of sleeping workers.
//!
//! # State word
//!
//! ```text
//!  usize::BITS-1 ........ 16 15 ......... 0
//! +-------------------------+--------------+
//! | unparked workers        | searching    |
//! +-------------------------+--------------+
//! ```
//!
//! # The no-lost-wakeup argument
//!
//! A producer pushes a task, issues a SeqCst fence, then loads the state: if a worker
//! is searching, that worker will find the task; if every worker is unparked, each will
//! look at the queues before it parks; otherwise it wakes a sleeper (as a searcher). A
//! searching worker that gives up decrements `searching` and issues a SeqCst fence
//! *before* its final look at the queues, and only the last searcher to leave needs
//! that look. The two fences are totally ordered: if the producer's comes first, the
//! searcher's look (after its own fence) sees the push; if the searcher's comes first,
//! the producer's load (after its fence) sees the decrement, finds `searching == 0`
//! with a sleeper available, and wakes one. (The store-buffering pattern; the C++
//! memory model's rule for two SeqCst fences gives the guarantee, and Rust's atomics
//! follow it.)
//!
//! The producer side is a fence and a *load*, not a read-modify-write: a spawn or wake
//! on a busy runtime reads the state word's cache line in shared mode instead of
//! taking it exclusive, so workers spawning at once do not bounce the line between
//! them (tokio's idle protocol does a `fetch_add(0)` here). On x86 the fence is a
//! locked instruction on the stack, about what the RMW cost, without the shared-line
//! write.
//!
//! At most half the workers search at once, which bounds the cost of a wake-up storm;
//! a searcher that finds work leaves the searching state and, if it was the last one,
//! wakes another worker to keep looking (the wake-one-more chain). These rules are the
//! ones tokio describes for its scheduler; the code is magpie's.
//!
//! # Sleepers
//!
//! Parked workers are a doubly linked list through two index arrays under one mutex,
//! plus a flag per worker: pushing, popping, removing a given worker and asking whether
//! one is parked are all O(1), never a scan of the list under its lock.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::atomic::{AtomicUsize, fence};

const UNPARK_SHIFT: usize = 16;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const SEARCH_MASK: usize = UNPARK_ONE - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Sleepers>,
    num_workers: usize,
}

fn num_searching(s: usize) -> usize {
    s & SEARCH_MASK
}

fn num_unparked(s: usize) -> usize {
    s >> UNPARK_SHIFT
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many worker threads");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Sleepers::new(num_workers)),
            num_workers,
        }
    }

    /// After work was queued: which sleeping worker to wake, if any. The chosen worker
    /// is counted as unparked and searching before this returns.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(UNPARK_ONE | 1, SeqCst);
        Some(worker)
    }

    fn notify_should_wakeup(&self) -> bool {
        // Orders the producer's push before the load (module docs): pairs with the
        // fence the last searcher issues after leaving the searching state.
        fence(SeqCst);
        let s = self.state.load(SeqCst);
        num_searching(s) == 0 && num_unparked(s) < self.num_workers
    }

    /// A worker is about to park. Returns true if it was the last searcher, in which
    /// case it must look at every queue once more.
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARK_ONE | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        drop(sleepers);
        let last = is_searching && num_searching(prev) == 1;
        if last {
            // Before the caller's final look at the queues (module docs).
            fence(SeqCst);
        }
        last
    }

    /// Tries to become a searcher; fails when half the workers already search.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * num_searching(s) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work (or gives up). Returns true if it was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(num_searching(prev) > 0);
        let last = num_searching(prev) == 1;
        if last {
            // Before the caller looks for (or asks another worker to look for) queued
            // work (module docs).
            fence(SeqCst);
        }
        last
    }

    /// Workers counted as searching now (loom models check the accounting with it).
    #[cfg(any(loom, test))]
    pub(crate) fn num_searching(&self) -> usize {
        num_searching(self.state.load(SeqCst))
    }

    /// Whether `worker` is still in the sleeper list (a wake-up was spurious).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(worker)
    }

    /// Takes `worker` off the sleeper list without making it a searcher: a worker back
    /// from park with local work does this itself. Returns false if a notifier had
    /// already taken it off (and counted it as a searcher).
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        if sleepers.remove(worker) {
            self.state.fetch_add(UNPARK_ONE, SeqCst);
            true
        } else {
            false
        }
    }
}

/// No worker (the end of the sleeper list).
const NIL: u32 = u32::MAX;

/// The parked workers, most recently parked first (its cache is the warmest).
struct Sleepers {
    head: u32,
    next: Box<[u32]>,
    prev: Box<[u32]>,
    parked: Box<[bool]>,
}

impl Sleepers {
    fn new(n: usize) -> Sleepers {
        Sleepers {
            head: NIL,
            next: vec![NIL; n].into_boxed_slice(),
            prev: vec![NIL; n].into_boxed_slice(),
            parked: vec![false; n].into_boxed_slice(),
        }
    }

    fn contains(&self, worker: usize) -> bool {
        self.parked[worker]
    }

    fn push(&mut self, worker: usize) {
        debug_assert!(!self.parked[worker], "worker {worker} parked twice");
        let w = worker as u32;
        self.next[worker] = self.head;
        self.prev[worker] = NIL;
        if self.head != NIL {
            self.prev[self.head as usize] = w;
        }
        self.head = w;
        self.parked[worker] = true;
    }

    fn pop(&mut self) -> Option<usize> {
        let head = self.head;
        if head == NIL {
            return None;
        }
        self.remove(head as usize);
        Some(head as usize)
    }

    /// Removes `worker` if it is parked; returns whether it was.
    fn remove(&mut self, worker: usize) -> bool {
        if !self.parked[worker] {
            return false;
        }
        let (prev, next) = (self.prev[worker], self.next[worker]);
        if prev == NIL {
            self.head = next;
        } else {
            self.next[prev as usize] = next;
        }
        if next != NIL {
            self.prev[next as usize] = prev;
        }
        self.parked[worker] = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Sleepers;

    #[test]
    fn sleepers_push_pop_remove() {
        let mut s = Sleepers::new(4);
        assert_eq!(s.pop(), None);
        for w in [0, 1, 2, 3] {
            s.push(w);
        }
        assert!(s.contains(2));
        assert!(s.remove(2));
        assert!(!s.remove(2));
        assert!(!s.contains(2));
        assert!(s.remove(3)); // the head
        assert!(s.remove(0)); // the tail
        assert_eq!(s.pop(), Some(1));
        assert_eq!(s.pop(), None);
        s.push(2);
        s.push(0);
        assert_eq!(s.pop(), Some(0));
        assert_eq!(s.pop(), Some(2));
        assert!((0..4).all(|w| !s.contains(w)));
    }
}
