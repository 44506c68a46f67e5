mod common;

use common::*;
use futures_core::Stream;
use magpie_sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

#[test]
fn every_receiver_sees_every_value() {
    let (tx, mut rx1) = broadcast::channel(16);
    let mut rx2 = tx.subscribe();
    for i in 0..10 {
        assert_eq!(tx.send(i).unwrap(), 2);
    }
    for i in 0..10 {
        assert_eq!(rx1.try_recv(), Ok(i));
        assert_eq!(block_on(rx2.recv()), Ok(i));
    }
    assert_eq!(rx1.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn lagged_receiver() {
    let (tx, mut rx) = broadcast::channel(4);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 10);
    assert_eq!(block_on(rx.recv()), Err(RecvError::Lagged(6)));
    for i in 6..10 {
        assert_eq!(block_on(rx.recv()), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn close_and_send_errors() {
    let (tx, mut rx) = broadcast::channel(2);
    tx.send(1).unwrap();
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    let mut r = pin!(rx.recv());
    let (w, c) = count_waker();
    assert!(poll_with(r.as_mut(), &w).is_pending());
    drop(tx2);
    assert_eq!(c.count(), 1);
    assert_eq!(poll_once(r.as_mut()), Poll::Ready(Err(RecvError::Closed)));

    let (tx, rx) = broadcast::channel::<u8>(2);
    drop(rx);
    assert_eq!(tx.send(3).unwrap_err().0, 3);
    let mut rx = tx.subscribe();
    tx.send(4).unwrap();
    let fresh = rx.resubscribe();
    assert!(fresh.is_empty());
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn values_dropped_exactly_once() {
    #[derive(Clone)]
    struct C(#[allow(dead_code)] std::sync::Arc<()>);
    let marker = std::sync::Arc::new(());
    let (tx, mut rx1) = broadcast::channel(4);
    let rx2 = tx.subscribe();
    for _ in 0..3 {
        tx.send(C(marker.clone())).unwrap();
    }
    assert_eq!(std::sync::Arc::strong_count(&marker), 4);
    drop(rx1.try_recv().unwrap());
    drop(rx2); // rx1 still needs 2 values
    assert_eq!(std::sync::Arc::strong_count(&marker), 3);
    drop(rx1); // nobody needs them
    assert_eq!(std::sync::Arc::strong_count(&marker), 1);
    drop(tx);
}

#[test]
fn stream_and_threads() {
    let (tx, rx) = broadcast::channel(1024);
    let t = std::thread::spawn(move || {
        for i in 0..size(500, 30) {
            tx.send(i).unwrap();
        }
    });
    let mut rx = pin!(rx);
    let mut got = Vec::new();
    loop {
        let next = block_on(std::future::poll_fn(|cx: &mut Context<'_>| {
            Pin::new(&mut *rx).poll_next(cx)
        }));
        match next {
            Some(Ok(v)) => got.push(v),
            Some(Err(e)) => panic!("unexpected {e:?}"),
            None => break,
        }
    }
    t.join().unwrap();
    assert_eq!(got, (0..size(500, 30)).collect::<Vec<_>>());
}
