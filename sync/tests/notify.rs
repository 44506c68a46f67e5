mod common;

use common::*;
use magpie_sync::Notify;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

#[test]
fn notify_one_stores_one_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one();
    block_on(n.notified());
    let mut f = pin!(n.notified());
    assert!(poll_once(f.as_mut()).is_pending());
}

#[test]
fn notify_one_wakes_in_fifo_order() {
    let n = Notify::new();
    let mut a = pin!(n.notified());
    let mut b = pin!(n.notified());
    let (wa, ca) = count_waker();
    let (wb, cb) = count_waker();
    assert!(poll_with(a.as_mut(), &wa).is_pending());
    assert!(poll_with(b.as_mut(), &wb).is_pending());
    n.notify_one();
    assert_eq!((ca.count(), cb.count()), (1, 0));
    assert!(poll_with(b.as_mut(), &wb).is_pending());
    assert!(poll_once(a.as_mut()).is_ready());
    n.notify_one();
    assert_eq!(cb.count(), 1);
    assert!(poll_once(b.as_mut()).is_ready());
}

#[test]
fn dropped_notified_passes_notify_one_on() {
    let n = Notify::new();
    let mut a = Box::pin(n.notified());
    let mut b = pin!(n.notified());
    assert!(poll_once(a.as_mut()).is_pending());
    let (wb, cb) = count_waker();
    assert!(poll_with(b.as_mut(), &wb).is_pending());
    n.notify_one(); // goes to a
    drop(a); // a never observed it: it must go to b
    assert_eq!(cb.count(), 1);
    assert!(poll_once(b.as_mut()).is_ready());
}

#[test]
fn dropped_notified_alone_stores_the_permit() {
    let n = Notify::new();
    let mut a = Box::pin(n.notified());
    assert!(poll_once(a.as_mut()).is_pending());
    n.notify_one();
    drop(a);
    let mut b = pin!(n.notified());
    assert!(poll_once(b.as_mut()).is_ready());
}

#[test]
fn dropped_unnotified_waiter_does_not_eat_permits() {
    let n = Notify::new();
    let mut a = Box::pin(n.notified());
    assert!(poll_once(a.as_mut()).is_pending());
    drop(a);
    n.notify_one();
    block_on(n.notified());
}

#[test]
fn notify_waiters_wakes_all_current_only() {
    let n = Notify::new();
    let mut a = pin!(n.notified());
    let mut b = pin!(n.notified());
    let created_not_polled = n.notified();
    let mut created_not_polled = pin!(created_not_polled);
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    n.notify_waiters();
    assert!(poll_once(a.as_mut()).is_ready());
    assert!(poll_once(b.as_mut()).is_ready());
    assert!(poll_once(created_not_polled.as_mut()).is_ready());
    // No permit is stored, and later futures are not woken.
    let mut later = pin!(n.notified());
    assert!(poll_once(later.as_mut()).is_pending());
}

#[test]
fn notify_waiters_many_batches() {
    let n = Notify::new();
    let mut futs: Vec<_> = (0..100).map(|_| Box::pin(n.notified())).collect();
    for f in &mut futs {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    n.notify_waiters();
    for f in &mut futs {
        assert!(poll_once(f.as_mut()).is_ready());
    }
    let mut f = pin!(n.notified());
    assert!(poll_once(f.as_mut()).is_pending());
}

#[test]
fn enable_queues_without_polling() {
    let n = Notify::new();
    let mut f = pin!(n.notified());
    assert!(!f.as_mut().enable());
    n.notify_one();
    assert!(poll_once(f.as_mut()).is_ready());
}

#[test]
fn ping_pong_threads() {
    let a = Arc::new(Notify::new());
    let b = Arc::new(Notify::new());
    let (a2, b2) = (a.clone(), b.clone());
    let t = std::thread::spawn(move || {
        for _ in 0..size(10_000, 30) {
            block_on(a2.notified());
            b2.notify_one();
        }
    });
    for _ in 0..size(10_000, 30) {
        a.notify_one();
        block_on(b.notified());
    }
    t.join().unwrap();
    let mut f = pin!(b.notified());
    assert_eq!(poll_once(f.as_mut()), Poll::Pending);
}
