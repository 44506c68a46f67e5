#![cfg(loom)]
//! Loom models of the real current-thread scheduler (runtime/src/scheduler/
//! current_thread.rs), built with `Builder::new_current_thread()` and no drivers (the
//! core parks on its worker parker's condvar): the `block_on` loop and its `woken`
//! flag, the cross-thread inject queue and its unpark, the core hand-off between two
//! threads calling `block_on` (`core_waiters`), and shutdown racing a foreign wake.
//!
//! A lost wake-up shows up as a loom deadlock (the thread in `block_on` parks and
//! nothing wakes it); every model counts drops of the futures it spawns.

mod sync_util;

use loom::thread;
use magpie_runtime::runtime::{Builder, Runtime};
use magpie_runtime::spawn;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use sync_util::{DropCount, model};

fn rt() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// A spawned task waits on a oneshot that another thread completes: the foreign wake
/// goes through the inject queue and unparks the core, in every interleaving with the
/// `block_on` loop's park.
#[test]
fn foreign_wake_of_a_spawned_task() {
    model(|| {
        let rt = rt();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let t = thread::spawn(move || {
            let _ = tx.send(7);
        });
        let got = rt.block_on(async move {
            let h = spawn(async move { rx.await.unwrap() });
            h.await.unwrap()
        });
        assert_eq!(got, 7);
        t.join().unwrap();
    });
}

/// The `block_on` future itself is woken from another thread (the `woken` flag plus
/// the unpark), racing the loop between its check of the flag and its park.
#[test]
fn foreign_wake_of_the_block_on_future() {
    model(|| {
        let rt = rt();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let t = thread::spawn(move || {
            let _ = tx.send(3);
        });
        assert_eq!(rt.block_on(rx).unwrap(), 3);
        t.join().unwrap();
    });
}

/// Two threads call `block_on` on one runtime: one takes the core, the other polls its
/// own future and waits for the core (`core_waiters`); the task each spawns runs, and
/// both return, whoever gets the core first.
#[test]
fn two_threads_share_the_core() {
    model(|| {
        let rt = rt();
        let handle = rt.handle().clone();
        let t = thread::spawn(move || handle.block_on(async { spawn(async { 1 }).await.unwrap() }));
        let a = rt.block_on(async { spawn(async { 2 }).await.unwrap() });
        let b = t.join().unwrap();
        assert_eq!(a + b, 3);
    });
}

/// Dropping the runtime (shutdown) while another thread wakes a task that waits on
/// it: the wake either lands before the inject queue closes (the task is cancelled
/// with the rest) or after (its `Notified` is dropped at once). The future is dropped
/// exactly once and nothing is left in a queue.
#[test]
fn shutdown_races_a_foreign_wake() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = rt();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let guard = DropCount(drops.clone());
        let h = rt.spawn(async move {
            let _guard = guard;
            let _ = rx.await;
        });
        // Let the task register its waker on the oneshot.
        rt.block_on(magpie_runtime::task::yield_now());
        let t = thread::spawn(move || {
            let _ = tx.send(1);
        });
        drop(rt);
        t.join().unwrap();
        drop(h);
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// A `JoinSet` of two tasks, one finished by a wake from a plain thread: `join_next`
/// yields both, whatever the order.
#[test]
fn join_set_with_a_foreign_wake() {
    model(|| {
        let rt = rt();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let t = thread::spawn(move || {
            let _ = tx.send(2);
        });
        let sum = rt.block_on(async move {
            let mut set = magpie_runtime::task::JoinSet::new();
            set.spawn(async move { rx.await.unwrap() });
            set.spawn(async { 1 });
            let mut sum = 0;
            while let Some(r) = set.join_next().await {
                sum += r.unwrap();
            }
            sum
        });
        assert_eq!(sum, 3);
        t.join().unwrap();
    });
}
