//! The tokio sync API magpie added for issue 19: documented behaviour on close, drop,
//! cancel, lag and concurrent use, with drop counting.
mod common;

use common::*;
use magpie_sync::mpsc::error::{TryRecvError, TrySendError};
use magpie_sync::{Condition, Mutex, Notify, SetOnce, broadcast, mpsc, watch};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::thread;

// ---- mpsc ----

#[test]
fn mpsc_len_is_empty_and_capacity() {
    let (tx, mut rx) = mpsc::channel(40);
    assert!(rx.is_empty());
    for i in 0..35 {
        tx.try_send(i).unwrap();
    }
    assert_eq!((rx.len(), rx.capacity(), rx.max_capacity()), (35, 5, 40));
    for _ in 0..33 {
        rx.try_recv().unwrap();
    }
    assert_eq!(rx.len(), 2);
    let p = tx.try_reserve().unwrap(); // reserved, not sent: not in the channel
    assert_eq!((rx.len(), rx.capacity()), (2, 37));
    p.send(9);
    assert_eq!(rx.len(), 3);

    // Read exactly to a block boundary (blocks hold 32 or 16 slots): the receiver's
    // head block is then fully read, and none of it counts.
    let (btx, mut brx) = mpsc::channel(64);
    for i in 0..40 {
        btx.try_send(i).unwrap();
    }
    for _ in 0..32 {
        brx.try_recv().unwrap();
    }
    assert_eq!(brx.len(), 8);
    for _ in 0..8 {
        brx.try_recv().unwrap();
    }
    assert_eq!(brx.len(), 0);
    assert!(brx.is_empty());

    let (utx, mut urx) = mpsc::unbounded_channel();
    for i in 0..100 {
        utx.send(i).unwrap();
    }
    assert_eq!(urx.len(), 100);
    drop(utx);
    assert_eq!(urx.len(), 100, "the close marker is not a message");
    while urx.try_recv().is_ok() {}
    assert!(urx.is_empty());
}

#[test]
fn reserve_many_hands_out_permits_and_returns_the_rest() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let mut it = block_on(tx.reserve_many(3)).unwrap();
    assert_eq!(it.len(), 3);
    assert_eq!(tx.capacity(), 1);
    it.next().unwrap().send(1);
    drop(it); // two unused permits go back
    assert_eq!(tx.capacity(), 3);
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(
        block_on(tx.reserve_many(5)).is_err(),
        "more than max_capacity"
    );
    assert_eq!(block_on(tx.reserve_many(0)).unwrap().count(), 0);
}

#[test]
fn try_reserve_many_full_closed_and_too_many() {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    let it = tx.try_reserve_many(2).unwrap();
    assert!(matches!(
        tx.try_reserve_many(1),
        Err(TrySendError::Full(()))
    ));
    drop(it);
    assert!(matches!(
        tx.try_reserve_many(3),
        Err(TrySendError::Full(()))
    ));
    rx.close();
    assert!(matches!(
        tx.try_reserve_many(1),
        Err(TrySendError::Closed(()))
    ));
}

#[test]
fn reserve_many_waits_fifo_and_fails_on_close() {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    tx.try_send(0).unwrap();
    let (w, c) = count_waker();
    let mut r = pin!(tx.reserve_many(2));
    assert!(poll_with(r.as_mut(), &w).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(c.count() >= 1);
    let it = match poll_with(r.as_mut(), &w) {
        Poll::Ready(Ok(it)) => it,
        other => panic!("{:?}", other.map(|r| r.map(|_| ()))),
    };
    assert_eq!(it.len(), 2);
    drop(it);
    let mut r2 = pin!(tx.reserve_many(2));
    let _held = tx.try_reserve().unwrap();
    assert!(poll_with(r2.as_mut(), &w).is_pending());
    rx.close();
    assert!(matches!(poll_with(r2, &w), Poll::Ready(Err(_))));
}

#[test]
fn concurrent_reserve_many_delivers_everything() {
    let got = deadline(20, || {
        let (tx, mut rx) = mpsc::channel::<usize>(8);
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let tx = tx.clone();
                thread::spawn(move || {
                    block_on(async {
                        for i in 0..size(50, 4) {
                            for (k, p) in tx.reserve_many(3).await.unwrap().enumerate() {
                                p.send(t * 1000 + i * 3 + k);
                            }
                        }
                    })
                })
            })
            .collect();
        drop(tx);
        let mut n = 0;
        while block_on(rx.recv()).is_some() {
            n += 1;
        }
        for h in handles {
            h.join().unwrap();
        }
        n
    });
    assert_eq!(got, 4 * size(50, 4) * 3);
}

