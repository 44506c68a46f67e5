#![cfg(loom)]
//! Loom models of idle-worker tracking (runtime/src/scheduler/multi_thread/idle.rs)
//! together with the worker parker, following the worker loop of
//! runtime/src/scheduler/multi_thread/worker.rs (`Context::run`, `Core::steal_work`,
//! `Context::run_task`, `Context::park`, `Handle::notify_parked`, `Handle::shutdown`).
//!
//! The run queues are stood in for by one atomic item counter with SeqCst operations
//! (crossbeam's `Injector` push/steal/is_empty are SeqCst on its head/tail indices).
//! The worker that consumes the last item shuts the "runtime" down the way
//! `Handle::shutdown` does (flag, then take every worker off the sleeper list and
//! unpark it). If an item is ever stranded in the queue while every worker sleeps,
//! nobody shuts down and loom reports a deadlock.

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;
use magpie_runtime::__loom::{Idle, Parker, Unparker};
use std::sync::Arc;

/// `loom::model`, printing how many executions it explored (see with `--nocapture`).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        f();
    });
    eprintln!(
        "{}: {} executions",
        std::thread::current().name().unwrap_or("?"),
        n.load(std::sync::atomic::Ordering::SeqCst)
    );
}

/// The shared part of the mini runtime.
struct Shared {
    idle: Idle,
    unparkers: Vec<Unparker>,
    /// Items queued and not yet taken (the run queues).
    queued: AtomicUsize,
    /// Items run so far.
    consumed: AtomicUsize,
    /// Items the model will run in all.
    total: usize,
    /// Running an item (other than the last) queues the next one from the worker.
    chain: bool,
    shutdown: AtomicBool,
    /// Per worker: a readiness event the driver will deliver when that worker next
    /// returns from park (the eventfd wake plus dispatch, collapsed into a flag).
    driver_event: Vec<AtomicBool>,
}

impl Shared {
    fn push(&self) {
        self.queued.fetch_add(1, SeqCst);
    }

    fn try_pop(&self) -> bool {
        let mut n = self.queued.load(SeqCst);
        while n > 0 {
            match self.queued.compare_exchange(n, n - 1, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    /// `Shared::work_pending`.
    fn work_pending(&self) -> bool {
        self.queued.load(SeqCst) != 0
    }

    /// `Handle::notify_parked`.
    fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.unparkers[w].unpark();
        }
    }

    /// `Handle::push_remote` (without the shutdown race, which is not modelled here).
    fn push_remote(&self) {
        self.push();
        self.notify_parked();
    }

    /// `Handle::shutdown`: the flag, then unpark everyone. It leaves the sleeper list
    /// alone: a worker back from park with local work takes itself off the list, and
    /// must not mistake shutdown's removal for a notifier's (which counts a searcher).
    fn shutdown_all(&self) {
        if self.shutdown.swap(true, SeqCst) {
            return;
        }
        for u in self.unparkers.iter() {
            u.unpark();
        }
    }
}

/// One worker: its index, searching flag, parker and local queue length (the parts of
/// `Core` that matter).
struct Worker {
    index: usize,
    is_searching: bool,
    park: Parker,
    /// Tasks in this worker's LIFO slot / local queue (scheduled by its own driver
    /// dispatch while parked).
    local: usize,
    /// Exited from inside the park loop (shutdown seen after a park).
    exited_parked: bool,
}

impl Worker {
    /// `Context::run` with the maintenance tick left out. Returns (searching flag,
    /// exited from the park loop).
    fn run(mut self, shared: &Shared) -> (bool, bool) {
        loop {
            // next_task: the local queue, then the (global) queue.
            if self.local > 0 {
                self.local -= 1;
                self.run_task(shared);
                continue;
            }
            if shared.try_pop() {
                self.run_task(shared);
                continue;
            }
            // steal_work: become a searcher (at most half the workers), then look.
            if self.steal_work(shared) {
                self.run_task(shared);
                continue;
            }
            if !self.park(shared) {
                break;
            }
        }
        (self.is_searching, self.exited_parked)
    }

    /// `Core::steal_work`.
    fn steal_work(&mut self, shared: &Shared) -> bool {
        if !self.is_searching {
            if !shared.idle.transition_worker_to_searching() {
                return false;
            }
            self.is_searching = true;
        }
        shared.try_pop()
    }

    /// `Context::run_task`; running the item counts it, and the last one shuts down.
    fn run_task(&mut self, shared: &Shared) {
        if self.is_searching {
            self.is_searching = false;
            if shared.idle.transition_worker_from_searching() {
                shared.notify_parked();
            }
        }
        let done = shared.consumed.fetch_add(1, SeqCst) + 1;
        if done == shared.total {
            shared.shutdown_all();
        } else if shared.chain {
            // `schedule_local` (is_yield: to the local queue): push, and notify unless
            // searching (never, here: `run_task` left the searching state above).
            shared.push();
            if !self.is_searching {
                shared.notify_parked();
            }
        }
    }

