//! Workloads shared by the criterion benches, the `compare` runner and the smoke test.
//!
//! Every workload is written once, inside the [`workloads!`] macro, against module paths
//! that magpie and tokio share (`$rt::spawn`, `$rt::sync::oneshot`, `$rt::time::sleep`,
//! ...). The macro is instantiated twice, as [`on_magpie`] and [`on_tokio`], so both
//! runtimes run exactly the same code. [`registry`] pairs the two instantiations by name.
//!
//! Each workload function takes the runtime (built once per workload, outside the timed
//! region) and a [`Size`], runs one iteration, checks its result (a counter reached `n`,
//! every message arrived, ...) with `assert!`, and returns the time of the measured part.
//! Measuring inside the function lets a workload leave setup and teardown out (for
//! instance the background tasks of `spawn_many_remote_busy`, which must not keep
//! spinning while the other runtime is measured).
//!
//! Parameters follow tokio's own benches (`benches/rt_multi_threaded.rs`,
//! `rt_current_thread.rs`, `spawn.rs`, `sync_mpsc.rs`, `sync_notify.rs`,
//! `sync_semaphore.rs`, `sync_mutex.rs`, `time_timeout.rs`) so that numbers can be
//! compared with theirs; see `docs/benchmarks.md` for the table.

use std::time::Duration;

pub mod alloc;
pub mod io;

/// Which scheduler flavour a workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `Builder::new_multi_thread().worker_threads(workers())`.
    Multi,
    /// `Builder::new_current_thread()`.
    Current,
}

/// Full sizes (tokio's parameters) or tiny ones for the smoke test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// The sizes tokio's benches use.
    Full,
    /// Tiny sizes: prove the workload runs and checks its result.
    Smoke,
}

impl Size {
    /// `full` at [`Size::Full`], `smoke` at [`Size::Smoke`].
    pub fn pick(self, full: usize, smoke: usize) -> usize {
        match self {
            Size::Full => full,
            Size::Smoke => smoke,
        }
    }
}

/// The area a workload belongs to (criterion bench file, docs section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Scheduler and task paths (`rt_multi_threaded`, `rt_current_thread`).
    Scheduler,
    /// Channels, locks, Notify, Semaphore.
    Sync,
    /// Timers.
    Time,
    /// Files (`magpie::fs` vs `tokio::fs`).
    Fs,
}

