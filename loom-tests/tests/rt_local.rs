#![cfg(loom)]
//! Loom models of the local scheduler (runtime/src/task/local_set/): the production
//! `LocalSet` over the real task code, its remote queue and the waker of whoever polls
//! the set, raced by wakes (and an abort) from other threads, and by the set's drop.
//!
//! Most models drive the set with the loom-aware `block_on` of `sync_util` (no runtime:
//! the set's own protocol only); two drive it with the real current-thread runtime
//! (`run_until` inside `Runtime::block_on`, and a local runtime). A lost wake-up is a
//! loom deadlock; every model counts drops of its local futures, which hold an `Rc`
//! (they are `!Send`).

mod sync_util;

use loom::thread;
use magpie_runtime::runtime::Builder;
use magpie_runtime::task::{self, LocalSet, spawn_local};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use sync_util::{DropCount, block_on, model};

/// A local task waits on a oneshot that another thread completes: the wake goes to the
/// remote queue and wakes the set's poller, in every interleaving with the set's
/// register-and-drain and its tick.
#[test]
fn foreign_wake_vs_the_run_loop() {
    model(|| {
        let local = LocalSet::new();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let t = thread::spawn(move || {
            let _ = tx.send(7);
        });
        let got = block_on(local.run_until(async move {
            let rc = Rc::new(1);
            let h = spawn_local(async move { rx.await.unwrap() + *rc });
            h.await.unwrap()
        }));
        assert_eq!(got, 8);
        t.join().unwrap();
    });
}

/// Two local tasks woken from two threads: the second push may find the waker already
/// taken by the first (a wake is pending), and both tasks still run.
#[test]
fn two_foreign_wakes_vs_the_run_loop() {
    model(|| {
        let local = LocalSet::new();
        let (tx1, rx1) = magpie_sync::oneshot::channel::<u32>();
        let (tx2, rx2) = magpie_sync::oneshot::channel::<u32>();
        let t1 = thread::spawn(move || {
            let _ = tx1.send(1);
        });
        let t2 = thread::spawn(move || {
            let _ = tx2.send(2);
        });
        local.spawn_local(async move { rx1.await.unwrap() });
        local.spawn_local(async move { rx2.await.unwrap() });
        // The set awaited: done when both tasks are.
        block_on(local);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// The set is dropped while another thread wakes its idle task: the wake lands in the
/// remote queue before it closes (its `Notified` is dropped by the set) or after (the
/// waker drops it at once). The future is dropped exactly once, on the set's thread,
/// and the late wake touches no freed memory (loom's leak check: every cell is freed).
#[test]
fn foreign_wake_vs_the_sets_drop() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let local = LocalSet::new();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let guard = DropCount(drops.clone());
        let h = local.spawn_local(async move {
            let _guard = guard;
            let _rc = Rc::new(());
            let _ = rx.await;
        });
        // Run the task once so that it registers its waker on the oneshot.
        block_on(local.run_until(task::yield_now()));
        let t = thread::spawn(move || {
            let _ = tx.send(1);
        });
        drop(local);
        assert_eq!(drops.load(SeqCst), 1);
        t.join().unwrap();
        drop(h);
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// `abort()` from another thread (through an `AbortHandle`) vs the run loop: the task
/// is cancelled on the set's thread and its handle says so.
#[test]
fn foreign_abort_vs_the_run_loop() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let local = LocalSet::new();
        let guard = DropCount(drops.clone());
        let h = local.spawn_local(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let abort = h.abort_handle();
        let t = thread::spawn(move || abort.abort());
        let err = block_on(local.run_until(h)).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(drops.load(SeqCst), 1);
        t.join().unwrap();
    });
}

/// The set inside the real current-thread runtime: the remote push wakes `run_until`,
/// whose waker is the `block_on` loop's (woken flag + unpark of the core's parker).
#[test]
fn foreign_wake_through_the_current_thread_runtime() {
    model(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let local = LocalSet::new();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let t = thread::spawn(move || {
            let _ = tx.send(5);
        });
        let got = local.block_on(&rt, async move { spawn_local(rx).await.unwrap().unwrap() });
        assert_eq!(got, 5);
        t.join().unwrap();
    });
}

/// A local runtime dropped while another thread wakes its idle local task.
#[test]
fn local_runtime_shutdown_vs_a_foreign_wake() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = Builder::new_current_thread().build_local().unwrap();
        let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
        let guard = DropCount(drops.clone());
        rt.spawn_local(async move {
            let _guard = guard;
            let _ = rx.await;
        });
        rt.block_on(task::yield_now());
        let t = thread::spawn(move || {
            let _ = tx.send(1);
        });
        drop(rt);
        t.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}