#[test]
fn weak_unbounded_sender_counts_and_upgrade() {
    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!((weak.strong_count(), weak.weak_count()), (1, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
    let tx2 = weak.upgrade().unwrap();
    assert_eq!(weak2.strong_count(), 2);
    drop((tx, tx2));
    assert_eq!(weak.strong_count(), 0);
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop(weak2);
    assert_eq!(weak.weak_count(), 1);
}

#[test]
fn recv_many_takes_up_to_limit_and_drops_count() {
    let drops = counter();
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        tx.send(Tracked::new(i, &drops)).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many(&mut buf, 4)), 4);
    assert_eq!(buf.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2, 3]);
    drop(buf);
    assert_eq!(get(&drops), 4);
    drop(rx); // the other six are dropped with the receiver
    assert_eq!(get(&drops), 10);
    assert!(tx.send(Tracked::new(99, &drops)).is_err());
    assert_eq!(get(&drops), 11);
}

// ---- broadcast ----

#[test]
fn broadcast_weak_sender_does_not_keep_the_channel_open() {
    let (tx, mut rx) = broadcast::channel::<i32>(4);
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
    let tx2 = weak.upgrade().unwrap();
    tx2.send(1).unwrap();
    drop((tx, tx2));
    assert!(weak.upgrade().is_none());
    assert!(rx.is_closed());
    assert_eq!(block_on(rx.recv()), Ok(1), "values still held are received");
    assert_eq!(
        block_on(rx.recv()),
        Err(broadcast::error::RecvError::Closed)
    );
    drop(weak);
    assert_eq!(rx.sender_weak_count(), 0);
}