    /// `Context::park`. Returns false on shutdown.
    fn park(&mut self, shared: &Shared) -> bool {
        if self.local > 0 {
            return true;
        }
        if shared.shutdown.load(SeqCst) {
            return false;
        }
        let last_searcher = shared
            .idle
            .transition_worker_to_parked(self.index, self.is_searching);
        self.is_searching = false;
        if last_searcher && shared.work_pending() {
            shared.notify_parked();
        }
        loop {
            self.park.park();
            // The driver dispatched on this thread while it was parked: a woken task
            // lands in the LIFO slot (`schedule_local`, Kind::Wake: no notify).
            if shared.driver_event[self.index].swap(false, SeqCst) {
                self.local += 1;
            }
            if shared.shutdown.load(SeqCst) {
                self.exited_parked = true;
                return false;
            }
            if self.local > 0 {
                // Back with local work: off the sleeper list by ourselves, unless a
                // notifier already took us off (and counted us as a searcher).
                self.is_searching = !shared.idle.unpark_worker_by_id(self.index);
                return true;
            }
            if !shared.idle.is_parked(self.index) {
                self.is_searching = true;
                return true;
            }
        }
    }
}

/// Builds the mini runtime with `n` workers, starts them, runs `producer` on the main
/// thread, and waits for the workers (they exit once `total` items were run).
fn run_model(n: usize, total: usize, producer: impl FnOnce(&Shared)) {
    run_model_with(n, total, false, producer)
}

/// As `run_model`, with every item but the last queueing the next from its worker.
fn run_model_chain(n: usize, total: usize, producer: impl FnOnce(&Shared)) {
    run_model_with(n, total, true, producer)
}

fn run_model_with(n: usize, total: usize, chain: bool, producer: impl FnOnce(&Shared)) {
    let parkers: Vec<Parker> = (0..n).map(|_| Parker::new()).collect();
    let shared = Arc::new(Shared {
        idle: Idle::new(n),
        unparkers: parkers.iter().map(Parker::unparker).collect(),
        queued: AtomicUsize::new(0),
        consumed: AtomicUsize::new(0),
        total,
        chain,
        shutdown: AtomicBool::new(false),
        driver_event: (0..n).map(|_| AtomicBool::new(false)).collect(),
    });
    let threads: Vec<_> = parkers
        .into_iter()
        .enumerate()
        .map(|(index, park)| {
            let shared = shared.clone();
            thread::spawn(move || {
                Worker {
                    index,
                    is_searching: false,
                    park,
                    local: 0,
                    exited_parked: false,
                }
                .run(&shared)
            })
        })
        .collect();
    producer(&shared);
    let mut searching = 0;
    for (i, t) in threads.into_iter().enumerate() {
        let (is_searching, exited_parked) = t.join().unwrap();
        // A worker that left from inside the park loop is counted as a searcher iff a
        // notifier took it off the sleeper list (nothing else removes it then).
        searching += usize::from(if exited_parked {
            !shared.idle.is_parked(i)
        } else {
            is_searching
        });
    }
    // The searcher count matches the workers that believe they search: a leaked count
    // would make later producers think someone is looking and wake no one.
    assert_eq!(
        shared.idle.num_searching(),
        searching,
        "searcher count leaked"
    );
    assert_eq!(shared.consumed.load(SeqCst), total);
    assert_eq!(shared.queued.load(SeqCst), 0);
}

/// Two workers going idle (searching, last-searcher re-check, parking) while a
/// producer outside the runtime pushes one item and notifies: the item is always run.
#[test]
fn one_item_two_workers() {
    model(|| run_model(2, 1, |s| s.push_remote()));
}

/// Two items pushed one after the other: the second push may find a searcher (and
/// wake nobody) or the first item's worker busy; the wake-one-more chain of
/// `run_task` and the searchers must still get both run.
#[test]
fn two_items_two_workers() {
    model(|| {
        run_model(2, 2, |s| {
            s.push_remote();
            s.push_remote();
        })
    });
}

/// A worker queues follow-up work while running (a task spawning another onto its
/// local queue: `schedule_local` pushes, and notifies since the running worker is no
/// longer searching). The producer pushes one item; running it queues a second.
#[test]
fn work_queued_from_a_worker() {
    model(|| run_model_chain(2, 2, |s| s.push_remote()));
}

/// An I/O event for worker 0 (it parks on the driver, which wakes a task into its own
/// LIFO slot) racing a remote push that notifies a sleeper, possibly worker 0 itself:
/// worker 0 must leave the sleeper list exactly once (by itself, or counted as a
/// searcher by the notifier), and both tasks run. A wrong count shows up as a worker
/// never woken for the remote item (deadlock) or a searcher count that never drains.
#[test]
fn driver_wake_while_parked_runs_locally() {
    model(|| {
        run_model(2, 2, |s| {
            s.driver_event[0].store(true, SeqCst);
            s.unparkers[0].unpark();
            s.push_remote();
        })
    });
}
