#![cfg(loom)]
//! Loom models of the multi-thread scheduler's idle protocol (the real `Idle` of
//! runtime/src/scheduler/multi_thread/idle.rs, reached through `__loom::Idle`), with a
//! queue whose orderings are crossbeam-deque's: a push is a Release store of the
//! queue's end, an emptiness check an Acquire load. (The scheduler models in
//! `rt_multi_thread.rs` use mutex-backed queues, whose lock and unlock order the
//! producer and the searcher by themselves and so cannot show a store-buffering race.)
//!
//! The property: a task pushed while the last searcher parks is either seen by that
//! searcher's final look at the queues or makes the producer wake a sleeper. Both
//! sides rely on a SeqCst fence (loom models `fence(SeqCst)`, and treats SeqCst loads
//! as Acquire): without either fence, loom finds the execution where the producer reads
//! the old searching count and the searcher reads the old queue.

mod sync_util;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use magpie_runtime::__loom::Idle;
use sync_util::model;

/// The queue stand-in: its length, with crossbeam's orderings.
struct Queue(AtomicUsize);

impl Queue {
    fn push(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
    fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

/// Two workers: worker 1 sleeps, worker 0 is the only searcher and parks while a
/// producer pushes a task and asks for a worker to wake.
#[test]
fn last_searcher_parks_while_a_task_is_pushed() {
    model(|| {
        let idle = Arc::new(Idle::new(2));
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.transition_worker_to_searching());
        let queue = Arc::new(Queue(AtomicUsize::new(0)));

        let producer = {
            let (idle, queue) = (idle.clone(), queue.clone());
            thread::spawn(move || {
                queue.push();
                idle.worker_to_notify()
            })
        };
        let last = idle.transition_worker_to_parked(0, true);
        assert!(last, "worker 0 was the only searcher");
        let seen = !queue.is_empty();
        let woken = producer.join().unwrap();
        assert!(
            seen || woken.is_some(),
            "the task is stranded: the searcher missed it and no sleeper was woken"
        );
        if let Some(w) = woken {
            assert!(w == 0 || w == 1);
            assert_eq!(idle.num_searching(), 1, "the woken worker searches");
        }
    });
}

/// A worker back from park with local work takes itself off the sleeper list while a
/// producer picks a sleeper: exactly one of them takes it off, and the accounting
/// (searching count) matches who did.
#[test]
fn self_unpark_races_notify() {
    model(|| {
        let idle = Arc::new(Idle::new(2));
        assert!(!idle.transition_worker_to_parked(0, false));
        let producer = {
            let idle = idle.clone();
            thread::spawn(move || idle.worker_to_notify())
        };
        let took_itself = idle.unpark_worker_by_id(0);
        let woken = producer.join().unwrap();
        assert_ne!(
            took_itself,
            woken == Some(0),
            "worker 0 removed exactly once"
        );
        assert!(!idle.is_parked(0));
        assert_eq!(idle.num_searching(), usize::from(woken.is_some()));
    });
}
