#![cfg(loom)]
//! Loom models of the combinators' ready queue (`sync/src/combinators/set.rs`): each
//! child's waker sets its `queued` flag, pushes its index under the queue lock and wakes
//! the parent; the parent swaps the flag back before polling the child. The models
//! check that no wake-up is lost (a lost one deadlocks `block_on`, which loom reports),
//! that duplicate wakes of one child are harmless, and that every child is dropped once.

mod sync_util;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use magpie_sync::{ReturnWhen, as_completed, gather_all, oneshot, wait};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use sync_util::block_on;

/// A flag a thread sets and a future waits for, waking whatever waker polled it last.
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Flag {
    fn new() -> Arc<Flag> {
        Arc::new(Flag {
            set: AtomicBool::new(false),
            waker: Mutex::new(None),
        })
    }

    /// Sets the flag and wakes the waiter `times` times (duplicate wakes).
    fn set(&self, times: usize) {
        self.set.store(true, Ordering::Release);
        let w = self.waker.lock().unwrap().clone();
        if let Some(w) = w {
            for _ in 0..times {
                w.wake_by_ref();
            }
        }
    }
}

struct WaitFlag(Arc<Flag>);

impl Future for WaitFlag {
    type Output = Result<(), ()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.set.load(Ordering::Acquire) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn two_children_woken_from_two_threads() {
    loom::model(|| {
        let (a, b) = (Flag::new(), Flag::new());
        let (a2, b2) = (a.clone(), b.clone());
        let t1 = thread::spawn(move || a2.set(1));
        let t2 = thread::spawn(move || b2.set(1));
        let out = block_on(gather_all([WaitFlag(a), WaitFlag(b)]));
        assert_eq!(out, vec![Ok(()), Ok(())]);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

#[test]
fn duplicate_wakes_of_one_child() {
    loom::model(|| {
        let a = Flag::new();
        let a2 = a.clone();
        let t = thread::spawn(move || a2.set(2));
        let mut s = as_completed([WaitFlag(a)]);
        assert_eq!(block_on(s.next()), Some(Ok(())));
        assert_eq!(block_on(s.next()), None);
        t.join().unwrap();
    });
}

#[test]
fn oneshot_children_and_first_completed() {
    loom::model(|| {
        let (tx1, rx1) = oneshot::channel::<u8>();
        let (tx2, rx2) = oneshot::channel::<u8>();
        let t = thread::spawn(move || {
            tx1.send(1).unwrap();
            drop(tx2);
        });
        let (done, pending) = block_on(wait([rx1, rx2], ReturnWhen::FirstCompleted));
        assert!(!done.is_empty());
        assert_eq!(done.len() + pending.len(), 2);
        t.join().unwrap();
    });
}

#[test]
fn drop_while_a_wake_is_in_flight_drops_each_child_once() {
    use std::sync::atomic::AtomicUsize;
    struct Counted(std::sync::Arc<AtomicUsize>, WaitFlag);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    impl Future for Counted {
        type Output = Result<(), ()>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Pin::new(&mut self.1).poll(cx)
        }
    }
    loom::model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (a, b) = (Flag::new(), Flag::new());
        let a2 = a.clone();
        let t = thread::spawn(move || a2.set(1));
        let mut fut = Box::pin(gather_all([
            Counted(drops.clone(), WaitFlag(a)),
            Counted(drops.clone(), WaitFlag(b)),
        ]));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(fut);
        t.join().unwrap();
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 2);
    });
}
