mod common;

use common::*;
use magpie_sync::oneshot::{self, error::TryRecvError};
use std::pin::pin;
use std::task::Poll;

#[test]
fn send_then_recv() {
    let (tx, rx) = oneshot::channel();
    tx.send(7).unwrap();
    assert_eq!(block_on(rx), Ok(7));
}

#[test]
fn recv_waits_across_threads() {
    for _ in 0..size(200, 5) {
        let (tx, rx) = oneshot::channel();
        let t = std::thread::spawn(move || tx.send(String::from("x")).unwrap());
        assert_eq!(block_on(rx).unwrap(), "x");
        t.join().unwrap();
    }
}

#[test]
fn sender_dropped_is_error_and_wakes() {
    let (tx, rx) = oneshot::channel::<u8>();
    let mut rx = pin!(rx);
    let (w, c) = count_waker();
    assert!(poll_with(rx.as_mut(), &w).is_pending());
    drop(tx);
    assert_eq!(c.count(), 1);
    assert!(matches!(poll_once(rx.as_mut()), Poll::Ready(Err(_))));
}

#[test]
fn receiver_dropped_returns_value_and_wakes_closed() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (w, c) = count_waker();
    assert!(
        tx.poll_closed(&mut std::task::Context::from_waker(&w))
            .is_pending()
    );
    assert!(!tx.is_closed());
    drop(rx);
    assert_eq!(c.count(), 1);
    assert!(tx.is_closed());
    block_on(tx.closed());
    assert_eq!(tx.send(3), Err(3));
}

#[test]
fn try_recv_states_and_close() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(rx.is_empty());
    tx.send(1).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    // A value sent before close is still received; one sent after is returned.
    let (tx, mut rx) = oneshot::channel();
    tx.send(2).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(2));
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert_eq!(tx.send(3), Err(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn value_dropped_exactly_once_in_every_outcome() {
    let drops = counter();
    // Received.
    let (tx, rx) = oneshot::channel();
    tx.send(Tracked::new(0, &drops)).unwrap();
    drop(block_on(rx).unwrap());
    assert_eq!(get(&drops), 1);
    // Sent, never received: dropped with the receiver.
    let (tx, rx) = oneshot::channel();
    tx.send(Tracked::new(1, &drops)).unwrap();
    assert_eq!(get(&drops), 1);
    drop(rx);
    assert_eq!(get(&drops), 2);
    // Receiver gone first: handed back to the sender.
    let (tx, rx) = oneshot::channel();
    drop(rx);
    let back = tx.send(Tracked::new(2, &drops)).unwrap_err();
    assert_eq!(get(&drops), 2);
    drop(back);
    assert_eq!(get(&drops), 3);
    // Racing drops across threads.
    for i in 0..size(500, 10) {
        let (tx, rx) = oneshot::channel();
        let d = drops.clone();
        let t = std::thread::spawn(move || {
            let _ = tx.send(Tracked::new(i, &d));
        });
        if i % 2 == 0 {
            drop(rx);
        } else {
            let _ = block_on(rx);
        }
        t.join().unwrap();
    }
    assert_eq!(get(&drops), 3 + size(500, 10));
}

#[test]
fn blocking_recv() {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || tx.send(9).unwrap());
    assert_eq!(rx.blocking_recv(), Ok(9));
}
