//! Sync workloads: mpsc, oneshot, Notify, Mutex, Semaphore (tokio's `sync_*` benches).
//!
//! Compiled once per runtime crate; `super::rt` is `magpie` or `tokio` (crate docs).

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

use super::rt;
use crate::Size;
use rt::runtime::Runtime;
use rt::sync::{Mutex, Notify, Semaphore, mpsc, oneshot};

fn mpsc_contended(rt: &Runtime, size: Size, cap: Option<usize>) -> Duration {
    let per = size.pick(1_000, 20);
    let producers = 5;
    let t = Instant::now();
    let sum = rt.block_on(async move {
        let mut sum = 0usize;
        match cap {
            Some(cap) => {
                let (tx, mut rx) = mpsc::channel::<usize>(cap);
                for _ in 0..producers {
                    let tx = tx.clone();
                    rt::spawn(async move {
                        for i in 0..per {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                drop(tx);
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
            }
            None => {
                let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
                for _ in 0..producers {
                    let tx = tx.clone();
                    rt::spawn(async move {
                        for i in 0..per {
                            tx.send(i).unwrap();
                        }
                    });
                }
                drop(tx);
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
            }
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, producers * per * (per - 1) / 2);
    d
}

/// 5 producer tasks x 1,000 messages into a bounded channel of capacity
/// 1,000,000; `block_on` receives (tokio sync_mpsc: contention_bounded).
pub fn mpsc_contended_bounded(rt: &Runtime, size: Size) -> Duration {
    mpsc_contended(rt, size, Some(1_000_000))
}

/// The same with capacity 100, so producers wait for room (tokio:
/// contention_bounded_full).
pub fn mpsc_contended_bounded_full(rt: &Runtime, size: Size) -> Duration {
    mpsc_contended(rt, size, Some(100))
}

/// The same, unbounded (tokio: contention_unbounded).
pub fn mpsc_contended_unbounded(rt: &Runtime, size: Size) -> Duration {
    mpsc_contended(rt, size, None)
}

/// 5,000 sends then 5,000 receives from one task, bounded capacity 1,000,000
/// (tokio: uncontented_bounded).
pub fn mpsc_uncontended_bounded(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(5_000, 50);
    let t = Instant::now();
    let sum = rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<usize>(1_000_000);
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.recv().await.unwrap();
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n * (n - 1) / 2);
    d
}

/// The same, unbounded (tokio: uncontented_unbounded).
pub fn mpsc_uncontended_unbounded(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(5_000, 50);
    let t = Instant::now();
    let sum = rt.block_on(async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
        for i in 0..n {
            tx.send(i).unwrap();
        }
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.recv().await.unwrap();
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n * (n - 1) / 2);
    d
}

/// 1,000 sequential requests to a server task over an mpsc (capacity 100),
/// each answered over its own oneshot.
pub fn mpsc_request_reply(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let t = Instant::now();
    let sum = rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<(usize, oneshot::Sender<usize>)>(100);
        let server = rt::spawn(async move {
            while let Some((v, reply)) = rx.recv().await {
                let _ = reply.send(v + 1);
            }
        });
        let mut sum = 0;
        for i in 0..n {
            let (otx, orx) = oneshot::channel();
            tx.send((i, otx)).await.unwrap();
            sum += orx.await.unwrap();
        }
        drop(tx);
        server.await.unwrap();
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n * (n + 1) / 2);
    d
}

const NOTIFY_ROUNDS: usize = 20;

/// `waiters` tasks wait on one Notify; 20 rounds of `notify_waiters`, each
/// after every waiter has registered (tokio sync_notify: notify_waiters).
fn notify_waiters(rt: &Runtime, size: Size, waiters: usize) -> Duration {
    let rounds = size.pick(NOTIFY_ROUNDS, 2);
    let waiters = size.pick(waiters, waiters.min(10));
    let t = Instant::now();
    let woken = rt.block_on(async move {
        let notify = Arc::new(Notify::new());
        let all_ready = Arc::new(Notify::new());
        let ready = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..waiters)
            .map(|_| {
                let (notify, all_ready) = (notify.clone(), all_ready.clone());
                let (ready, woken) = (ready.clone(), woken.clone());
                rt::spawn(async move {
                    for _ in 0..rounds {
                        let notified = notify.notified();
                        let mut notified = std::pin::pin!(notified);
                        notified.as_mut().enable();
                        if ready.fetch_add(1, SeqCst) + 1 == waiters {
                            ready.store(0, SeqCst);
                            all_ready.notify_one();
                        }
                        notified.await;
                        woken.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        for _ in 0..rounds {
            all_ready.notified().await;
            notify.notify_waiters();
        }
        for h in hs {
            h.await.unwrap();
        }
        woken.load(SeqCst)
    });
    let d = t.elapsed();
    assert_eq!(woken, waiters * rounds);
    d
}

/// notify_waiters with 10 waiters.
pub fn notify_waiters_10(rt: &Runtime, size: Size) -> Duration {
    notify_waiters(rt, size, 10)
}
/// notify_waiters with 100 waiters.
pub fn notify_waiters_100(rt: &Runtime, size: Size) -> Duration {
    notify_waiters(rt, size, 100)
}
/// notify_waiters with 500 waiters.
pub fn notify_waiters_500(rt: &Runtime, size: Size) -> Duration {
    notify_waiters(rt, size, 500)
}

/// `waiters` tasks pass a baton through `notify_one`: each wake-up counts
/// and notifies the next, 20 x waiters wake-ups in all (tokio sync_notify:
/// notify_one).
fn notify_one(rt: &Runtime, size: Size, waiters: usize) -> Duration {
    let rounds = size.pick(NOTIFY_ROUNDS, 2);
    let waiters = size.pick(waiters, waiters.min(10));
    let total = rounds * waiters;
    let t = Instant::now();
    let woken = rt.block_on(async move {
        let notify = Arc::new(Notify::new());
        let fin = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..waiters)
            .map(|_| {
                let (notify, fin, woken) = (notify.clone(), fin.clone(), woken.clone());
                rt::spawn(async move {
                    loop {
                        notify.notified().await;
                        let k = woken.fetch_add(1, SeqCst) + 1;
                        if k >= total {
                            // Done: wake one more so every waiter sees it.
                            if k == total {
                                fin.notify_one();
                            }
                            notify.notify_one();
                            return;
                        }
                        notify.notify_one();
                    }
                })
            })
            .collect();
        notify.notify_one();
        fin.notified().await;
        for h in hs {
            h.await.unwrap();
        }
        woken.load(SeqCst)
    });
    let d = t.elapsed();
    assert_eq!(woken, total + waiters - 1);
    d
}

/// notify_one baton with 10 waiters.
pub fn notify_one_10(rt: &Runtime, size: Size) -> Duration {
    notify_one(rt, size, 10)
}
/// notify_one baton with 100 waiters.
pub fn notify_one_100(rt: &Runtime, size: Size) -> Duration {
    notify_one(rt, size, 100)
}
/// notify_one baton with 500 waiters.
pub fn notify_one_500(rt: &Runtime, size: Size) -> Duration {
    notify_one(rt, size, 500)
}

/// 5 tasks x 1,000 increments of a `Mutex<usize>` (tokio sync_mutex:
/// contention).
pub fn mutex_contended(rt: &Runtime, size: Size) -> Duration {
    let per = size.pick(1_000, 20);
    let tasks = 5;
    let t = Instant::now();
    let v = rt.block_on(async move {
        let m = Arc::new(Mutex::new(0usize));
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                let m = m.clone();
                rt::spawn(async move {
                    for _ in 0..per {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        *m.lock().await
    });
    let d = t.elapsed();
    assert_eq!(v, tasks * per);
    d
}

/// 5 tasks x 1,000 acquire / yield / release on a Semaphore of 2 permits, so
/// that acquirers queue (tokio sync_semaphore: contended).
pub fn semaphore_contended(rt: &Runtime, size: Size) -> Duration {
    let per = size.pick(1_000, 20);
    let tasks = 5;
    let t = Instant::now();
    let done = rt.block_on(async move {
        let s = Arc::new(Semaphore::new(2));
        let count = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                let (s, count) = (s.clone(), count.clone());
                rt::spawn(async move {
                    for _ in 0..per {
                        let _p = s.acquire().await.unwrap();
                        count.fetch_add(1, Relaxed);
                        rt::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(s.available_permits(), 2);
        count.load(SeqCst)
    });
    let d = t.elapsed();
    assert_eq!(done, tasks * per);
    d
}
