mod common;

use common::*;
use futures_core::Stream;
use magpie_sync::mpsc::{
    self,
    error::{TryRecvError, TrySendError},
};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};

#[test]
fn bounded_order_and_close_on_last_sender() {
    let (tx, mut rx) = mpsc::channel(4);
    block_on(async {
        for i in 0..100 {
            if i % 4 == 0 {
                // drain to make room
                while let Ok(v) = rx.try_recv() {
                    assert!(v < i);
                }
            }
            tx.send(i).await.unwrap();
        }
    });
    drop(tx);
    let mut last = None;
    while let Some(v) = block_on(rx.recv()) {
        assert!(last < Some(v));
        last = Some(v);
    }
    assert_eq!(last, Some(99));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn capacity_and_try_send_full() {
    let (tx, mut rx) = mpsc::channel(2);
    assert_eq!(tx.capacity(), 2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(tx.capacity(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), 1);
    assert_eq!(tx.max_capacity(), 2);
    drop(rx);
    assert!(matches!(tx.try_send(4), Err(TrySendError::Closed(4))));
    assert!(block_on(tx.send(5)).is_err());
    assert!(tx.is_closed());
}

#[test]
fn waiting_sender_is_woken_by_recv_in_fifo_order() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut s1 = pin!(tx.send(1));
    let mut s2 = pin!(tx.send(2));
    let (w, c) = count_waker();
    assert!(poll_with(s1.as_mut(), &w).is_pending());
    assert!(poll_once(s2.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(c.count(), 1);
    assert!(poll_once(s2.as_mut()).is_pending());
    assert!(poll_once(s1.as_mut()).is_ready());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(poll_once(s2.as_mut()).is_ready());
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn receiver_close_wakes_senders_and_drains() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let mut s = pin!(tx.send(2));
    let (w, c) = count_waker();
    assert!(poll_with(s.as_mut(), &w).is_pending());
    let permit_holder = tx.clone();
    rx.close();
    assert_eq!(c.count(), 1);
    assert!(matches!(poll_once(s.as_mut()), Poll::Ready(Err(_))));
    assert!(tx.is_closed());
    block_on(tx.closed());
    // Queued message still delivered, then None (senders still alive).
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(block_on(rx.recv()), None);
    drop(permit_holder);
}

#[test]
fn close_waits_for_reserved_permits() {
    let (tx, mut rx) = mpsc::channel(2);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    permit.send(5);
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn reserve_cancel_and_permit_drop_return_capacity() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let p = block_on(tx.reserve()).unwrap();
    assert_eq!(tx.capacity(), 0);
    let mut r1 = Box::pin(tx.reserve());
    let mut r2 = pin!(tx.reserve());
    assert!(poll_once(r1.as_mut()).is_pending());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(p); // slot handed to r1
    drop(r1); // dropped before observing it: handed to r2
    let Poll::Ready(Ok(p2)) = poll_once(r2.as_mut()) else {
        panic!("r2 should own the slot")
    };
    p2.send(1);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), 1);
    let owned = tx.clone().try_reserve_owned().unwrap();
    let tx2 = owned.release();
    assert_eq!(tx2.capacity(), 1);
    let owned = block_on(tx2.reserve_owned()).unwrap();
    let _tx3 = owned.send(2);
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn receiver_drop_drops_every_message_once() {
    let drops = counter();
    let (tx, rx) = mpsc::channel(100);
    for i in 0..70 {
        tx.try_send(Tracked::new(i, &drops)).unwrap();
    }
    drop(rx);
    assert_eq!(get(&drops), 70);
    let back = tx.try_send(Tracked::new(70, &drops)).unwrap_err();
    assert_eq!(get(&drops), 70);
    drop(back);
    assert_eq!(get(&drops), 71);

    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..100 {
        tx.send(Tracked::new(i, &drops)).unwrap();
    }
    for _ in 0..40 {
        drop(rx.try_recv().unwrap());
    }
    drop(tx);
    assert_eq!(get(&drops), 111);
    drop(rx);
    assert_eq!(get(&drops), 171);
}

#[test]
fn senders_and_receiver_vanish_mid_stream() {
    for round in 0..50 {
        let drops = counter();
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let created = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel(8);
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let tx = tx.clone();
                let (drops, sent, created) = (drops.clone(), sent.clone(), created.clone());
                std::thread::spawn(move || {
                    for i in 0..size(200, 10) {
                        created.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        match tx.blocking_send(Tracked::new(t * 1000 + i, &drops)) {
                            Ok(()) => {
                                sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            }
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut received = 0;
        let stop_after = round * 10;
        while let Some(v) = block_on(rx.recv()) {
            drop(v);
            received += 1;
            if received == stop_after {
                break;
            }
        }
        drop(rx);
        for t in threads {
            t.join().unwrap();
        }
        // Every message created was dropped exactly once: received ones by us, queued
        // ones by the receiver's drop, unsent ones handed back in the error.
        assert_eq!(get(&drops), get(&created));
        assert!(received <= get(&sent));
        if stop_after == 0 {
            assert_eq!(received, 3 * size(200, 10));
        }
    }
}

#[test]
fn many_producers_every_message_once_in_per_producer_order() {
    for bounded in [true, false] {
        const P: usize = 4;
        const N: usize = size(5000, 100);
        let (btx, mut brx) = mpsc::channel::<(usize, usize)>(16);
        let (utx, mut urx) = mpsc::unbounded_channel::<(usize, usize)>();
        let threads: Vec<_> = (0..P)
            .map(|p| {
                let btx = btx.clone();
                let utx = utx.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        if bounded {
                            btx.blocking_send((p, i)).unwrap();
                        } else {
                            utx.send((p, i)).unwrap();
                        }
                    }
                })
            })
            .collect();
        drop((btx, utx));
        let mut next = [0usize; P];
        let mut count = 0;
        loop {
            let v = if bounded {
                brx.blocking_recv()
            } else {
                urx.blocking_recv()
            };
            let Some((p, i)) = v else { break };
            assert_eq!(next[p], i, "producer {p} out of order");
            next[p] += 1;
            count += 1;
        }
        assert_eq!(count, P * N);
        for t in threads {
            t.join().unwrap();
        }
    }
}

#[test]
fn weak_sender() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    let tx2 = weak.upgrade().unwrap();
    drop(tx);
    tx2.try_send(1).unwrap();
    drop(tx2);
    assert!(weak.upgrade().is_none());
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(block_on(rx.recv()), None);

    let (utx, _urx) = mpsc::unbounded_channel::<i32>();
    let w = utx.downgrade();
    assert!(w.upgrade().is_some());
    drop(utx);
    assert!(w.clone().upgrade().is_none());
}

#[test]
fn recv_many_and_stream() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many(&mut buf, 4)), 4);
    assert_eq!(buf, [0, 1, 2, 3]);
    assert_eq!(block_on(rx.recv_many(&mut buf, 100)), 6);
    assert_eq!(block_on(rx.recv_many(&mut buf, 0)), 0);
    tx.send(42).unwrap();
    drop(tx);
    let mut rx = pin!(rx);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert_eq!(rx.as_mut().poll_next(&mut cx), Poll::Ready(Some(42)));
    assert_eq!(
        Pin::new(&mut *rx).poll_next(&mut cx),
        Poll::Ready(None::<i32>)
    );
}

#[test]
fn recv_is_woken_by_send_and_by_last_sender_drop() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let (w, c) = count_waker();
    let mut cx = Context::from_waker(&w);
    assert!(rx.poll_recv(&mut cx).is_pending());
    tx.send(1).unwrap();
    assert!(c.count() >= 1);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
    assert!(rx.poll_recv(&mut cx).is_pending());
    let before = c.count();
    drop(tx);
    assert!(c.count() > before);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn unbounded_send_after_receiver_close_fails() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(tx.send(2).unwrap_err().0, 2);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn sender_closed_future_completes_on_receiver_drop() {
    let (tx, rx) = mpsc::channel::<()>(1);
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(10));
        drop(rx);
    });
    block_on(tx.closed());
    t.join().unwrap();
}
