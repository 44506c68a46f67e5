#![cfg(loom)]
//! Loom models of the real multi-thread scheduler (runtime/src/scheduler/multi_thread/
//! worker.rs and idle.rs), built with `Builder::new_multi_thread()`, one or two
//! workers and no drivers (workers park on their condvars): the worker loop, the idle
//! and searching protocol, `push_remote` and its wake of a sleeper, the LIFO slot and
//! the deferred list, and shutdown racing a wake from outside. The worker threads are
//! loom threads (the runtime takes its threads, mutexes and condvars from the loom
//! shim), and the run queues are the loom-aware stand-ins of `loom_queue.rs` (crossbeam's
//! deques use std atomics, which loom cannot see).
//!
//! A lost wake-up or a task stranded in a queue while every worker sleeps shows up as
//! a loom deadlock (`block_on` never returns); futures count their drops.

mod sync_util;

use loom::thread;
use magpie_runtime::runtime::{Builder, Runtime};
use magpie_runtime::spawn;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use sync_util::{DropCount, model};

fn rt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// A task spawned from outside the workers (the global queue plus `notify_parked`)
/// runs while both workers go idle, and its `JoinHandle` wakes the `block_on` thread.
#[test]
fn spawn_from_outside_two_workers() {
    model(|| {
        let rt = rt(2);
        assert_eq!(rt.block_on(async { spawn(async { 5 }).await.unwrap() }), 5);
    });
}

/// A task woken from a plain thread (the wake goes to the global queue and must wake
/// a parked worker) completes on one worker.
#[test]
fn foreign_wake_one_worker() {
    model(|| {
        let rt = rt(1);
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let h = rt.spawn(async move { rx.await.unwrap() });
        let t = thread::spawn(move || {
            let _ = tx.send(9);
        });
        assert_eq!(rt.block_on(h).unwrap(), 9);
        t.join().unwrap();
    });
}

/// On a worker, a task wakes another (the LIFO slot) and yields (the deferred list):
/// both run and finish.
#[test]
fn lifo_wake_and_yield_on_one_worker() {
    model(|| {
        let rt = rt(1);
        let out = rt.block_on(async {
            spawn(async {
                let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
                let waiter = spawn(async move { rx.await.unwrap() });
                magpie_runtime::task::yield_now().await;
                let _ = tx.send(4);
                waiter.await.unwrap()
            })
            .await
        });
        assert_eq!(out.unwrap(), 4);
    });
}

/// Dropping the runtime while a plain thread wakes a task that waits on it
/// (`push_remote` racing `shutdown`: the fence plus the final drain): the future is
/// dropped exactly once and nothing is left in a queue.
#[test]
fn shutdown_races_push_remote() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = rt(1);
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let guard = DropCount(drops.clone());
        let (ready_tx, ready_rx) = magpie_sync::oneshot::channel::<()>();
        drop(rt.spawn(async move {
            let _guard = guard;
            let _ = ready_tx.send(());
            let _ = rx.await;
        }));
        // The task has registered on `rx` once it has signalled.
        let _ = rt.block_on(ready_rx);
        let t = thread::spawn(move || {
            let _ = tx.send(1);
        });
        drop(rt);
        t.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// `spawn_blocking` on the real blocking pool (a loom thread started on demand, the
/// idle wait, the shutdown notify and the exit count): the closure runs once, the
/// `JoinHandle` resolves, and dropping the runtime waits for the pool thread to leave.
#[test]
fn spawn_blocking_then_shutdown() {
    model(|| {
        let rt = rt(1);
        let got = rt.block_on(async { magpie_runtime::task::spawn_blocking(|| 6).await.unwrap() });
        assert_eq!(got, 6);
        drop(rt);
    });
}

/// `block_in_place` on a one-worker runtime: the worker's core is handed to a blocking
/// pool thread (`hand_off_core`, counted alive), the closure runs on the old worker
/// thread, the task finishes there, and shutdown waits for the handed-off core's
/// worker loop to exit.
#[test]
fn block_in_place_hands_the_core_to_the_pool() {
    model(|| {
        let rt = rt(1);
        let got = rt.block_on(async {
            spawn(async { magpie_runtime::task::block_in_place(|| 8) })
                .await
                .unwrap()
        });
        assert_eq!(got, 8);
        drop(rt);
    });
}
