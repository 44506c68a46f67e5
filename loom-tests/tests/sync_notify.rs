#![cfg(loom)]
//! Loom models of `magpie_sync::Notify`.

mod sync_util;
use loom::thread;
use magpie_sync::Notify;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};
use sync_util::block_on;

#[test]
fn notify_one_vs_notified() {
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let t = thread::spawn(move || n2.notify_one());
        block_on(n.notified());
        t.join().unwrap();
    });
}

#[test]
fn notify_one_vs_notified_drop_passes_it_on() {
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        {
            let mut a = Box::pin(n.notified());
            let _ = a.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            let t = thread::spawn(move || n2.notify_one());
            // Drop `a` while the notification may be landing on it.
            drop(a);
            t.join().unwrap();
        }
        // The notification must not be lost: it is stored for the next waiter.
        block_on(n.notified());
    });
}

#[test]
fn notify_waiters_vs_enable() {
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let (n2, f2) = (n.clone(), flag.clone());
        let t = thread::spawn(move || {
            f2.store(true, loom::sync::atomic::Ordering::SeqCst);
            n2.notify_waiters();
        });
        loop {
            let notified = n.notified();
            if flag.load(loom::sync::atomic::Ordering::SeqCst) {
                break;
            }
            block_on(notified);
        }
        t.join().unwrap();
    });
}

#[test]
fn notified_owned_in_another_thread_vs_notify_one() {
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let fut = n.clone().notified_owned();
        let t = thread::spawn(move || block_on(fut));
        n.notify_one();
        t.join().unwrap();
    });
}

#[test]
fn notified_owned_drop_passes_notify_one_on() {
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let mut a = Box::pin(n.clone().notified_owned());
        assert!(!a.as_mut().enable());
        let n2 = n.clone();
        let t = thread::spawn(move || n2.notify_one());
        drop(a);
        t.join().unwrap();
        block_on(n.clone().notified_owned());
    });
}

/// A queued `Notified` re-polled with a different waker swaps it outside the lock: a
/// `notify_one` landing in that gap is not lost.
#[test]
fn notified_waker_replacement_vs_notify_one() {
    loom::model(|| {
        let n = Arc::new(Notify::new());
        let mut a = Box::pin(n.notified());
        let _ = a.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let n2 = n.clone();
        let t = thread::spawn(move || n2.notify_one());
        block_on(a);
        t.join().unwrap();
    });
}
