#![cfg(loom)]
//! Loom models of `magpie_sync::broadcast`.

mod sync_util;
use loom::thread;
use magpie_sync::broadcast::{self, error::RecvError};
use sync_util::block_on;

#[test]
fn two_receivers_see_all_values_then_closed() {
    loom::model(|| {
        let (tx, mut rx1) = broadcast::channel(2);
        let mut rx2 = tx.subscribe();
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let t2 = thread::spawn(move || {
            assert_eq!(block_on(rx2.recv()), Ok(1));
            assert_eq!(block_on(rx2.recv()), Ok(2));
            assert_eq!(block_on(rx2.recv()), Err(RecvError::Closed));
        });
        assert_eq!(block_on(rx1.recv()), Ok(1));
        assert_eq!(block_on(rx1.recv()), Ok(2));
        assert_eq!(block_on(rx1.recv()), Err(RecvError::Closed));
        t.join().unwrap();
        t2.join().unwrap();
    });
}

#[test]
fn lagged_under_concurrency() {
    loom::model(|| {
        let (tx, mut rx) = broadcast::channel(1);
        let t = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        let mut seen = Vec::new();
        loop {
            match block_on(rx.recv()) {
                Ok(v) => seen.push(v),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
        // The last value is never skipped, and values arrive in order.
        assert_eq!(seen.last(), Some(&2));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        t.join().unwrap();
    });
}

/// A receiver re-polled with a different waker replaces the stored one outside the
/// lock (clone, re-lock, re-check): a send landing in that gap is not lost.
#[test]
fn waker_replacement_vs_send() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    loom::model(|| {
        let (tx, mut rx) = broadcast::channel::<i32>(1);
        {
            let first = pin!(rx.recv());
            let mut cx = Context::from_waker(Waker::noop());
            assert_eq!(first.poll(&mut cx), Poll::Pending);
        }
        let t = thread::spawn(move || {
            tx.send(7).unwrap();
        });
        // `block_on`'s waker differs from the stored no-op one.
        assert_eq!(block_on(rx.recv()), Ok(7));
        t.join().unwrap();
    });
}
