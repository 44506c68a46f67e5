//! Scheduler workloads: spawning, yielding, task hand-offs, the blocking pool, local
//! tasks (tokio's `rt_multi_threaded`, `rt_current_thread` and `spawn` benches).
//!
//! Compiled once per runtime crate; `super::rt` is `magpie` or `tokio` (crate docs).

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use super::rt;
use crate::Size;
use rt::runtime::Runtime;
use rt::sync::oneshot;

/// 10,000 tasks spawned from inside `block_on`, each decrements a shared
/// counter; the last one signals over a std channel (tokio: spawn_many_local).
pub fn spawn_many_local(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let (tx, rx) = std_mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(n));
    let t = Instant::now();
    rt.block_on(async {
        for _ in 0..n {
            let tx = tx.clone();
            let rem = rem.clone();
            rt::spawn(async move {
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            });
        }
        rx.recv().unwrap();
    });
    let d = t.elapsed();
    assert_eq!(rem.load(SeqCst), 0);
    d
}

/// 10,000 spawns from outside the runtime through its handle, then every
/// handle awaited in `block_on` (tokio: spawn_many_remote_idle).
pub fn spawn_many_remote_idle(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let mut handles = Vec::with_capacity(n);
    let t = Instant::now();
    for _ in 0..n {
        handles.push(rt.handle().spawn(async { 1usize }));
    }
    let sum = rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n);
    d
}

/// `spawn_many_remote_idle` while 2 x workers background tasks loop on
/// `yield_now` (tokio: spawn_many_remote_busy1). The background tasks are
/// started before and stopped after the timed part.
pub fn spawn_many_remote_busy(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let busy = 2 * crate::workers();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let bg: Vec<_> = (0..busy)
        .map(|_| {
            let stop = stop.clone();
            let started = started.clone();
            rt.spawn(async move {
                started.fetch_add(1, SeqCst);
                while !stop.load(Relaxed) {
                    rt::task::yield_now().await;
                }
            })
        })
        .collect();
    while started.load(SeqCst) < busy {
        std::thread::yield_now();
    }
    let mut handles = Vec::with_capacity(n);
    let t = Instant::now();
    for _ in 0..n {
        handles.push(rt.handle().spawn(async { 1usize }));
    }
    let sum = rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    let d = t.elapsed();
    stop.store(true, SeqCst);
    rt.block_on(async {
        for h in bg {
            h.await.unwrap();
        }
    });
    assert_eq!(sum, n);
    d
}

/// 1,000 pairs of tasks bouncing a message over two oneshots; the pairs are
/// spawned from a task (tokio: ping_pong).
pub fn ping_pong(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let (done_tx, done_rx) = std_mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(n));
    let t = Instant::now();
    {
        let rem = rem.clone();
        rt.spawn(async move {
            for _ in 0..n {
                let done_tx = done_tx.clone();
                let rem = rem.clone();
                rt::spawn(async move {
                    let (tx1, rx1) = oneshot::channel::<()>();
                    let (tx2, rx2) = oneshot::channel::<()>();
                    rt::spawn(async move {
                        rx1.await.unwrap();
                        tx2.send(()).unwrap();
                    });
                    tx1.send(()).unwrap();
                    rx2.await.unwrap();
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                });
            }
        });
    }
    done_rx.recv().unwrap();
    let d = t.elapsed();
    assert_eq!(rem.load(SeqCst), 0);
    d
}

/// 200 tasks, each calling `yield_now` 1,000 times (tokio: yield_many).
pub fn yield_many(rt: &Runtime, size: Size) -> Duration {
    let tasks = size.pick(200, 10);
    let yields = size.pick(1_000, 10);
    let (tx, rx) = std_mpsc::sync_channel(tasks);
    let t = Instant::now();
    for _ in 0..tasks {
        let tx = tx.clone();
        rt.spawn(async move {
            for _ in 0..yields {
                rt::task::yield_now().await;
            }
            tx.send(yields).unwrap();
        });
    }
    let mut total = 0;
    for _ in 0..tasks {
        total += rx.recv().unwrap();
    }
    let d = t.elapsed();
    assert_eq!(total, tasks * yields);
    d
}

fn chain(done: std_mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done.send(()).unwrap();
    } else {
        rt::spawn(async move { chain(done, n - 1) });
    }
}

/// A chain of 1,000 tasks, each spawning the next (tokio: chained_spawn).
pub fn chained_spawn(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let (done_tx, done_rx) = std_mpsc::sync_channel(1);
    let t = Instant::now();
    rt.block_on(async move {
        rt::spawn(async move { chain(done_tx, n) });
        done_rx.recv().unwrap();
    });
    t.elapsed()
}

