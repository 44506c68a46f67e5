mod common;

use common::*;
use magpie_sync::watch;
use std::pin::pin;

#[test]
fn changed_borrow_and_update() {
    let (tx, mut rx) = watch::channel(0);
    assert!(!rx.has_changed().unwrap());
    {
        let mut ch = pin!(rx.changed());
        assert!(poll_once(ch.as_mut()).is_pending());
        tx.send(1).unwrap();
        assert!(poll_once(ch.as_mut()).is_ready());
    }
    assert_eq!(*rx.borrow(), 1);
    tx.send(2).unwrap();
    tx.send(3).unwrap();
    assert!(rx.has_changed().unwrap());
    let r = rx.borrow_and_update();
    assert!(r.has_changed());
    assert_eq!(*r, 3);
    drop(r);
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    block_on(rx.changed()).unwrap();
}

#[test]
fn close_semantics() {
    let (tx, mut rx) = watch::channel("a");
    tx.send("b").unwrap();
    drop(tx);
    // The unseen value is still reported, then the error.
    assert!(block_on(rx.changed()).is_ok());
    assert!(block_on(rx.changed()).is_err());
    assert_eq!(*rx.borrow(), "b");

    let (tx, rx) = watch::channel(1);
    let rx2 = rx.clone();
    assert_eq!(tx.receiver_count(), 2);
    drop(rx);
    assert!(!tx.is_closed());
    drop(rx2);
    assert!(tx.is_closed());
    block_on(tx.closed());
    assert_eq!(tx.send(5).unwrap_err().0, 5);
    assert_eq!(tx.send_replace(6), 1);
    let mut rx3 = tx.subscribe();
    assert!(!rx3.has_changed().unwrap());
    tx.send_modify(|v| *v += 1);
    assert_eq!(*rx3.borrow_and_update(), 7);
    assert!(!tx.send_if_modified(|_| false));
    assert!(!rx3.has_changed().unwrap());
}

#[test]
fn wait_for_and_threads() {
    let (tx, mut rx) = watch::channel(0u32);
    let t = std::thread::spawn(move || {
        for i in 1..=1000 {
            tx.send(i).unwrap();
        }
    });
    let v = *block_on(rx.wait_for(|v| *v == 1000)).unwrap();
    assert_eq!(v, 1000);
    t.join().unwrap();
    assert!(block_on(rx.changed()).is_err());
}

#[test]
fn cancelled_changed_loses_nothing() {
    let (tx, mut rx) = watch::channel(0);
    {
        let mut ch = Box::pin(rx.changed());
        assert!(poll_once(ch.as_mut()).is_pending());
        tx.send(1).unwrap();
        drop(ch);
    }
    assert!(rx.has_changed().unwrap());
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow(), 1);
}
