#![cfg(loom)]
//! Loom models of `magpie_sync::oneshot`.

mod sync_util;
use loom::thread;
use magpie_sync::oneshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use sync_util::block_on;

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn send_vs_recv() {
    loom::model(|| {
        let (tx, rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(block_on(rx), Ok(1));
        t.join().unwrap();
    });
}

#[test]
fn sender_drop_vs_recv() {
    loom::model(|| {
        let (tx, rx) = oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(tx));
        assert!(block_on(rx).is_err());
        t.join().unwrap();
    });
}

#[test]
fn send_vs_receiver_drop_drops_value_once() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel();
        let d = drops.clone();
        let t = thread::spawn(move || {
            if let Err(v) = tx.send(Tracked(d)) {
                drop(v);
            }
        });
        drop(rx);
        t.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn closed_vs_receiver_drop() {
    loom::model(|| {
        let (mut tx, rx) = oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(rx));
        block_on(tx.closed());
        assert!(tx.is_closed());
        t.join().unwrap();
    });
}
