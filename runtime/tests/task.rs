//! Abort, panics, detach, and drop accounting of task futures and outputs.

mod common;

use common::*;
use magpie_runtime::spawn;
use magpie_runtime::task::{self, JoinHandle};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

async fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        task::yield_now().await;
    }
}

#[test]
fn abort_idle_task_drops_future_promptly() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt.block_on(async move {
            let h = spawn(PendingWithDrop(DropCounter(d.clone())));
            // Let it run once and go idle.
            task::yield_now().await;
            task::yield_now().await;
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled(), "{name}");
            assert!(!err.is_panic());
            assert_eq!(
                d.load(Ordering::SeqCst),
                1,
                "{name}: future not dropped on abort"
            );
            assert!(err.to_string().contains("cancelled"), "{err}");
        });
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped twice");
    }
}

#[test]
fn abort_before_first_poll() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let polled = Arc::new(AtomicBool::new(false));
        let (d, p) = (drops.clone(), polled.clone());
        let h = rt.handle().spawn(async move {
            let _c = DropCounter(d);
            p.store(true, Ordering::SeqCst);
        });
        h.abort();
        let res = rt.block_on(h);
        // Either it was cancelled before it ran, or it ran first (multi-thread race).
        if polled.load(Ordering::SeqCst) {
            assert!(res.is_ok(), "{name}");
        } else {
            assert!(res.unwrap_err().is_cancelled(), "{name}");
        }
        drop(rt);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            usize::from(polled.load(Ordering::SeqCst))
        );
    }
}

#[test]
fn abort_running_task_cancels_at_next_yield() {
    for (name, rt) in both() {
        rt.block_on(async move {
            let started = Arc::new(AtomicBool::new(false));
            let after_yield = Arc::new(AtomicBool::new(false));
            let (s, a) = (started.clone(), after_yield.clone());
            let h: JoinHandle<()> = spawn(async move {
                s.store(true, Ordering::SeqCst);
                loop {
                    task::yield_now().await;
                    a.store(true, Ordering::SeqCst);
                }
            });
            let s2 = started.clone();
            wait_until(move || s2.load(Ordering::SeqCst)).await;
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled(), "{name}");
        });
    }
}

#[test]
fn abort_from_inside_own_poll() {
    // A task that aborts itself mid-poll finishes its poll, then is cancelled.
    let rt = mt(2);
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<task::AbortHandle>();
        let h = spawn(async move {
            let me = rx.recv().unwrap();
            me.abort();
            task::yield_now().await;
            unreachable!("cancelled at the yield");
        });
        tx.send(h.abort_handle()).unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn abort_completed_task_keeps_output() {
    for (name, rt) in both() {
        rt.block_on(async move {
            let h = spawn(async { 5 });
            wait_until(|| h.is_finished()).await;
            h.abort();
            assert_eq!(h.await.unwrap(), 5, "{name}");
        });
    }
}

#[test]
fn abort_handle_clone_and_is_finished() {
    let rt = mt(2);
    rt.block_on(async {
        let h = spawn(std::future::pending::<()>());
        let a = h.abort_handle();
        let b = a.clone();
        assert_eq!(a.id(), h.id());
        assert!(!b.is_finished());
        drop(a);
        b.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        assert!(b.is_finished());
    });
}

#[test]
fn panic_surfaces_as_join_error_and_runtime_keeps_serving() {
    for (name, rt) in both() {
        rt.block_on(async move {
            for i in 0..50 {
                let h = spawn(async move {
                    if i % 2 == 0 {
                        panic!("task {i} failed");
                    }
                    i
                });
                match h.await {
                    Ok(v) => assert_eq!(v % 2, 1),
                    Err(e) => {
                        assert!(e.is_panic(), "{name}");
                        assert!(e.to_string().contains("failed"), "{e}");
                        let payload = e.into_panic();
                        assert_eq!(
                            payload.downcast_ref::<String>().unwrap(),
                            &format!("task {i} failed")
                        );
                    }
                }
            }
            // Still serving after 25 panics.
            assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
        });
    }
}

#[test]
fn panic_in_drop_of_output_is_contained() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("bomb in Drop");
        }
    }
    let rt = mt(2);
    rt.block_on(async {
        // Detached: the runtime drops the output, whose Drop panics.
        drop(spawn(async { Bomb }));
        task::yield_now().await;
        assert_eq!(spawn(async { 2 }).await.unwrap(), 2);
    });
}

