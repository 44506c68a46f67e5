#![cfg(loom)]
//! Loom models of `magpie_sync::Mutex`.

mod sync_util;
use loom::thread;
use magpie_sync::Mutex;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};
use sync_util::block_on;

#[test]
fn two_lockers_mutual_exclusion() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(0usize));
        let m2 = m.clone();
        let t = thread::spawn(move || {
            block_on(async {
                let mut g = m2.lock().await;
                let v = *g;
                loom::thread::yield_now();
                *g = v + 1;
            })
        });
        block_on(async {
            let mut g = m.lock().await;
            let v = *g;
            loom::thread::yield_now();
            *g = v + 1;
        });
        t.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
}

#[test]
fn handoff_to_dropped_waiter_is_passed_on() {
    loom::model(|| {
        let m = Arc::new(Mutex::new(()));
        let g = m.try_lock().unwrap();
        let m2 = m.clone();
        let t = thread::spawn(move || drop(block_on(m2.lock())));
        {
            let mut a = Box::pin(m.lock());
            let _ = a.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            drop(g);
            drop(a);
        }
        t.join().unwrap();
        assert!(m.try_lock().is_ok());
    });
}
