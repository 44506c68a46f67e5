//! smol as the third peer of `compare`: the same workloads as `src/workloads/`, written
//! in smol's idiom because its API differs from tokio's and magpie's.
//!
//! The runtime ([`Rt`]) is what smol's own global executor does, with a chosen number of
//! threads: one `async_executor::Executor` run by [`crate::workers`] threads, each in
//! `async_io::block_on`, so that an idle worker drives async-io's reactor (timers, I/O).
//! The current-thread flavour runs the executor inside `block_on` on the caller's thread
//! only. There is no ambient runtime: tasks are spawned on the executor, which every
//! workload clones into the tasks that spawn.
//!
//! smol's own primitives stand in where a workload has an equivalent: async-channel for
//! mpsc (and a `bounded(1)` channel with `try_send` for a oneshot, which smol lacks),
//! async-lock's `Mutex` and `Semaphore`, event-listener's `Event` for `Notify`,
//! async-io's `Timer` for `sleep`, `smol::unblock` for `spawn_blocking`, a
//! `LocalExecutor` for `LocalSet`, async-fs's `File` for `fs::File`. Differences that
//! change what a row measures are listed in `docs/benchmarks.md` ("The smol column").

use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use smol::channel;
use smol::future::yield_now;
use smol::{Executor, LocalExecutor, Task};

use crate::{Flavor, Size, WorkFn};

/// The shared executor, cloned into tasks that spawn.
type Ex = Arc<Executor<'static>>;

/// smol's runtime for one workload: an executor and the threads that run it.
pub struct Rt {
    ex: Ex,
    flavor: Flavor,
    stop: Option<channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Rt {
    /// Runs `fut` to completion on the calling thread. Multi-thread: the executor's
    /// tasks run on the worker threads meanwhile (tokio's `block_on`); current-thread:
    /// the calling thread runs them.
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        match self.flavor {
            Flavor::Multi => smol::block_on(fut),
            Flavor::Current => smol::block_on(self.ex.run(fut)),
        }
    }

    /// Spawns `fut` on the executor (from anywhere: smol has no "current runtime").
    pub fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Task<T> {
        self.ex.spawn(fut)
    }

