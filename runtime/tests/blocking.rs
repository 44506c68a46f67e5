//! spawn_blocking, block_in_place, nested runtimes.

mod common;

use common::*;
use magpie_runtime::runtime::Builder;
use magpie_runtime::spawn;
use magpie_runtime::task;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn spawn_blocking_returns_results() {
    for (name, rt) in both() {
        let v = rt.block_on(async {
            let hs: Vec<_> = (0..20u64)
                .map(|i| task::spawn_blocking(move || i * 2))
                .collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(v, (0..20u64).map(|i| i * 2).sum::<u64>(), "{name}");
    }
}

#[test]
fn spawn_blocking_respects_thread_cap() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(3)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let hs: Vec<_> = (0..12)
            .map(|_| {
                let (r, p) = (running.clone(), peak.clone());
                task::spawn_blocking(move || {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    r.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let p = peak.load(Ordering::SeqCst);
    assert!(p <= 3, "peak {p} exceeds the cap");
    assert!(p >= 2, "pool never ran in parallel (peak {p})");
}

#[test]
fn spawn_blocking_panic_is_join_error() {
    let rt = mt(2);
    rt.block_on(async {
        let e = task::spawn_blocking(|| panic!("blocking boom"))
            .await
            .unwrap_err();
        assert!(e.is_panic());
        assert_eq!(task::spawn_blocking(|| 1).await.unwrap(), 1);
    });
}

#[test]
fn spawn_blocking_queued_is_cancelled_at_shutdown() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (h1, h2) = rt.block_on(async {
        let h1 = task::spawn_blocking(move || {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        });
        let h2 = task::spawn_blocking(|| 2); // queued behind h1 (cap 1)
        (h1, h2)
    });
    let other = ct();
    // Shut down while h1 blocks: h2 never started and is cancelled.
    let t = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_millis(50)));
    t.join().unwrap();
    tx.send(()).ok();
    let r2 = other.block_on(h2);
    assert!(r2.map(|v| v == 2).unwrap_or_else(|e| e.is_cancelled()));
    let _ = other.block_on(h1);
}

#[test]
fn spawn_blocking_outside_runtime_panics() {
    let e = std::panic::catch_unwind(|| {
        drop(task::spawn_blocking(|| ()));
    })
    .unwrap_err();
    assert!(
        e.downcast_ref::<String>()
            .unwrap()
            .contains("magpie runtime")
    );
}

#[test]
fn block_in_place_keeps_other_tasks_running() {
    let rt = mt(1);
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel();
        // With one worker, the only way the second task runs while the first blocks is
        // the hand-off of the worker's queue to a new thread.
        let blocker = spawn(async move {
            task::block_in_place(|| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        });
        let helper = spawn(async move {
            tx.send(42).unwrap();
        });
        helper.await.unwrap();
        assert_eq!(blocker.await.unwrap(), 42);
        // The runtime still works afterwards.
        assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
    });
}

#[test]
fn block_in_place_on_current_thread_panics_with_advice() {
    let rt = ct();
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { task::block_in_place(|| ()) })
    }))
    .unwrap_err();
    assert!(e.downcast_ref::<&str>().unwrap().contains("spawn_blocking"));
}

#[test]
fn block_on_inside_runtime_panics_with_advice() {
    for (name, rt) in both() {
        let inner = ct();
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { inner.block_on(async {}) })
        }))
        .unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("Cannot start a runtime from within a runtime"),
            "{name}: {msg}"
        );
        assert!(msg.contains(".await"), "{msg}");
        // Also from inside a spawned task on a worker.
        let inner2 = ct();
        let h = rt.spawn(async move { inner2.block_on(async { 1 }) });
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_panic(), "{name}");
    }
}

#[test]
fn block_in_place_allows_block_on_of_another_runtime() {
    let rt = mt(2);
    let v = rt.block_on(async {
        spawn(async {
            task::block_in_place(|| {
                let inner = ct();
                inner.block_on(async { 9 })
            })
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 9);
}

#[test]
fn thread_hooks_and_names() {
    let starts = Arc::new(AtomicUsize::new(0));
    let stops = Arc::new(AtomicUsize::new(0));
    let (s1, s2) = (starts.clone(), stops.clone());
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .thread_name("magpie-test-worker")
        .on_thread_start(move || {
            s1.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            s2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let name = rt.block_on(async {
        spawn(async { std::thread::current().name().unwrap().to_string() })
            .await
            .unwrap()
    });
    assert_eq!(name, "magpie-test-worker");
    drop(rt);
    assert_eq!(starts.load(Ordering::SeqCst), 3);
    assert_eq!(stops.load(Ordering::SeqCst), 3);
}

#[test]
fn drop_runtime_inside_runtime_does_not_hang() {
    let outer = mt(2);
    let inner = mt(2);
    outer.block_on(async move {
        spawn(async move {
            // Dropping from a worker must not wait on threads (it could be one of them).
            drop(inner);
        })
        .await
        .unwrap();
    });
}

/// Bursts after the pool went quiet: the first task of each burst goes to the spinning
/// thread (no notify), and the rest must still wake or start other threads. Four tasks
/// that wait for each other on a barrier deadlock if the burst is serialised on one
/// thread; the barrier's timeout turns that into a failure instead of a hang.
#[test]
fn a_burst_after_a_quiet_pool_spreads_over_threads() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        for round in 0..50 {
            let gate = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let gate = gate.clone();
                    task::spawn_blocking(move || {
                        let (m, cv) = &*gate;
                        let mut n = m.lock().unwrap();
                        *n += 1;
                        cv.notify_all();
                        let (n, res) = cv
                            .wait_timeout_while(n, Duration::from_secs(5), |n| *n < 4)
                            .unwrap();
                        assert!(!res.timed_out(), "only {} of 4 tasks ran at once", *n);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            // Let the pool go quiet (a spinner gives up after 50 µs) every few rounds,
            // and sometimes not, so both the spinner and the idle paths get bursts.
            if round % 3 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
}
