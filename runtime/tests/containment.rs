//! User callbacks that panic, and runtimes dropped where thread-locals are gone, never
//! kill a worker, strand a task or abort the process (issue 14, defects 6, 7, 9).

mod common;

use common::*;
use magpie_runtime::runtime::{Builder, Runtime};
use magpie_runtime::spawn;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn builders() -> Vec<(&'static str, Builder)> {
    let mut mt = Builder::new_multi_thread();
    mt.worker_threads(2);
    vec![
        ("current_thread", Builder::new_current_thread()),
        ("multi_thread", mt),
    ]
}

/// A panicking `on_before_task_poll` / `on_after_task_poll` hook: every task still
/// completes and its `JoinHandle` resolves; the runtime keeps serving.
#[test]
fn panicking_poll_hooks_do_not_strand_tasks() {
    for (name, mut b) in builders() {
        for which in ["before", "after"] {
            let calls = Arc::new(AtomicUsize::new(0));
            let c = calls.clone();
            let hook = move |_: &magpie_runtime::runtime::TaskMeta| {
                c.fetch_add(1, Ordering::SeqCst);
                panic!("hook panics on purpose");
            };
            if which == "before" {
                b.on_before_task_poll(hook);
            } else {
                b.on_after_task_poll(hook);
            }
            let rt = b.enable_all().build().unwrap();
            with_deadline(LIMIT, name, move || {
                let sum = rt.block_on(async {
                    let mut handles = Vec::new();
                    for i in 0..20u32 {
                        handles.push(spawn(async move {
                            magpie_runtime::task::yield_now().await;
                            i
                        }));
                    }
                    let mut sum = 0;
                    for h in handles {
                        sum += h.await.expect("task completes despite the hook");
                    }
                    sum
                });
                assert_eq!(sum, (0..20).sum::<u32>());
            });
            assert!(calls.load(Ordering::SeqCst) >= 20, "{name}/{which}");
        }
    }
}

/// A panicking `on_thread_start` / `on_thread_stop`: workers and blocking threads
/// still run their work, and dropping the runtime returns (it used to wait forever
/// for a blocking thread that never counted itself out).
#[test]
fn panicking_thread_hooks_do_not_hang_shutdown() {
    for (name, mut b) in builders() {
        b.on_thread_start(|| panic!("start hook panics on purpose"));
        b.on_thread_stop(|| panic!("stop hook panics on purpose"));
        let rt = b.enable_all().build().unwrap();
        with_deadline(LIMIT, name, move || {
            let n = rt.block_on(async {
                let a = magpie_runtime::task::spawn_blocking(|| 20).await.unwrap();
                let b = spawn(async { 22 }).await.unwrap();
                a + b
            });
            assert_eq!(n, 42);
            drop(rt);
        });
    }
}

thread_local! {
    static KEPT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// A runtime dropped by a thread-local destructor, with tasks holding timers and
/// sockets: shutdown must tolerate the destroyed thread-locals (it used to abort the
/// process with "thread local panicked on drop").
#[test]
fn runtime_dropped_in_a_thread_local_destructor() {
    for (name, mut b) in builders() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let t = std::thread::spawn(move || {
            // Registered first, so destroyed last: the runtime's own thread-locals
            // (driver handles, context) are gone when this one drops the runtime.
            KEPT.with(|k| assert!(k.borrow().is_none()));
            let rt = b.enable_all().build().unwrap();
            rt.block_on(async {
                for _ in 0..4 {
                    let guard = DropCounter(d.clone());
                    spawn(async move {
                        let _guard = guard;
                        let _l = magpie_io::net::TcpListener::bind("127.0.0.1:0").await;
                        magpie_time::sleep(Duration::from_secs(3600)).await;
                    });
                }
                magpie_runtime::task::yield_now().await;
            });
            KEPT.with(|k| *k.borrow_mut() = Some(rt));
        });
        t.join().expect("thread exits cleanly");
        assert_eq!(dropped.load(Ordering::SeqCst), 4, "{name}");
    }
}

/// While blocking work runs, a paused clock does not jump to the next timer (defect
/// 9: it auto-advanced because nothing inhibited it).
#[test]
fn paused_clock_waits_for_blocking_work() {
    let rt = Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    with_deadline(LIMIT, "current_thread", move || {
        rt.block_on(async {
            let fired = Arc::new(AtomicBool::new(false));
            let f = fired.clone();
            spawn(async move {
                magpie_time::sleep(Duration::from_secs(10)).await;
                f.store(true, Ordering::SeqCst);
            });
            let start = magpie_time::Instant::now();
            magpie_runtime::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)))
                .await
                .unwrap();
            assert!(
                !fired.load(Ordering::SeqCst),
                "the clock jumped 10 s while blocking work ran"
            );
            assert!(start.elapsed() < Duration::from_secs(10));
        });
    });
}

/// A sync primitive's `blocking_*` method called on a runtime thread panics with
/// advice instead of blocking the thread that drives the tasks; from `block_in_place`
/// and the blocking pool it blocks as documented.
#[test]
fn blocking_calls_on_runtime_threads_panic_with_advice() {
    for (name, mut b) in builders() {
        let rt = b.enable_all().build().unwrap();
        with_deadline(LIMIT, name, move || {
            rt.block_on(async {
                let (tx, rx) = magpie_sync::oneshot::channel::<u32>();
                let caught =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rx.blocking_recv()));
                let msg = caught.expect_err("blocking_recv blocked a runtime thread");
                let msg = msg
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| msg.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                assert!(msg.contains("Use the async version"), "{msg}");
                drop(tx);
                // The blocking pool is not a runtime thread: it may block.
                let m = std::sync::Arc::new(magpie_sync::Mutex::new(5));
                let m2 = m.clone();
                let got = magpie_runtime::task::spawn_blocking(move || *m2.blocking_lock())
                    .await
                    .unwrap();
                assert_eq!(got, 5);
            });
        });
    }
}
