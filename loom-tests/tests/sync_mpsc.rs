#![cfg(loom)]
//! Loom models of `magpie_sync::mpsc` (block size is 2 under loom, so these models cross
//! block boundaries and exercise block release and reclamation).

mod sync_util;
use loom::thread;
use magpie_sync::mpsc;
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
fn bounded_two_senders_one_receiver() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        let tx2 = tx.clone();
        let t1 = thread::spawn(move || {
            block_on(async {
                tx.send((1, 0)).await.unwrap();
                tx.send((1, 1)).await.unwrap();
            })
        });
        let t2 = thread::spawn(move || block_on(tx2.send((2, 0))).unwrap());
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        assert_eq!(got.len(), 3);
        let ones: Vec<_> = got.iter().filter(|v| v.0 == 1).map(|v| v.1).collect();
        assert_eq!(ones, [0, 1]);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

#[test]
fn unbounded_blocks_reclaimed_under_concurrency() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let tx2 = tx.clone();
        let t1 = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let t2 = thread::spawn(move || {
            tx2.send(3).unwrap();
        });
        let mut n = 0;
        while block_on(rx.recv()).is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

#[test]
fn send_vs_receiver_drop_no_leak_no_double_drop() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel(2);
        let created = Arc::new(AtomicUsize::new(0));
        let (d, c) = (drops.clone(), created.clone());
        let t = thread::spawn(move || {
            for _ in 0..2 {
                c.fetch_add(1, SeqCst);
                if let Err(e) = block_on(tx.send(Tracked(d.clone()))) {
                    drop(e);
                    break;
                }
            }
        });
        let _ = rx.try_recv();
        drop(rx);
        t.join().unwrap();
        // Each message created is dropped exactly once: by us, by the receiver's drop,
        // or handed back in the error.
        assert_eq!(drops.load(SeqCst), created.load(SeqCst));
    });
}

#[test]
fn send_wait_vs_close() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(0).unwrap();
        let t = thread::spawn(move || block_on(tx.send(1)).is_ok());
        rx.close();
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        let sent = t.join().unwrap();
        assert_eq!(got.len(), if sent { 2 } else { 1 });
    });
}

/// A permit released after `close` (a sender still alive) makes the closed channel idle:
/// the receiver must be woken and see `None`.
#[test]
fn permit_release_after_close_wakes_receiver() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel::<i32>(1);
        let keep = tx.clone();
        let t = thread::spawn(move || {
            if let Ok(p) = tx.try_reserve() {
                drop(p);
            }
        });
        rx.close();
        assert_eq!(block_on(rx.recv()), None);
        t.join().unwrap();
        drop(keep);
    });
}

/// A `reserve` waiting for a slot races with the release of that slot and `close`:
/// whether it is granted before the close (then fails after it), fails at the close, or
/// completes and drops its permit, the receiver ends with `None`.
#[test]
fn waiting_reserve_vs_close_wakes_receiver() {
    loom::model(|| {
        let (tx, mut rx) = mpsc::channel::<i32>(1);
        let keep = tx.clone();
        let held = tx.clone().try_reserve_owned().unwrap();
        let t = thread::spawn(move || {
            if let Ok(p) = block_on(tx.reserve()) {
                drop(p);
            }
        });
        drop(held);
        rx.close();
        assert_eq!(block_on(rx.recv()), None);
        t.join().unwrap();
        drop(keep);
    });
}

/// Five indices (four messages and the close marker) span three blocks of two, so the
/// first block can be reclaimed into the spare slot while the sender still pushes, and
/// taken out again (reset) for the third block: reuse racing the receiver's reads of
/// the block after it. Every value comes out once, in order, and is dropped once. (Two
/// senders racing to link a block, whose loser puts it in the spare slot, are in
/// `unbounded_blocks_reclaimed_under_concurrency`.)
#[test]
fn unbounded_spare_block_reused_while_receiving() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let d = drops.clone();
        let t = thread::spawn(move || {
            for i in 0..4 {
                tx.send((i, Tracked(d.clone()))).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some((i, v)) = block_on(rx.recv()) {
            got.push(i);
            drop(v);
        }
        assert_eq!(got, [0, 1, 2, 3]);
        t.join().unwrap();
        drop(rx);
        assert_eq!(drops.load(SeqCst), 4);
    });
}