    /// The executor, for tasks that spawn.
    pub fn executor(&self) -> Ex {
        self.ex.clone()
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        // Closing the channel ends every worker's `ex.run(...)`.
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Builds smol's runtime: `workers` threads running one executor (multi-thread), or no
/// thread (current-thread: `block_on` runs the executor).
pub fn build(flavor: Flavor, workers: usize) -> Rt {
    let ex: Ex = Arc::new(Executor::new());
    let (stop, stopped) = channel::bounded::<()>(1);
    let threads = match flavor {
        Flavor::Current => Vec::new(),
        Flavor::Multi => (0..workers)
            .map(|i| {
                let (ex, stopped) = (ex.clone(), stopped.clone());
                std::thread::Builder::new()
                    .name(format!("smol-worker-{i}"))
                    .spawn(move || {
                        smol::block_on(ex.run(async {
                            let _ = stopped.recv().await;
                        }))
                    })
                    .expect("spawn smol worker")
            })
            .collect(),
    };
    Rt {
        ex,
        flavor,
        stop: Some(stop),
        threads,
    }
}

/// A smol row: its variant, or why smol cannot run it.
pub type SmolEntry = (&'static str, Result<WorkFn<Rt>, &'static str>);

/// Every workload in registry order (the same names as `on_magpie::entries`).
pub fn entries() -> Vec<SmolEntry> {
    macro_rules! ok {
        ($name:ident) => {
            (stringify!($name), Ok($name as WorkFn<Rt>))
        };
    }
    vec![
        ok!(spawn_many_local),
        ok!(spawn_many_remote_idle),
        ok!(spawn_many_remote_busy),
        ok!(ping_pong),
        ok!(yield_many),
        ok!(chained_spawn),
        ok!(remote_spawn),
        ok!(spawn_blocking),
        ok!(ct_spawn_many_local),
        ok!(ct_spawn_await_one),
        ok!(local_spawn_many),
        ok!(local_ping_pong),
        ok!(mpsc_contended_bounded),
        ok!(mpsc_contended_bounded_full),
        ok!(mpsc_contended_unbounded),
        ok!(mpsc_uncontended_bounded),
        ok!(mpsc_uncontended_unbounded),
        ok!(mpsc_request_reply),
        ok!(notify_waiters_10),
        ok!(notify_waiters_100),
        ok!(notify_waiters_500),
        ok!(notify_one_10),
        ok!(notify_one_100),
        ok!(notify_one_500),
        ok!(mutex_contended),
        ok!(semaphore_contended),
        ok!(timer_insert_cancel),
        ok!(timer_fire),
        ok!(fs_read_100mib),
        ok!(fs_read_100mib_8k_reads),
    ]
}

/// Spawns `n` idle tasks from inside `block_on` and returns them (dropping a smol
/// `Task` cancels it; the caller measures memory first).
pub fn spawn_idle(rt: &Rt, n: usize) -> Vec<Task<()>> {
    let ex = rt.executor();
    rt.block_on(async {
        (0..n)
            .map(|_| ex.spawn(std::future::pending::<()>()))
            .collect()
    })
}

/// Awaits every task and sums their outputs.
async fn sum_all(tasks: Vec<Task<usize>>) -> usize {
    let mut sum = 0;
    for t in tasks {
        sum += t.await;
    }
    sum
}

// ---------------------------------------------------------------------- scheduler

/// See `workloads/sched.rs`: 10,000 spawns from inside `block_on`, counter to zero.
pub fn spawn_many_local(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let (tx, rx) = std_mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(n));
    let ex = rt.executor();
    let t = Instant::now();
    rt.block_on(async {
        for _ in 0..n {
            let (tx, rem) = (tx.clone(), rem.clone());
            ex.spawn(async move {
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            })
            .detach();
        }
        rx.recv().unwrap();
    });
    let d = t.elapsed();
    assert_eq!(rem.load(SeqCst), 0);
    d
}

/// 10,000 spawns from outside, then all awaited.
pub fn spawn_many_remote_idle(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let t = Instant::now();
    let handles: Vec<_> = (0..n).map(|_| rt.spawn(async { 1usize })).collect();
    let sum = rt.block_on(sum_all(handles));
    let d = t.elapsed();
    assert_eq!(sum, n);
    d
}

/// `spawn_many_remote_idle` while 2 x workers tasks loop on `yield_now`.
pub fn spawn_many_remote_busy(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let busy = 2 * crate::workers();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let bg: Vec<_> = (0..busy)
        .map(|_| {
            let (stop, started) = (stop.clone(), started.clone());
            rt.spawn(async move {
                started.fetch_add(1, SeqCst);
                while !stop.load(Relaxed) {
                    yield_now().await;
                }
            })
        })
        .collect();
    while started.load(SeqCst) < busy {
        std::thread::yield_now();
    }
    let t = Instant::now();
    let handles: Vec<_> = (0..n).map(|_| rt.spawn(async { 1usize })).collect();
    let sum = rt.block_on(sum_all(handles));
    let d = t.elapsed();
    stop.store(true, SeqCst);
    rt.block_on(async {
        for h in bg {
            h.await;
        }
    });
    assert_eq!(sum, n);
    d
}

/// 1,000 pairs of tasks bouncing over two one-slot channels, spawned from a task.
pub fn ping_pong(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let (done_tx, done_rx) = std_mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(n));
    let ex = rt.executor();
    let t = Instant::now();
    {
        let (rem, ex2) = (rem.clone(), ex.clone());
        ex.spawn(async move {
            for _ in 0..n {
                let (done_tx, rem, ex3) = (done_tx.clone(), rem.clone(), ex2.clone());
                ex2.spawn(async move {
                    let (tx1, rx1) = channel::bounded::<()>(1);
                    let (tx2, rx2) = channel::bounded::<()>(1);
                    ex3.spawn(async move {
                        rx1.recv().await.unwrap();
                        tx2.try_send(()).unwrap();
                    })
                    .detach();
                    tx1.try_send(()).unwrap();
                    rx2.recv().await.unwrap();
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                })
                .detach();
            }
        })
        .detach();
    }
    done_rx.recv().unwrap();
    let d = t.elapsed();
    assert_eq!(rem.load(SeqCst), 0);
    d
}

/// 200 tasks x 1,000 `yield_now`.
pub fn yield_many(rt: &Rt, size: Size) -> Duration {
    let tasks = size.pick(200, 10);
    let yields = size.pick(1_000, 10);
    let (tx, rx) = std_mpsc::sync_channel(tasks);
    let t = Instant::now();
    for _ in 0..tasks {
        let tx = tx.clone();
        rt.spawn(async move {
            for _ in 0..yields {
                yield_now().await;
            }
            tx.send(yields).unwrap();
        })
        .detach();
    }
    let total: usize = (0..tasks).map(|_| rx.recv().unwrap()).sum();
    let d = t.elapsed();
    assert_eq!(total, tasks * yields);
    d
}

fn chain(ex: Ex, done: std_mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done.send(()).unwrap();
    } else {
        let next = ex.clone();
        ex.spawn(async move { chain(next, done, n - 1) }).detach();
    }
}