#[test]
fn broadcast_sender_new_has_no_receiver_until_subscribe() {
    let tx = broadcast::Sender::<i32>::new(2);
    assert_eq!(tx.receiver_count(), 0);
    assert!(tx.send(1).is_err(), "no receiver");
    let mut rx = tx.subscribe();
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn broadcast_receiver_len_lag_and_same_channel() {
    let drops = counter();
    let (tx, mut rx) = broadcast::channel::<Arc<Tracked>>(2);
    let rx2 = tx.subscribe();
    assert!(rx.same_channel(&rx2));
    for i in 0..5 {
        tx.send(Arc::new(Tracked::new(i, &drops))).unwrap();
    }
    assert_eq!(rx.len(), 5);
    assert_eq!(get(&drops), 3, "overwritten values are dropped");
    assert_eq!(
        block_on(rx.recv()).unwrap_err(),
        broadcast::error::RecvError::Lagged(3)
    );
    assert_eq!(block_on(rx.recv()).unwrap().id, 3);
    drop(rx2);
    drop(rx);
    assert_eq!(
        get(&drops),
        5,
        "values no receiver still needs are released"
    );
    drop(tx);
    assert_eq!(get(&drops), 5, "each value dropped once");
}

#[test]
fn broadcast_sender_closed_resolves_when_receivers_go() {
    let (tx, rx) = broadcast::channel::<i32>(1);
    let rx2 = rx.resubscribe();
    let (w, c) = count_waker();
    let mut closed = pin!(tx.closed());
    assert!(poll_with(closed.as_mut(), &w).is_pending());
    drop(rx);
    assert!(poll_with(closed.as_mut(), &w).is_pending());
    drop(rx2);
    assert!(c.count() >= 1);
    assert!(poll_with(closed, &w).is_ready());
}

// ---- Notify::notified_owned ----

#[test]
fn notified_owned_is_static_and_receives_notify_one() {
    let notify = Arc::new(Notify::new());
    let fut = notify.clone().notified_owned();
    let t = thread::spawn(move || block_on(fut));
    // Either it is queued already, or the permit is stored: both complete it.
    notify.notify_one();
    deadline(10, move || t.join().unwrap());
}

#[test]
fn notified_owned_sees_notify_waiters_after_creation_and_forwards_when_cancelled() {
    let notify = Arc::new(Notify::new());
    let a = notify.clone().notified_owned();
    notify.notify_waiters(); // before the first poll: still seen
    assert!(poll_once(pin!(a)).is_ready());

    let mut first = Box::pin(notify.clone().notified_owned());
    let mut second = Box::pin(notify.clone().notified_owned());
    assert!(!first.as_mut().enable());
    assert!(poll_once(second.as_mut()).is_pending());
    notify.notify_one(); // picks `first`
    drop(first); // cancelled: passes it on
    assert!(poll_once(second.as_mut()).is_ready());
}

#[test]
fn notify_is_unwind_safe() {
    fn check<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<Notify>();
}

// ---- SetOnce ----

#[test]
fn set_once_set_get_wait_and_drop_once() {
    let drops = counter();
    let cell = Arc::new(SetOnce::<Tracked>::new());
    assert!(cell.get().is_none() && !cell.initialized());
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let c = cell.clone();
            thread::spawn(move || block_on(c.wait()).id)
        })
        .collect();
    cell.set(Tracked::new(7, &drops)).unwrap();
    let err = cell.set(Tracked::new(8, &drops)).unwrap_err();
    assert_eq!(err.0.id, 8);
    drop(err);
    assert_eq!(get(&drops), 1);
    let ids = deadline(10, move || {
        waiters
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(ids, [7; 4]);
    assert_eq!(block_on(cell.wait()).id, 7, "set: wait returns at once");
    drop(cell);
    assert_eq!(get(&drops), 2);
}

#[test]
fn set_once_into_inner_cancel_and_concurrent_set() {
    let drops = counter();
    let cell = SetOnce::new();
    {
        let w = pin!(cell.wait());
        assert!(poll_once(w).is_pending()); // cancelled while waiting
    }
    cell.set(Tracked::new(1, &drops)).unwrap();
    assert_eq!(cell.into_inner().unwrap().id, 1);
    assert_eq!(get(&drops), 1);
    assert!(SetOnce::<i32>::new().into_inner().is_none());
    assert_eq!(SetOnce::from(3).get(), Some(&3));

    let cell = Arc::new(SetOnce::<usize>::new());
    let ok = deadline(10, move || {
        let ts: Vec<_> = (0..4)
            .map(|i| {
                let c = cell.clone();
                thread::spawn(move || c.set(i).is_ok())
            })
            .collect();
        ts.into_iter()
            .filter(|_| true)
            .map(|t| t.join().unwrap())
            .filter(|ok| *ok)
            .count()
    });
    assert_eq!(ok, 1, "exactly one set wins");
}

// ---- watch ----

#[test]
fn watch_sender_and_receiver_methods() {
    let (tx, mut rx) = watch::channel(0);
    assert_eq!(tx.receiver_count(), 1);
    let mut rx2 = tx.subscribe();
    assert_eq!(tx.receiver_count(), 2);
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send_modify(|v| *v += 1);
    assert_eq!(rx.has_changed(), Ok(true));
    assert_eq!(*rx.borrow_and_update(), 1);
    assert_eq!(rx.has_changed(), Ok(false));
    rx.mark_changed();
    assert_eq!(rx.has_changed(), Ok(true));
    rx.mark_unchanged();
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(block_on(rx2.changed()).is_ok());
    drop((rx, rx2));
    assert!(tx.is_closed());
    block_on(tx.closed());
}

// ---- Condition ----

#[test]
fn condition_wait_while_with_a_notifying_thread() {
    let v = deadline(10, || {
        let pair = Arc::new((Mutex::new(0), Condition::new()));
        let p = pair.clone();
        let t = thread::spawn(move || {
            for _ in 0..size(10, 3) {
                let (lock, cond) = &*p;
                *lock.blocking_lock() += 1;
                cond.notify_one();
            }
        });
        let (lock, cond) = &*pair;
        let v = block_on(async {
            *cond
                .wait_while(lock.lock().await, |n| *n < size(10, 3))
                .await
        });
        t.join().unwrap();
        v
    });
    assert_eq!(v, size(10, 3));
}

#[test]
fn condition_notify_all_wakes_every_waiter() {
    let n = deadline(10, || {
        let pair = Arc::new((Mutex::new(false), Condition::new()));
        let ts: Vec<_> = (0..4)
            .map(|_| {
                let p = pair.clone();
                thread::spawn(move || {
                    let (lock, cond) = &*p;
                    block_on(async { *cond.wait_while(lock.lock().await, |go| !*go).await })
                })
            })
            .collect();
        let (lock, cond) = &*pair;
        *lock.blocking_lock() = true;
        cond.notify_all();
        ts.into_iter()
            .filter(|_| true)
            .map(|t| t.join().unwrap())
            .filter(|b| *b)
            .count()
    });
    assert_eq!(n, 4);
}

#[test]
fn condition_notify_one_without_waiter_is_not_remembered() {
    let lock = Mutex::new(());
    let cond = Condition::new();
    cond.notify_one();
    let mut w = pin!(cond.wait(lock.try_lock().unwrap()));
    assert!(poll_once(w.as_mut()).is_pending(), "no stored permit");
    assert!(
        lock.try_lock().is_ok(),
        "the guard was released while waiting"
    );
    cond.notify_one();
    assert!(poll_once(w).is_ready());
}

#[test]
fn condition_cancelled_waiter_passes_notify_one_on() {
    let lock = Mutex::new(());
    let cond = Condition::new();
    let mut a = Box::pin(cond.wait(lock.try_lock().unwrap()));
    assert!(poll_once(a.as_mut()).is_pending());
    let mut b = Box::pin(cond.wait(lock.try_lock().unwrap()));
    assert!(poll_once(b.as_mut()).is_pending());
    cond.notify_one(); // picks `a`
    drop(a);
    assert!(
        poll_once(b.as_mut()).is_ready(),
        "b got the forwarded notification"
    );
}

#[test]
fn watch_sender_clone_closes_with_the_last_sender() {
    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    assert!(tx.same_channel(&tx2));
    drop(tx);
    assert_eq!(rx.has_changed(), Ok(false), "a sender is left");
    tx2.send(1).unwrap();
    assert!(block_on(rx.changed()).is_ok());
    drop(tx2);
    assert!(block_on(rx.changed()).is_err());
}

#[test]
fn permit_send_after_receiver_drop_is_dropped_with_the_channel() {
    let drops = counter();
    let (tx, rx) = mpsc::channel(2);
    let permit = tx.try_reserve().unwrap();
    tx.try_send(Tracked::new(0, &drops)).unwrap();
    drop(rx); // drops the queued value
    assert_eq!(get(&drops), 1);
    permit.send(Tracked::new(1, &drops)); // never fails, nobody will read it
    assert!(tx.try_send(Tracked::new(2, &drops)).is_err());
    assert_eq!(
        get(&drops),
        2,
        "the rejected value came back and was dropped"
    );
    drop(tx); // the last handle: the channel drops the permit's value
    assert_eq!(get(&drops), 3);
}