#[test]
fn try_into_panic_on_cancelled_gives_error_back() {
    let rt = ct();
    rt.block_on(async {
        let h = spawn(std::future::pending::<()>());
        h.abort();
        let e = h.await.unwrap_err();
        let e = e.try_into_panic().unwrap_err();
        assert!(e.is_cancelled());
    });
}

#[test]
fn detach_keeps_task_running_and_drops_output_once() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let done = Arc::new(AtomicBool::new(false));
        let dn = done.clone();
        rt.block_on(async move {
            let h = spawn(async move {
                task::yield_now().await;
                dn.store(true, Ordering::SeqCst);
                DropCounter(d)
            });
            drop(h); // detach
            let dn = done.clone();
            wait_until(move || dn.load(Ordering::SeqCst)).await;
        });
        drop(rt);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "{name}: output dropped != once"
        );
    }
}

/// A future that counts its polls and drops, and is pending until told.
struct Gate {
    open: Arc<AtomicBool>,
    _drop: DropCounter,
}

impl Future for Gate {
    type Output = DropCounter;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCounter> {
        if self.open.load(Ordering::SeqCst) {
            Poll::Ready(DropCounter(self._drop.0.clone()))
        } else {
            cx.waker().wake_by_ref(); // keep getting polled
            Poll::Pending
        }
    }
}

#[test]
fn shutdown_drops_every_future_exactly_once() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let n = 1000;
        {
            let _g = rt.enter();
            for i in 0..n {
                let d = DropCounter(drops.clone());
                if i % 3 == 0 {
                    // idle forever
                    spawn(PendingWithDrop(d));
                } else if i % 3 == 1 {
                    // busy: re-woken on every poll
                    spawn(Gate {
                        open: Arc::new(AtomicBool::new(false)),
                        _drop: d,
                    });
                } else {
                    // never polled (possibly) and joined handle kept
                    let h = spawn(PendingWithDrop(d));
                    std::mem::forget(h.abort_handle());
                }
            }
        }
        // Let some run.
        rt.block_on(async {
            for _ in 0..10 {
                task::yield_now().await;
            }
        });
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), n, "{name}");
    }
}

#[test]
fn shutdown_timeout_with_blocked_worker_returns() {
    let rt = mt(2);
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let drops = Arc::new(AtomicUsize::new(0));
    let c = DropCounter(drops.clone());
    rt.spawn(async move {
        let _c = c;
        // Blocks its worker (bad practice, which shutdown must survive).
        while !r.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(start.elapsed() < Duration::from_secs(5));
    release.store(true, Ordering::SeqCst);
    // The blocked task finishes its poll on its own; its future is dropped once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while drops.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    for (name, rt) in both() {
        let handle = rt.handle().clone();
        drop(rt);
        let drops = Arc::new(AtomicUsize::new(0));
        let c = DropCounter(drops.clone());
        let h = handle.spawn(async move {
            let _c = c;
        });
        // Future dropped at once, never run; the handle reports cancellation.
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        assert!(h.is_finished());
        let rt2 = ct();
        assert!(rt2.block_on(h).unwrap_err().is_cancelled());
    }
}

#[test]
fn join_handle_dropped_from_another_thread_while_running() {
    let rt = mt(2);
    for _ in 0..200 {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let h = rt.spawn(async move {
            task::yield_now().await;
            DropCounter(d)
        });
        std::thread::spawn(move || drop(h)).join().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while drops.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline);
            std::thread::yield_now();
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn many_concurrent_aborts_and_joins() {
    let rt = mt(4);
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    rt.block_on(async move {
        let mut hs = Vec::new();
        for i in 0..2000 {
            // Created outside the async block so that a task aborted before its first
            // poll still owns (and must drop) it.
            let c = DropCounter(d.clone());
            hs.push(spawn(async move {
                let _c = c;
                for _ in 0..(i % 7) {
                    task::yield_now().await;
                }
                i
            }));
        }
        let mut cancelled = 0;
        for (i, h) in hs.into_iter().enumerate() {
            if i % 2 == 0 {
                h.abort();
            }
            match h.await {
                Ok(v) => assert_eq!(v, i),
                Err(e) => {
                    assert!(e.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert!(cancelled <= 1000);
    });
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 2000);
}