/// Number of worker threads for both runtimes: `MAGPIE_BENCH_WORKERS` if set, else the
/// machine's available parallelism.
pub fn workers() -> usize {
    if let Some(n) = std::env::var("MAGPIE_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One workload as a function of its runtime.
pub type WorkFn<R> = fn(&R, Size) -> Duration;

/// One entry of a runtime's workload list.
pub struct Entry<R> {
    /// Name (the same on both runtimes).
    pub name: &'static str,
    /// Scheduler flavour it needs.
    pub flavor: Flavor,
    /// Area.
    pub group: Group,
    /// The workload.
    pub run: WorkFn<R>,
}

/// A workload on both runtimes.
pub struct Workload {
    /// Name, e.g. `spawn_many_local`.
    pub name: &'static str,
    /// Scheduler flavour.
    pub flavor: Flavor,
    /// Area.
    pub group: Group,
    /// Its magpie instantiation.
    pub magpie: WorkFn<magpie::runtime::Runtime>,
    /// Its tokio instantiation.
    pub tokio: WorkFn<tokio::runtime::Runtime>,
}

/// Every workload, magpie and tokio side by side, in a fixed order.
pub fn registry() -> Vec<Workload> {
    let m = on_magpie::entries();
    let t = on_tokio::entries();
    assert_eq!(m.len(), t.len());
    m.into_iter()
        .zip(t)
        .map(|(m, t)| {
            assert_eq!(m.name, t.name);
            Workload {
                name: m.name,
                flavor: m.flavor,
                group: m.group,
                magpie: m.run,
                tokio: t.run,
            }
        })
        .collect()
}

/// Instantiates every workload for one runtime crate (`magpie` or `tokio`): the body
/// only uses paths both crates provide.
#[macro_export]
macro_rules! workloads {
    ($rt:ident) => {
        use std::future::Future;
        use std::pin::Pin;
        use std::sync::atomic::AtomicUsize;
        use std::sync::atomic::Ordering::{Relaxed, SeqCst};
        use std::sync::{Arc, mpsc as std_mpsc};
        use std::task::Poll;
        use std::time::{Duration, Instant};

        use $crate::{Entry, Flavor, Group, Size};
        use $rt::runtime::{Builder, Runtime};
        use $rt::sync::{Mutex, Notify, Semaphore, mpsc, oneshot};

        /// The runtime type of this instantiation.
        pub type Rt = Runtime;

        /// Builds a runtime of `flavor` with `workers` worker threads and every driver.
        pub fn build(flavor: Flavor, workers: usize) -> Runtime {
            match flavor {
                Flavor::Multi => Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
                    .expect("build multi-thread runtime"),
                Flavor::Current => Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build current-thread runtime"),
            }
        }

        /// Every workload of this runtime, in registry order.
        pub fn entries() -> Vec<Entry<Runtime>> {
            use Flavor::*;
            use Group::*;
            macro_rules! e {
                ($name:ident, $fl:expr, $g:expr) => {
                    Entry {
                        name: stringify!($name),
                        flavor: $fl,
                        group: $g,
                        run: $name,
                    }
                };
            }
            vec![
                e!(spawn_many_local, Multi, Scheduler),
                e!(spawn_many_remote_idle, Multi, Scheduler),
                e!(spawn_many_remote_busy, Multi, Scheduler),
                e!(ping_pong, Multi, Scheduler),
                e!(yield_many, Multi, Scheduler),
                e!(chained_spawn, Multi, Scheduler),
                e!(remote_spawn, Multi, Scheduler),
                e!(spawn_blocking, Multi, Scheduler),
                e!(ct_spawn_many_local, Current, Scheduler),
                e!(ct_spawn_await_one, Current, Scheduler),
                e!(local_spawn_many, Current, Scheduler),
                e!(local_ping_pong, Current, Scheduler),
                e!(mpsc_contended_bounded, Multi, Sync),
                e!(mpsc_contended_bounded_full, Multi, Sync),
                e!(mpsc_contended_unbounded, Multi, Sync),
                e!(mpsc_uncontended_bounded, Multi, Sync),
                e!(mpsc_uncontended_unbounded, Multi, Sync),
                e!(mpsc_request_reply, Multi, Sync),
                e!(notify_waiters_10, Multi, Sync),
                e!(notify_waiters_100, Multi, Sync),
                e!(notify_waiters_500, Multi, Sync),
                e!(notify_one_10, Multi, Sync),
                e!(notify_one_100, Multi, Sync),
                e!(notify_one_500, Multi, Sync),
                e!(mutex_contended, Multi, Sync),
                e!(semaphore_contended, Multi, Sync),
                e!(timer_insert_cancel, Multi, Time),
                e!(timer_fire, Multi, Time),
                e!(fs_read_100mib, Multi, Fs),
                e!(fs_read_100mib_8k_reads, Multi, Fs),
            ]
        }

        // ---------------------------------------------------------------- scheduler

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
                    $rt::spawn(async move {
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
            let busy = 2 * $crate::workers();
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let started = Arc::new(AtomicUsize::new(0));
            let bg: Vec<_> = (0..busy)
                .map(|_| {
                    let stop = stop.clone();
                    let started = started.clone();
                    rt.spawn(async move {
                        started.fetch_add(1, SeqCst);
                        while !stop.load(Relaxed) {
                            $rt::task::yield_now().await;
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
                        $rt::spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();
                            $rt::spawn(async move {
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
                        $rt::task::yield_now().await;
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
                $rt::spawn(async move { chain(done, n - 1) });
            }
        }

        /// A chain of 1,000 tasks, each spawning the next (tokio: chained_spawn).
        pub fn chained_spawn(rt: &Runtime, size: Size) -> Duration {
            let n = size.pick(1_000, 20);
            let (done_tx, done_rx) = std_mpsc::sync_channel(1);
            let t = Instant::now();
            rt.block_on(async move {
                $rt::spawn(async move { chain(done_tx, n) });
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
            let t = std::thread::scope(|s| {
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
            });
            t
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
                        .map(|_| $rt::task::spawn_blocking(|| 1usize))
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
                    handles.push($rt::spawn(async { std::hint::black_box(1usize) }));
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
            let local = $rt::task::LocalSet::new();
            let one = std::rc::Rc::new(1usize);
            let t = Instant::now();
            let sum = local.block_on(rt, async {
                let mut handles = Vec::with_capacity(n);
                for _ in 0..n {
                    let one = one.clone();
                    handles.push($rt::task::spawn_local(
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
            let local = $rt::task::LocalSet::new();
            let rem = std::rc::Rc::new(std::cell::Cell::new(n));
            let t = Instant::now();
            local.block_on(rt, async {
                let (done_tx, done_rx) = oneshot::channel::<()>();
                let done_tx = std::rc::Rc::new(std::cell::Cell::new(Some(done_tx)));
                for _ in 0..n {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    $rt::task::spawn_local(async move {
                        let (tx1, rx1) = oneshot::channel::<()>();
                        let (tx2, rx2) = oneshot::channel::<()>();
                        $rt::task::spawn_local(async move {
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
            $rt::task::yield_now().await;
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
                    let h = $rt::spawn(work());
                    assert_eq!(h.await.unwrap(), 2);
                });
            }
            t.elapsed()
        }

        // --------------------------------------------------------------------- sync

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
                            $rt::spawn(async move {
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
                            $rt::spawn(async move {
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
                let server = $rt::spawn(async move {
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
                        $rt::spawn(async move {
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
                        $rt::spawn(async move {
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
                        $rt::spawn(async move {
                            for _ in 0..per {
                                *m.lock().await += 1;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                let v = *m.lock().await;
                v
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
                        $rt::spawn(async move {
                            for _ in 0..per {
                                let _p = s.acquire().await.unwrap();
                                count.fetch_add(1, Relaxed);
                                $rt::task::yield_now().await;
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

        // --------------------------------------------------------------------- time

        /// 100,000 sleeps (1..2 s) created, polled once so they enter the timer
        /// wheel, then dropped (cancelled), from one task.
        pub fn timer_insert_cancel(rt: &Runtime, size: Size) -> Duration {
            let n = size.pick(100_000, 100);
            let t = Instant::now();
            let pending = rt.block_on(async move {
                let mut v: Vec<Pin<Box<$rt::time::Sleep>>> = (0..n)
                    .map(|i| {
                        Box::pin($rt::time::sleep(Duration::from_millis(
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
                        $rt::spawn(async move {
                            let mut v: Vec<Pin<Box<$rt::time::Sleep>>> = (0..per)
                                .map(|i| {
                                    Box::pin($rt::time::sleep(Duration::from_millis(
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

        // ----------------------------------------------------------------------- fs

        /// Reads the shared 100 MiB file (page-cached after its creation) through
        /// `$rt::fs::File` with `buf_len`-byte reads, checking the length and a checksum.
        fn fs_read(size: Size, buf_len: usize, rt: &Runtime) -> Duration {
            use $rt::io::AsyncReadExt as _;
            let (path, len) = $crate::fs_fixture(size);
            rt.block_on(async {
                let mut buf = vec![0u8; buf_len];
                let t = Instant::now();
                let mut f = $rt::fs::File::open(path).await.expect("open fixture");
                let mut total = 0usize;
                loop {
                    let n = f.read(&mut buf).await.expect("read fixture");
                    if n == 0 {
                        break;
                    }
                    // Spot-check content: the fixture's byte at offset i is i % 253.
                    assert_eq!(buf[n - 1], ((total + n - 1) % 253) as u8);
                    total += n;
                }
                let d = t.elapsed();
                assert_eq!(total, len);
                d
            })
        }

        /// 100 MiB read through `fs::File` with 64 KiB reads (the read-ahead's case is
        /// the next workload; this one is a typical streaming buffer).
        pub fn fs_read_100mib(rt: &Runtime, size: Size) -> Duration {
            fs_read(size, 64 * 1024, rt)
        }

        /// 100 MiB read through `fs::File` with 8 KiB reads (a `BufReader`-sized
        /// buffer): one blocking-pool round trip per read unless reads are batched.
        pub fn fs_read_100mib_8k_reads(rt: &Runtime, size: Size) -> Duration {
            fs_read(size, 8 * 1024, rt)
        }

        // ------------------------------------------------------------------- memory

        /// Spawns `n` idle tasks (`std::future::pending`) from inside `block_on` and
        /// returns their handles; the caller measures memory, then drops the runtime.
        pub fn spawn_idle(rt: &Runtime, n: usize) -> Vec<$rt::task::JoinHandle<()>> {
            let mut v = Vec::with_capacity(n);
            rt.block_on(async {
                for _ in 0..n {
                    v.push($rt::spawn(std::future::pending::<()>()));
                }
            });
            v
        }
    };
}

/// Every workload instantiated for magpie.
pub mod on_magpie {
    #![allow(missing_docs)]
    crate::workloads!(magpie);
}

/// Every workload instantiated for tokio.
pub mod on_tokio {
    #![allow(missing_docs)]
    crate::workloads!(tokio);
}

/// The file the fs workloads read: 100 MiB (1 MiB at [`Size::Smoke`]) in the temp
/// directory, written once per process (byte `i` is `i % 253`); returns its path and
/// length. [`remove_fs_fixtures`] deletes it.
pub fn fs_fixture(size: Size) -> (&'static std::path::Path, usize) {
    use std::sync::OnceLock;
    static FULL: OnceLock<(std::path::PathBuf, usize)> = OnceLock::new();
    static SMOKE: OnceLock<(std::path::PathBuf, usize)> = OnceLock::new();
    let (cell, len) = match size {
        Size::Full => (&FULL, 100 << 20),
        Size::Smoke => (&SMOKE, 1 << 20),
    };
    let (p, l) = cell.get_or_init(|| {
        let path = std::env::temp_dir().join(format!(
            "magpie-bench-fs-{}-{}",
            len >> 20,
            std::process::id()
        ));
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).expect("write the fs fixture");
        (path, len)
    });
    (p.as_path(), *l)
}

/// Removes the fs fixtures this process wrote (call at exit).
pub fn remove_fs_fixtures() {
    for mib in [1, 100] {
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("magpie-bench-fs-{mib}-{}", std::process::id())),
        );
    }
}

/// Median of `v` (sorted in place); zero when empty.
pub fn median(v: &mut [Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2
    }
}
