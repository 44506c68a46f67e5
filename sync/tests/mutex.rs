mod common;

use common::*;
use magpie_sync::Mutex;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

#[test]
fn lock_try_lock_get_mut() {
    let mut m = Mutex::new(5);
    block_on(async {
        let mut g = m.lock().await;
        *g += 1;
        assert!(m.try_lock().is_err());
    });
    assert_eq!(*m.try_lock().unwrap(), 6);
    *m.get_mut() += 1;
    assert_eq!(m.into_inner(), 7);
}

#[test]
fn fifo_handoff() {
    let m = Mutex::new(Vec::new());
    let g = m.try_lock().unwrap();
    let mut f1 = pin!(async {
        m.lock().await.push(1);
    });
    let mut f2 = pin!(async {
        m.lock().await.push(2);
    });
    let mut f3 = pin!(async {
        m.lock().await.push(3);
    });
    assert!(poll_once(f1.as_mut()).is_pending());
    assert!(poll_once(f2.as_mut()).is_pending());
    assert!(poll_once(f3.as_mut()).is_pending());
    drop(g);
    // The lock was handed to f1: nobody may barge in, not even try_lock.
    assert!(m.try_lock().is_err());
    assert!(poll_once(f3.as_mut()).is_pending());
    assert!(poll_once(f2.as_mut()).is_pending());
    assert!(poll_once(f1.as_mut()).is_ready());
    assert!(poll_once(f3.as_mut()).is_pending());
    assert!(poll_once(f2.as_mut()).is_ready());
    assert!(poll_once(f3.as_mut()).is_ready());
    assert_eq!(*m.try_lock().unwrap(), [1, 2, 3]);
}

#[test]
fn cancelled_waiter_never_leaves_it_locked() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    // Dropped while queued.
    let mut a = Box::pin(m.lock());
    assert!(poll_once(a.as_mut()).is_pending());
    // Dropped after the handoff, before it observed it.
    let mut b = Box::pin(m.lock());
    assert!(poll_once(b.as_mut()).is_pending());
    let mut c = pin!(m.lock());
    assert!(poll_once(c.as_mut()).is_pending());
    drop(a);
    drop(g); // handed to b
    drop(b); // must pass to c
    let Poll::Ready(g) = poll_once(c.as_mut()) else {
        panic!("c should own the lock")
    };
    drop(g);
    assert!(m.try_lock().is_ok());
}

#[test]
fn owned_guard_moves_across_threads() {
    let m = Arc::new(Mutex::new(String::new()));
    let g = block_on(m.clone().lock_owned());
    let t = std::thread::spawn(move || {
        let mut g = g;
        g.push_str("hi");
    });
    t.join().unwrap();
    assert_eq!(&*m.clone().try_lock_owned().unwrap(), "hi");
    assert_eq!(&*m.blocking_lock(), "hi");
}

#[test]
fn contended_counter() {
    let m = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..size(5000, 20) {
                    block_on(async {
                        let mut g = m.lock().await;
                        let v = *g;
                        std::hint::spin_loop();
                        *g = v + 1;
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), 4 * size(5000, 20) as u64);
}

#[test]
fn debug_shows_locked() {
    let m = Mutex::new(1);
    assert_eq!(format!("{m:?}"), "Mutex { data: 1 }");
    let _g = m.try_lock().unwrap();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
}
