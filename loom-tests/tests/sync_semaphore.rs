#![cfg(loom)]
//! Loom models of the semaphore core (`magpie_sync::Semaphore`).

mod sync_util;
use loom::thread;
use magpie_sync::Semaphore;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};
use sync_util::block_on;

#[test]
fn acquire_drop_vs_release() {
    loom::model(|| {
        let s = Arc::new(Semaphore::new(0));
        let s2 = s.clone();
        {
            let mut a = Box::pin(s.acquire());
            assert!(
                a.as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_pending()
            );
            let t = thread::spawn(move || s2.add_permits(1));
            drop(a);
            t.join().unwrap();
        }
        assert_eq!(s.available_permits(), 1);
    });
}

#[test]
fn two_acquirers_one_permit() {
    loom::model(|| {
        let s = Arc::new(Semaphore::new(1));
        let in_use = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (s, in_use) = (s.clone(), in_use.clone());
                thread::spawn(move || {
                    block_on(async {
                        let _p = s.acquire().await.unwrap();
                        let prev = in_use.fetch_add(1, loom::sync::atomic::Ordering::SeqCst);
                        assert_eq!(prev, 0);
                        in_use.fetch_sub(1, loom::sync::atomic::Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(s.available_permits(), 1);
    });
}

#[test]
fn partial_acquire_vs_close() {
    loom::model(|| {
        let s = Arc::new(Semaphore::new(1));
        let s2 = s.clone();
        let t = thread::spawn(move || block_on(s2.acquire_many(2)).map(|p| p.forget()));
        s.close();
        assert!(t.join().unwrap().is_err());
        // The permit assigned to the failed waiter (if any) came back.
        assert_eq!(s.available_permits(), 1);
    });
}

/// A queued acquire re-polled with a different waker swaps it outside the lock (drop
/// the lock, clone, re-lock, re-check): a release landing in that gap is not lost.
#[test]
fn acquire_waker_replacement_vs_release() {
    loom::model(|| {
        let s = Arc::new(Semaphore::new(0));
        let s2 = s.clone();
        let mut a = Box::pin(s.acquire());
        assert!(
            a.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        let t = thread::spawn(move || s2.add_permits(1));
        // `block_on`'s waker differs from the stored no-op one.
        drop(block_on(a).unwrap());
        t.join().unwrap();
        assert_eq!(s.available_permits(), 1);
    });
}

/// `forget_permits` racing `close` and a release never spins and never loses count.
#[test]
fn forget_vs_close_and_release() {
    loom::model(|| {
        let s = Arc::new(Semaphore::new(2));
        let s2 = s.clone();
        let t = thread::spawn(move || {
            s2.close();
            s2.add_permits(1);
        });
        let forgot = s.forget_permits(2);
        t.join().unwrap();
        assert_eq!(forgot + s.available_permits(), 3);
    });
}
