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
//! A producer pushes a task, then (SeqCst) reads the state: if a worker is searching,
//! that worker will find the task; if every worker is unparked, each will look at the
//! queues before it parks; otherwise it wakes a sleeper (as a searcher). A searching
//! worker that gives up decrements `searching` (SeqCst) *before* its final look at the
//! queues, and only the last searcher to leave needs that look: if the producer's read
//! came before the decrement, the producer saw a searcher, and the searcher's later
//! look sees the task (the push precedes the read in SeqCst order); if it came after,
//! the producer sees `searching == 0` with a sleeper available and wakes one.
//!
//! At most half the workers search at once, which bounds the cost of a wake-up storm;
//! a searcher that finds work leaves the searching state and, if it was the last one,
//! wakes another worker to keep looking (the wake-one-more chain). These rules are the
//! ones tokio describes for its scheduler; the code is magpie's.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::SeqCst;

const UNPARK_SHIFT: usize = 16;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const SEARCH_MASK: usize = UNPARK_ONE - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
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
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
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
        // A read-modify-write, not a load: it takes its place in the SeqCst order after
        // the producer's push (see the module docs).
        let s = self.state.fetch_add(0, SeqCst);
        num_searching(s) == 0 && num_unparked(s) < self.num_workers
    }

    /// A worker is about to park. Returns true if it was the last searcher, in which
    /// case it must look at every queue once more.
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARK_ONE | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && num_searching(prev) == 1
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
        num_searching(prev) == 1
    }

    /// Workers counted as searching now (loom models check the accounting with it).
    #[cfg(any(loom, test))]
    pub(crate) fn num_searching(&self) -> usize {
        num_searching(self.state.load(SeqCst))
    }

    /// Whether `worker` is still in the sleeper list (a wake-up was spurious).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }

    /// Takes `worker` off the sleeper list without making it a searcher: a worker back
    /// from park with local work does this itself. Returns false if a notifier had
    /// already taken it off (and counted it as a searcher).
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            self.state.fetch_add(UNPARK_ONE, SeqCst);
            true
        } else {
            false
        }
    }
}
