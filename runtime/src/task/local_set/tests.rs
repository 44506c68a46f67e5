//! White-box tests of the local scheduler on the real task code, sized for miri
//! (`.ci/run` runs them with `-Zmiri-tree-borrows`): foreign wakes racing the run loop
//! and the set's drop, aborts and handle drops from other threads.

use super::LocalSet;
use crate::runtime::{Builder, Runtime};
use crate::task::{self, spawn_local};
use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;

/// No drivers: miri does not support the I/O stack's signal pipe.
fn rt() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

fn rounds() -> usize {
    if cfg!(miri) { 3 } else { 50 }
}

/// `!Send`, counts its drops.
struct Counted(#[allow(dead_code)] Rc<()>, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// A local task pending until a flag is set, handing each waker to `tx`.
async fn wait_for(flag: Arc<AtomicBool>, tx: mpsc::Sender<Waker>, guard: Counted) {
    let _g = guard;
    poll_fn(|cx| {
        if flag.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let _ = tx.send(cx.waker().clone());
        Poll::Pending
    })
    .await
}

#[test]
fn foreign_wakes_race_the_run_loop() {
    let rt = rt();
    for _ in 0..rounds() {
        let drops = Arc::new(AtomicUsize::new(0));
        let local = LocalSet::new();
        let (tx, rx) = mpsc::channel::<Waker>();
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let waker_thread = thread::spawn(move || {
            let w = rx.recv().unwrap();
            f.store(true, Ordering::SeqCst);
            w.wake_by_ref();
            w.wake();
        });
        let d = drops.clone();
        local.block_on(&rt, async move {
            let h = spawn_local(wait_for(flag, tx, Counted(Rc::new(()), d)));
            h.await.unwrap();
        });
        waker_thread.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn foreign_wakes_race_the_sets_drop() {
    let rt = rt();
    for _ in 0..rounds() {
        let drops = Arc::new(AtomicUsize::new(0));
        let local = LocalSet::new();
        let (tx, rx) = mpsc::channel::<Waker>();
        let d = drops.clone();
        local.block_on(&rt, async move {
            for _ in 0..2 {
                let flag = Arc::new(AtomicBool::new(false));
                spawn_local(wait_for(flag, tx.clone(), Counted(Rc::new(()), d.clone())));
            }
            task::yield_now().await;
        });
        let wakers: Vec<Waker> = rx.try_iter().collect();
        assert_eq!(wakers.len(), 2);
        // One waker fires while the set drops, the other after.
        let mut wakers = wakers.into_iter();
        let first = wakers.next().unwrap();
        let racing = thread::spawn(move || {
            first.wake_by_ref();
            first.wake();
        });
        drop(local);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        racing.join().unwrap();
        let late = wakers.next().unwrap();
        thread::spawn(move || late.wake()).join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn abort_and_handle_drop_from_other_threads() {
    let rt = rt();
    let drops = Arc::new(AtomicUsize::new(0));
    let local = LocalSet::new();
    let d = drops.clone();
    local.block_on(&rt, async move {
        let pending = spawn_local({
            let g = Counted(Rc::new(()), d.clone());
            async move {
                let _g = g;
                std::future::pending::<()>().await
            }
        });
        let done = spawn_local(async { 7u32 });
        task::yield_now().await;
        let abort = pending.abort_handle();
        let racing = thread::spawn(move || abort.abort());
        // The finished task's handle is dropped elsewhere (its output is Send).
        let dropper = thread::spawn(move || drop(done));
        racing.join().unwrap();
        dropper.join().unwrap();
        assert!(pending.await.unwrap_err().is_cancelled());
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn the_set_awaited_and_a_panicking_task() {
    let rt = rt();
    let mut local = LocalSet::new();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let boom = local.spawn_local(async { panic!("boom") });
    local.spawn_local(async move {
        task::yield_now().await;
        h.set(h.get() + 1);
    });
    rt.block_on(&mut local);
    assert_eq!(hits.get(), 1);
    assert!(rt.block_on(boom).unwrap_err().is_panic());
}

#[test]
fn shutdown_of_a_local_runtime_with_queued_and_idle_tasks() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = Builder::new_current_thread().build_local().unwrap();
    let (tx, rx) = mpsc::channel::<Waker>();
    let d = drops.clone();
    rt.block_on(async move {
        for _ in 0..3 {
            let flag = Arc::new(AtomicBool::new(false));
            spawn_local(wait_for(flag, tx.clone(), Counted(Rc::new(()), d.clone())));
        }
        task::yield_now().await;
    });
    // Queued (woken, never run again) and idle tasks at shutdown.
    let wakers: Vec<Waker> = rx.try_iter().collect();
    wakers[0].wake_by_ref();
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    thread::spawn(move || drop(wakers)).join().unwrap();
}
