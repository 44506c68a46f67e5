mod common;

use common::*;
use magpie_sync::RwLock;
use std::pin::pin;
use std::sync::Arc;

#[test]
fn readers_share_writer_excludes() {
    let l = RwLock::new(1);
    let r1 = l.try_read().unwrap();
    let r2 = l.try_read().unwrap();
    assert!(l.try_write().is_err());
    drop((r1, r2));
    let mut w = l.try_write().unwrap();
    *w = 2;
    assert!(l.try_read().is_err());
    drop(w);
    assert_eq!(*block_on(l.read()), 2);
}

#[test]
fn write_preferring_fifo() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = pin!(l.write());
    assert!(poll_once(w.as_mut()).is_pending());
    // A queued writer blocks new readers.
    assert!(l.try_read().is_err());
    let mut r2 = pin!(l.read());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(r);
    assert!(poll_once(r2.as_mut()).is_pending());
    let std::task::Poll::Ready(mut g) = poll_once(w.as_mut()) else {
        panic!("writer should hold the lock")
    };
    *g += 1;
    drop(g);
    assert!(poll_once(r2.as_mut()).is_ready());
}

#[test]
fn cancelled_writer_returns_read_slots() {
    let l = RwLock::new(());
    let r = l.try_read().unwrap();
    let mut w = Box::pin(l.write());
    assert!(poll_once(w.as_mut()).is_pending());
    drop(w);
    drop(r);
    assert!(l.try_write().is_ok());
}

#[test]
fn downgrade_and_owned_guards() {
    let l = Arc::new(RwLock::new(5));
    let w = block_on(l.clone().write_owned());
    let r = w.downgrade();
    assert!(l.try_read().is_ok());
    assert!(l.try_write().is_err());
    drop(r);
    let w = l.try_write().unwrap();
    let r = w.downgrade();
    assert_eq!(*r, 5);
    drop(r);
    let _r = l.clone().try_read_owned().unwrap();
    assert!(l.clone().try_write_owned().is_err());
}

#[test]
fn stress_readers_and_writers() {
    let l = Arc::new(RwLock::new((0u64, 0u64)));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let l = l.clone();
            std::thread::spawn(move || {
                for _ in 0..size(2000, 20) {
                    if i % 2 == 0 {
                        let mut g = l.blocking_write();
                        g.0 += 1;
                        g.1 += 1;
                    } else {
                        let g = l.blocking_read();
                        assert_eq!(g.0, g.1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let writes = 2 * size(2000, 20) as u64;
    assert_eq!(*l.try_read().unwrap(), (writes, writes));
}
