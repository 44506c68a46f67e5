//! Timer workloads: the wheel's insert/cancel path and timers firing.
//!
//! Compiled once per runtime crate; `super::rt` is `magpie` or `tokio` (crate docs).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::rt;
use crate::Size;
use rt::runtime::Runtime;

/// 100,000 sleeps (1..2 s) created, polled once so they enter the timer
/// wheel, then dropped (cancelled), from one task.
pub fn timer_insert_cancel(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(100_000, 100);
    let t = Instant::now();
    let pending = rt.block_on(async move {
        let mut v: Vec<Pin<Box<rt::time::Sleep>>> = (0..n)
            .map(|i| {
                Box::pin(rt::time::sleep(Duration::from_millis(
                    1_000 + (i % 1_000) as u64,
                )))
            })
            .collect();
        let pending = std::future::poll_fn(|cx| {
            let mut pending = 0;
            for s in v.iter_mut() {
                if s.as_mut().poll(cx).is_pending() {
                    pending += 1;
                }
            }
            Poll::Ready(pending)
        })
        .await;
        drop(v);
        pending
    });
    let d = t.elapsed();
    assert_eq!(pending, n);
    d
}

/// 100,000 timers firing: 1,000 tasks each wait on 100 sleeps of 1..=5 ms at
/// once (polling the unfinished ones at each wake-up).
pub fn timer_fire(rt: &Runtime, size: Size) -> Duration {
    let tasks = size.pick(1_000, 10);
    let per = size.pick(100, 10);
    let fired = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    rt.block_on(async {
        let hs: Vec<_> = (0..tasks)
            .map(|k| {
                let fired = fired.clone();
                rt::spawn(async move {
                    let mut v: Vec<Pin<Box<rt::time::Sleep>>> = (0..per)
                        .map(|i| {
                            Box::pin(rt::time::sleep(Duration::from_millis(
                                1 + ((i + k) % 5) as u64,
                            )))
                        })
                        .collect();
                    std::future::poll_fn(|cx| {
                        v.retain_mut(|s| s.as_mut().poll(cx).is_pending());
                        if v.is_empty() {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })
                    .await;
                    fired.fetch_add(per, Relaxed);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let d = t.elapsed();
    assert_eq!(fired.load(SeqCst), tasks * per);
    d
}