/// A chain of 1,000 tasks, each spawning the next.
pub fn chained_spawn(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let (done_tx, done_rx) = std_mpsc::sync_channel(1);
    let ex = rt.executor();
    let t = Instant::now();
    rt.block_on(async move {
        let next = ex.clone();
        ex.spawn(async move { chain(next, done_tx, n) }).detach();
        done_rx.recv().unwrap();
    });
    t.elapsed()
}

/// 12,800 no-op tasks spawned at once from 4 outside threads, then awaited.
pub fn remote_spawn(rt: &Rt, size: Size) -> Duration {
    let threads = 4;
    let per = size.pick(3_200, 25);
    let barrier = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let joins: Vec<_> = (0..threads)
            .map(|_| {
                let (ex, barrier) = (rt.executor(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    (0..per)
                        .map(|_| ex.spawn(async { 1usize }))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        let handles: Vec<_> = joins.into_iter().flat_map(|j| j.join().unwrap()).collect();
        let sum = rt.block_on(sum_all(handles));
        assert_eq!(sum, threads * per);
        t.elapsed()
    })
}

/// 100 batches of 16 no-op `smol::unblock` calls (blocking's thread pool).
pub fn spawn_blocking(rt: &Rt, size: Size) -> Duration {
    let batches = size.pick(100, 3);
    let t = Instant::now();
    let total = rt.block_on(async {
        let mut total = 0;
        for _ in 0..batches {
            let hs: Vec<_> = (0..16).map(|_| smol::unblock(|| 1usize)).collect();
            total += sum_all(hs).await;
        }
        total
    });
    let d = t.elapsed();
    assert_eq!(total, batches * 16);
    d
}

/// Current-thread: 1,000 spawns from `block_on`, then all awaited.
pub fn ct_spawn_many_local(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(1_000, 50);
    let ex = rt.executor();
    let t = Instant::now();
    let sum = rt.block_on(async {
        let hs: Vec<_> = (0..n)
            .map(|_| ex.spawn(async { std::hint::black_box(1usize) }))
            .collect();
        sum_all(hs).await
    });
    let d = t.elapsed();
    assert_eq!(sum, n);
    d
}

/// Current-thread `LocalExecutor`: 10,000 `!Send` tasks (each holds an `Rc`), then all
/// awaited.
pub fn local_spawn_many(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(10_000, 100);
    let local = Rc::new(LocalExecutor::new());
    let one = Rc::new(1usize);
    let t = Instant::now();
    let sum = rt.block_on(local.run(async {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let one = one.clone();
                local.spawn(async move { std::hint::black_box(*one) })
            })
            .collect();
        sum_all(hs).await
    }));
    let d = t.elapsed();
    assert_eq!(sum, n);
    d
}

/// Current-thread `LocalExecutor`: 1,000 pairs of local tasks bouncing over two
/// one-slot channels.
pub fn local_ping_pong(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(1_000, 20);
    let local = Rc::new(LocalExecutor::new());
    let rem = Rc::new(std::cell::Cell::new(n));
    let t = Instant::now();
    rt.block_on(local.run(async {
        let (done_tx, done_rx) = channel::bounded::<()>(1);
        for _ in 0..n {
            let (rem, done_tx, l2) = (rem.clone(), done_tx.clone(), local.clone());
            local
                .spawn(async move {
                    let (tx1, rx1) = channel::bounded::<()>(1);
                    let (tx2, rx2) = channel::bounded::<()>(1);
                    l2.spawn(async move {
                        rx1.recv().await.unwrap();
                        tx2.try_send(()).unwrap();
                    })
                    .detach();
                    tx1.try_send(()).unwrap();
                    rx2.recv().await.unwrap();
                    rem.set(rem.get() - 1);
                    if rem.get() == 0 {
                        done_tx.try_send(()).unwrap();
                    }
                })
                .detach();
        }
        done_rx.recv().await.unwrap();
    }));
    let d = t.elapsed();
    assert_eq!(rem.get(), 0);
    d
}

async fn work() -> usize {
    let val = 1 + 1;
    yield_now().await;
    std::hint::black_box(val)
}

/// Current-thread: `block_on(spawn(work()).await)` x 1,000.
pub fn ct_spawn_await_one(rt: &Rt, size: Size) -> Duration {
    let n = size.pick(1_000, 10);
    let ex = rt.executor();
    let t = Instant::now();
    for _ in 0..n {
        rt.block_on(async {
            assert_eq!(ex.spawn(work()).await, 2);
        });
    }
    t.elapsed()
}

mod sync_time;
pub use sync_time::*;
