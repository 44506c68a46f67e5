//! smol's sync, timer and file workloads (see `workloads/sync.rs`, `time.rs`, `fs.rs`
//! for what each measures): async-channel, async-lock, event-listener, async-io's
//! `Timer`, async-fs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::task::Poll;
use std::time::{Duration, Instant};

use event_listener::Event;
use smol::channel;
use smol::future::yield_now;
use smol::lock::{Mutex, Semaphore};
use smol::{Task, Timer};

use super::Rt;
use crate::Size;

fn mpsc_contended(rt: &Rt, size: Size, cap: Option<usize>) -> Duration {
    let per = size.pick(1_000, 20);
    let producers = 5;
    // async-channel allocates a bounded channel's every slot up front (16 MiB at a
    // capacity of 1,000,000; tokio's and magpie's allocate blocks as messages come), so
    // the channel is made before the clock starts: the row times sends and receives.
    let (tx, rx) = match cap {
        Some(cap) => channel::bounded::<usize>(cap),
        None => channel::unbounded::<usize>(),
    };
    let ex = rt.executor();
    let t = Instant::now();
    let sum = rt.block_on(async move {
        for _ in 0..producers {
            let tx = tx.clone();
            let task: Task<()> = if cap.is_some() {
                ex.spawn(async move {
                    for i in 0..per {
                        tx.send(i).await.unwrap();
                    }
                })
            } else {
                // Unbounded: never full, so the synchronous send (tokio's `send`).
                ex.spawn(async move {
                    for i in 0..per {
                        tx.try_send(i).unwrap();
                    }
                })
            };
            task.detach();
        }
        drop(tx);
        let mut sum = 0usize;
        while let Ok(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, producers * per * (per - 1) / 2);
    d
}

/// 5 producers x 1,000 messages, bounded capacity 1,000,000 (channel made untimed).
pub fn mpsc_contended_bounded(rt: &Rt, size: Size) -> Duration {
    mpsc_contended(rt, size, Some(1_000_000))
}

/// The same with capacity 100.
pub fn mpsc_contended_bounded_full(rt: &Rt, size: Size) -> Duration {
    mpsc_contended(rt, size, Some(100))
}

/// The same, unbounded.
pub fn mpsc_contended_unbounded(rt: &Rt, size: Size) -> Duration {
    mpsc_contended(rt, size, None)
}

fn mpsc_uncontended(rt: &Rt, size: Size, cap: Option<usize>) -> Duration {
    let n = size.pick(5_000, 50);
    // Made untimed, as in `mpsc_contended`.
    let (tx, rx) = match cap {
        Some(cap) => channel::bounded::<usize>(cap),
        None => channel::unbounded::<usize>(),
    };
    let t = Instant::now();
    let sum = rt.block_on(async move {
        for i in 0..n {
            if cap.is_some() {
                tx.send(i).await.unwrap();
            } else {
                tx.try_send(i).unwrap();
            }
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

/// 5,000 sends then 5,000 receives in one task, bounded 1,000,000 (made untimed).
pub fn mpsc_uncontended_bounded(rt: &Rt, size: Size) -> Duration {
    mpsc_uncontended(rt, size, Some(1_000_000))
}

/// The same, unbounded.
pub fn mpsc_uncontended_unbounded(rt: &Rt, size: Size) -> Duration {
    mpsc_uncontended(rt, size, None)
}

/// 1,000 sequential requests to a server task (capacity 100), each answered over its
/// own one-slot channel.
pub fn mpsc_request_reply(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let ex = rt.executor();
    let t = Instant::now();
    let sum = rt.block_on(async move {
        let (tx, rx) = channel::bounded::<(usize, channel::Sender<usize>)>(100);
        let server = ex.spawn(async move {
            while let Ok((v, reply)) = rx.recv().await {
                let _ = reply.try_send(v + 1);
            }
        });
        let mut sum = 0;
        for i in 0..n {
            let (otx, orx) = channel::bounded(1);
            tx.send((i, otx)).await.unwrap();
            sum += orx.recv().await.unwrap();
        }
        drop(tx);
        server.await;
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n * (n + 1) / 2);
    d
}

const NOTIFY_ROUNDS: usize = 20;

/// `waiters` tasks listen on one `Event`; 20 rounds of `notify(usize::MAX)`, each after
/// every waiter has registered (a channel says so: an `Event` keeps no permit).
fn notify_waiters(rt: &Rt, size: Size, waiters: usize) -> Duration {
    let rounds = size.pick(NOTIFY_ROUNDS, 2);
    let waiters = size.pick(waiters, waiters.min(10));
    let ex = rt.executor();
    let t = Instant::now();
    let woken = rt.block_on(async move {
        let event = Arc::new(Event::new());
        let (all_ready, all_ready_rx) = channel::unbounded::<()>();
        let ready = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..waiters)
            .map(|_| {
                let (event, all_ready) = (event.clone(), all_ready.clone());
                let (ready, woken) = (ready.clone(), woken.clone());
                ex.spawn(async move {
                    for _ in 0..rounds {
                        let listener = event.listen();
                        if ready.fetch_add(1, SeqCst) + 1 == waiters {
                            ready.store(0, SeqCst);
                            all_ready.try_send(()).unwrap();
                        }
                        listener.await;
                        woken.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        for _ in 0..rounds {
            all_ready_rx.recv().await.unwrap();
            event.notify(usize::MAX);
        }
        for h in hs {
            h.await;
        }
        woken.load(SeqCst)
    });
    let d = t.elapsed();
    assert_eq!(woken, waiters * rounds);
    d
}

/// notify_waiters with 10 waiters.
pub fn notify_waiters_10(rt: &Rt, size: Size) -> Duration {
    notify_waiters(rt, size, 10)
}
/// notify_waiters with 100 waiters.
pub fn notify_waiters_100(rt: &Rt, size: Size) -> Duration {
    notify_waiters(rt, size, 100)
}
/// notify_waiters with 500 waiters.
pub fn notify_waiters_500(rt: &Rt, size: Size) -> Duration {
    notify_waiters(rt, size, 500)
}

/// `waiters` tasks pass a baton with `notify(1)`, 20 x waiters wake-ups. An `Event`
/// keeps no permit, so the baton starts only once every waiter listens.
fn notify_one(rt: &Rt, size: Size, waiters: usize) -> Duration {
    let rounds = size.pick(NOTIFY_ROUNDS, 2);
    let waiters = size.pick(waiters, waiters.min(10));
    let total = rounds * waiters;
    let ex = rt.executor();
    let t = Instant::now();
    let woken = rt.block_on(async move {
        let event = Arc::new(Event::new());
        let fin = Arc::new(Event::new());
        let (all_ready, all_ready_rx) = channel::bounded::<()>(1);
        let ready = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let fin_listener = fin.listen();
        let hs: Vec<_> = (0..waiters)
            .map(|_| {
                let (event, fin, woken) = (event.clone(), fin.clone(), woken.clone());
                let (ready, all_ready) = (ready.clone(), all_ready.clone());
                ex.spawn(async move {
                    let mut listener = event.listen();
                    if ready.fetch_add(1, SeqCst) + 1 == waiters {
                        all_ready.try_send(()).unwrap();
                    }
                    loop {
                        listener.await;
                        let k = woken.fetch_add(1, SeqCst) + 1;
                        if k >= total {
                            // Done: wake one more so every waiter sees it.
                            if k == total {
                                fin.notify(1);
                            }
                            event.notify(1);
                            return;
                        }
                        // Listen again before passing the baton: an `Event` keeps no
                        // permit, so a notify that found this task between the two
                        // would be lost at the end (tokio's Notify stores it).
                        listener = event.listen();
                        event.notify(1);
                    }
                })
            })
            .collect();
        all_ready_rx.recv().await.unwrap();
        event.notify(1);
        fin_listener.await;
        for h in hs {
            h.await;
        }
        woken.load(SeqCst)
    });
    let d = t.elapsed();
    assert_eq!(woken, total + waiters - 1);
    d
}

/// notify_one baton with 10 waiters.
pub fn notify_one_10(rt: &Rt, size: Size) -> Duration {
    notify_one(rt, size, 10)
}
/// notify_one baton with 100 waiters.
pub fn notify_one_100(rt: &Rt, size: Size) -> Duration {
    notify_one(rt, size, 100)
}
/// notify_one baton with 500 waiters.
pub fn notify_one_500(rt: &Rt, size: Size) -> Duration {
    notify_one(rt, size, 500)
}

/// 5 tasks x 1,000 increments of an async-lock `Mutex<usize>`.
pub fn mutex_contended(rt: &Rt, size: Size) -> Duration {
    let per = size.pick(1_000, 20);
    let tasks = 5;
    let ex = rt.executor();
    let t = Instant::now();
    let v = rt.block_on(async move {
        let m = Arc::new(Mutex::new(0usize));
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                let m = m.clone();
                ex.spawn(async move {
                    for _ in 0..per {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await;
        }
        *m.lock().await
    });
    let d = t.elapsed();
    assert_eq!(v, tasks * per);
    d
}

/// 5 tasks x 1,000 acquire / yield / release on an async-lock `Semaphore` of 2.
pub fn semaphore_contended(rt: &Rt, size: Size) -> Duration {
    let per = size.pick(1_000, 20);
    let tasks = 5;
    let ex = rt.executor();
    let t = Instant::now();
    let done = rt.block_on(async move {
        let s = Arc::new(Semaphore::new(2));
        let count = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                let (s, count) = (s.clone(), count.clone());
                ex.spawn(async move {
                    for _ in 0..per {
                        let _p = s.acquire().await;
                        count.fetch_add(1, Relaxed);
                        yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await;
        }
        // Both permits are back (async-lock has no `available_permits`).
        let (a, b) = (s.try_acquire(), s.try_acquire());
        assert!(a.is_some() && b.is_some() && s.try_acquire().is_none());
        count.load(SeqCst)
    });
    let d = t.elapsed();
    assert_eq!(done, tasks * per);
    d
}

/// 100,000 async-io `Timer`s (1..2 s) polled once so they register, then dropped.
pub fn timer_insert_cancel(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(100_000, 100);
    let t = Instant::now();
    let pending = rt.block_on(async move {
        let mut v: Vec<Timer> = (0..n)
            .map(|i| Timer::after(Duration::from_millis(1_000 + (i % 1_000) as u64)))
            .collect();
        let pending = std::future::poll_fn(|cx| {
            let mut pending = 0;
            for s in v.iter_mut() {
                if Pin::new(s).poll(cx).is_pending() {
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

/// 100,000 timers firing: 1,000 tasks each wait on 100 `Timer`s of 1..=5 ms.
pub fn timer_fire(rt: &Rt, size: Size) -> Duration {
    let tasks = size.pick(1_000, 10);
    let per = size.pick(100, 10);
    let fired = Arc::new(AtomicUsize::new(0));
    let ex = rt.executor();
    let t = Instant::now();
    rt.block_on(async {
        let hs: Vec<_> = (0..tasks)
            .map(|k| {
                let fired = fired.clone();
                ex.spawn(async move {
                    let mut v: Vec<Timer> = (0..per)
                        .map(|i| Timer::after(Duration::from_millis(1 + ((i + k) % 5) as u64)))
                        .collect();
                    std::future::poll_fn(|cx| {
                        v.retain_mut(|s| Pin::new(s).poll(cx).is_pending());
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
            h.await;
        }
    });
    let d = t.elapsed();
    assert_eq!(fired.load(SeqCst), tasks * per);
    d
}

/// Reads the shared fixture through async-fs's `File` with `buf_len`-byte reads.
fn fs_read(size: Size, buf_len: usize, rt: &Rt) -> Duration {
    use smol::io::AsyncReadExt as _;
    let (path, len) = crate::fs_fixture(size);
    rt.block_on(async {
        let mut buf = vec![0u8; buf_len];
        let t = Instant::now();
        let mut f = smol::fs::File::open(path).await.expect("open fixture");
        let mut total = 0usize;
        loop {
            let n = f.read(&mut buf).await.expect("read fixture");
            if n == 0 {
                break;
            }
            assert_eq!(buf[n - 1], ((total + n - 1) % 253) as u8);
            total += n;
        }
        let d = t.elapsed();
        assert_eq!(total, len);
        d
    })
}

/// 100 MiB with 64 KiB reads.
pub fn fs_read_100mib(rt: &Rt, size: Size) -> Duration {
    fs_read(size, 64 * 1024, rt)
}

/// 100 MiB with 8 KiB reads.
pub fn fs_read_100mib_8k_reads(rt: &Rt, size: Size) -> Duration {
    fs_read(size, 8 * 1024, rt)
}
