#![cfg(loom)]
//! Loom models of `magpie_sync::watch`.

mod sync_util;
use loom::thread;
use magpie_sync::watch;
use sync_util::block_on;

#[test]
fn send_vs_changed_no_lost_update() {
    loom::model(|| {
        let (tx, mut rx) = watch::channel(0);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
        });
        // Either we see the new value, or the sender's drop closes the channel after
        // the value was published: in both cases the final value is 1.
        let _ = block_on(rx.changed());
        assert_eq!(*rx.borrow_and_update(), 1);
        t.join().unwrap();
    });
}

#[test]
fn sender_drop_wakes_changed() {
    loom::model(|| {
        let (tx, mut rx) = watch::channel(0);
        let t = thread::spawn(move || drop(tx));
        assert!(block_on(rx.changed()).is_err());
        t.join().unwrap();
    });
}

/// Two senders dropped concurrently: the channel closes exactly when the last goes.
#[test]
fn two_senders_drop_concurrently_then_closed() {
    loom::model(|| {
        let (tx1, mut rx) = watch::channel(0);
        let tx2 = tx1.clone();
        let t = thread::spawn(move || drop(tx2));
        assert!(rx.has_changed().is_ok(), "tx1 still keeps it open");
        drop(tx1);
        t.join().unwrap();
        assert!(rx.has_changed().is_err());
        assert!(block_on(rx.changed()).is_err());
    });
}