/// 12,800 no-op tasks spawned at once from 4 outside threads (3,200 each)
/// through the runtime's handle, then all awaited (tokio: remote spawn).
pub fn remote_spawn(rt: &Runtime, size: Size) -> Duration {
    let threads = 4;
    let per = size.pick(3_200, 25);
    let barrier = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..threads)
            .map(|_| {
                let h = rt.handle().clone();
                let barrier = &barrier;
                s.spawn(move || {
                    let mut v = Vec::with_capacity(per);
                    barrier.wait();
                    for _ in 0..per {
                        v.push(h.spawn(async { 1usize }));
                    }
                    v
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        let handles: Vec<_> = joins.into_iter().flat_map(|j| j.join().unwrap()).collect();
        let sum = rt.block_on(async {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, threads * per);
        t.elapsed()
    })
}

/// 100 batches of 16 no-op `spawn_blocking` calls, each batch awaited before
/// the next (tokio: spawn_blocking).
pub fn spawn_blocking(rt: &Runtime, size: Size) -> Duration {
    let batches = size.pick(100, 3);
    let t = Instant::now();
    let total = rt.block_on(async {
        let mut total = 0;
        for _ in 0..batches {
            let hs: Vec<_> = (0..16)
                .map(|_| rt::task::spawn_blocking(|| 1usize))
                .collect();
            for h in hs {
                total += h.await.unwrap();
            }
        }
        total
    });
    let d = t.elapsed();
    assert_eq!(total, batches * 16);
    d
}

/// Current-thread: 1,000 tasks spawned from `block_on`, then every handle
/// awaited (tokio rt_current_thread: spawn_many_local).
pub fn ct_spawn_many_local(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(1_000, 50);
    let t = Instant::now();
    let sum = rt.block_on(async {
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(rt::spawn(async { std::hint::black_box(1usize) }));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n);
    d
}

/// Current-thread `LocalSet`: 10,000 `!Send` tasks (each holds an `Rc`)
/// spawned with `spawn_local` inside `run_until`, then every handle awaited.
pub fn local_spawn_many(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let local = rt::task::LocalSet::new();
    let one = std::rc::Rc::new(1usize);
    let t = Instant::now();
    let sum = local.block_on(rt, async {
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let one = one.clone();
            handles.push(rt::task::spawn_local(
                async move { std::hint::black_box(*one) },
            ));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    let d = t.elapsed();
    assert_eq!(sum, n);
    d
}

/// Current-thread `LocalSet`: 1,000 pairs of local tasks bouncing a message
/// over two oneshots (`ping_pong` with `spawn_local` and an `Rc` counter).
pub fn local_ping_pong(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let local = rt::task::LocalSet::new();
    let rem = std::rc::Rc::new(std::cell::Cell::new(n));
    let t = Instant::now();
    local.block_on(rt, async {
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let done_tx = std::rc::Rc::new(std::cell::Cell::new(Some(done_tx)));
        for _ in 0..n {
            let rem = rem.clone();
            let done_tx = done_tx.clone();
            rt::task::spawn_local(async move {
                let (tx1, rx1) = oneshot::channel::<()>();
                let (tx2, rx2) = oneshot::channel::<()>();
                rt::task::spawn_local(async move {
                    rx1.await.unwrap();
                    tx2.send(()).unwrap();
                });
                tx1.send(()).unwrap();
                rx2.await.unwrap();
                rem.set(rem.get() - 1);
                if rem.get() == 0 {
                    done_tx.take().unwrap().send(()).unwrap();
                }
            });
        }
        done_rx.await.unwrap();
    });
    let d = t.elapsed();
    assert_eq!(rem.get(), 0);
    d
}

async fn work() -> usize {
    let val = 1 + 1;
    rt::task::yield_now().await;
    std::hint::black_box(val)
}

/// Current-thread: `block_on(spawn(work()).await)`, where `work` yields once,
/// 1,000 times (tokio spawn.rs: basic_scheduler_spawn; batched so that one
/// sample is long enough to time).
pub fn ct_spawn_await_one(rt: &Runtime, size: Size) -> Duration {
    let n = size.pick(1_000, 10);
    let t = Instant::now();
    for _ in 0..n {
        rt.block_on(async {
            let h = rt::spawn(work());
            assert_eq!(h.await.unwrap(), 2);
        });
    }
    t.elapsed()
}
