mod common;

use common::*;
use magpie_sync::{Semaphore, TryAcquireError};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

#[test]
fn acquire_release_and_counts() {
    let s = Semaphore::new(3);
    block_on(async {
        let a = s.acquire().await.unwrap();
        let b = s.acquire_many(2).await.unwrap();
        assert_eq!(b.num_permits(), 2);
        assert_eq!(s.available_permits(), 0);
        assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(a);
        assert_eq!(s.available_permits(), 1);
        drop(b);
        assert_eq!(s.available_permits(), 3);
    });
}

#[test]
fn fifo_large_request_is_not_starved() {
    let s = Semaphore::new(0);
    let mut big = pin!(s.acquire_many(2));
    let mut small = pin!(s.acquire());
    assert!(poll_once(big.as_mut()).is_pending());
    assert!(poll_once(small.as_mut()).is_pending());
    s.add_permits(1);
    // The permit goes to the head (big), not to the small request behind it.
    assert!(poll_once(small.as_mut()).is_pending());
    assert!(poll_once(big.as_mut()).is_pending());
    assert_eq!(s.available_permits(), 0);
    // A newcomer must not barge past the queue either.
    assert!(s.try_acquire().is_err());
    s.add_permits(1);
    let Poll::Ready(Ok(p)) = poll_once(big.as_mut()) else {
        panic!("big should hold 2 permits now")
    };
    assert!(poll_once(small.as_mut()).is_pending());
    drop(p);
    assert!(matches!(poll_once(small.as_mut()), Poll::Ready(Ok(_))));
}

#[test]
fn fifo_order_of_single_waiters() {
    let s = Semaphore::new(0);
    let order = std::cell::RefCell::new(Vec::new());
    let mut futs: Vec<_> = (0..5)
        .map(|i| {
            let s = &s;
            let order = &order;
            Some(Box::pin(async move {
                let p = s.acquire().await.unwrap();
                order.borrow_mut().push(i);
                p.forget();
            }))
        })
        .collect();
    for f in futs.iter_mut().flatten() {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    for _ in 0..5 {
        s.add_permits(1);
        for slot in futs.iter_mut().rev() {
            if let Some(f) = slot
                && poll_once(f.as_mut()).is_ready()
            {
                *slot = None;
            }
        }
    }
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
}

#[test]
fn dropped_partial_acquire_returns_permits() {
    let s = Semaphore::new(1);
    let mut big = Box::pin(s.acquire_many(3));
    assert!(poll_once(big.as_mut()).is_pending());
    assert_eq!(s.available_permits(), 0); // the one permit is assigned to `big`
    s.add_permits(1);
    assert_eq!(s.available_permits(), 0);
    drop(big);
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn dropped_granted_acquire_hands_permit_on() {
    let s = Semaphore::new(1);
    let held = s.try_acquire().unwrap();
    let mut a = Box::pin(s.acquire());
    let mut b = pin!(s.acquire());
    let (wa, ca) = count_waker();
    assert!(poll_with(a.as_mut(), &wa).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(held); // granted to `a`, which is woken but never polled again
    assert_eq!(ca.count(), 1);
    drop(a); // must hand it to `b`
    assert!(matches!(poll_once(b.as_mut()), Poll::Ready(Ok(_))));
}

#[test]
fn dropped_granted_acquire_without_others_restores_pool() {
    let s = Semaphore::new(1);
    let held = s.try_acquire().unwrap();
    let mut a = Box::pin(s.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    drop(held);
    assert_eq!(s.available_permits(), 0);
    drop(a);
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn close_fails_waiters_and_returns_partial() {
    let s = Semaphore::new(1);
    let mut a = pin!(s.acquire_many(2));
    let (w, c) = count_waker();
    assert!(poll_with(a.as_mut(), &w).is_pending());
    s.close();
    assert_eq!(c.count(), 1);
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(Err(_))));
    assert_eq!(s.available_permits(), 1);
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::Closed);
    assert!(block_on(s.acquire()).is_err());
    assert!(s.is_closed());
}

#[test]
fn owned_permits_forget_split_merge() {
    let s = Arc::new(Semaphore::new(4));
    let mut p = block_on(s.clone().acquire_many_owned(3)).unwrap();
    let q = p.split(2).unwrap();
    assert_eq!((p.num_permits(), q.num_permits()), (1, 2));
    assert!(p.split(5).is_none());
    p.merge(q);
    assert_eq!(p.num_permits(), 3);
    let one = s.clone().try_acquire_owned().unwrap();
    assert!(s.clone().try_acquire_owned().is_err());
    one.forget();
    drop(p);
    assert_eq!(s.available_permits(), 3);
    assert_eq!(s.forget_permits(2), 2);
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn stress_never_exceeds_permits() {
    let s = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let (s, inside, max) = (s.clone(), inside.clone(), max.clone());
            std::thread::spawn(move || {
                for _ in 0..size(2000, 20) {
                    block_on(async {
                        let n = if i % 3 == 0 { 2 } else { 1 };
                        let _p = s.acquire_many(n).await.unwrap();
                        let now = inside.fetch_add(n as usize, Ordering::SeqCst) + n as usize;
                        max.fetch_max(now, Ordering::SeqCst);
                        std::hint::spin_loop();
                        inside.fetch_sub(n as usize, Ordering::SeqCst);
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(max.load(Ordering::SeqCst) <= 3);
    assert_eq!(s.available_permits(), 3);
}
