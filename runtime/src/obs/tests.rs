//! In-crate tests of debug mode, the watchdog, unretrieved-panic reports and the
//! unhandled-panic policy: they capture reports through the builder's test-only
//! `debug_sink` (and shorten the watchdog's threshold), which are not public API.

use crate::runtime::{Builder, UnhandledPanic};
use crate::task;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A report sink that keeps every line.
#[derive(Clone, Default)]
pub(super) struct Reports(Arc<Mutex<Vec<String>>>);

impl Reports {
    pub(super) fn sink(&self) -> Arc<dyn Fn(&str) + Send + Sync> {
        let lines = self.0.clone();
        Arc::new(move |l: &str| lines.lock().unwrap().push(l.to_string()))
    }
    pub(super) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub(super) fn matching(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(needle))
            .collect()
    }
}

#[test]
fn slow_poll_is_reported_with_spawn_location() {
    for mt in [false, true] {
        let reports = Reports::default();
        let mut b = if mt {
            Builder::new_multi_thread()
        } else {
            Builder::new_current_thread()
        };
        if mt {
            b.worker_threads(2);
        }
        let rt = b.debug(true).debug_sink(reports.sink()).build().unwrap();
        let (loc, id) = rt.block_on(async {
            let loc = Location::caller();
            let h = crate::spawn(async {
                std::thread::sleep(Duration::from_millis(200));
            });
            let id = h.id();
            h.await.unwrap();
            (loc, id)
        });
        let slow = reports.matching("slow poll");
        assert_eq!(slow.len(), 1, "mt={mt}: {:?}", reports.lines());
        assert!(slow[0].contains(&format!("task {id} ")), "{}", slow[0]);
        // The spawn call is the line after `Location::caller()`.
        let expected = format!("{}:{}", loc.file(), loc.line() + 1);
        assert!(slow[0].contains(&expected), "{} lacks {expected}", slow[0]);
        assert!(slow[0].contains("ms"), "{}", slow[0]);
    }
}

#[test]
fn fast_polls_are_not_reported_and_debug_off_reports_nothing() {
    let reports = Reports::default();
    let rt = Builder::new_current_thread()
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(150))
        .debug_sink(reports.sink())
        .build()
        .unwrap();
    rt.block_on(async {
        crate::spawn(async { std::thread::sleep(Duration::from_millis(20)) })
            .await
            .unwrap();
    });
    assert!(
        reports.matching("slow poll").is_empty(),
        "{:?}",
        reports.lines()
    );

    let reports = Reports::default();
    let rt = Builder::new_current_thread()
        .debug_sink(reports.sink())
        .build()
        .unwrap();
    if std::env::var("MAGPIE_DEBUG").is_err() {
        rt.block_on(async {
            crate::spawn(async { std::thread::sleep(Duration::from_millis(120)) })
                .await
                .unwrap();
        });
        assert!(reports.lines().is_empty(), "{:?}", reports.lines());
    }
}

#[test]
fn watchdog_reports_a_stuck_worker_while_it_is_stuck() {
    let reports = Reports::default();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .debug(true)
        .debug_sink(reports.sink())
        .watchdog_threshold(Duration::from_millis(300))
        .build()
        .unwrap();
    let r2 = reports.clone();
    let (seen_while_stuck, loc) = rt.block_on(async move {
        let loc = Location::caller();
        let h = crate::spawn(async move {
            std::thread::sleep(Duration::from_millis(1500));
            // Still inside the stuck poll: the watchdog must have spoken already.
            !r2.matching("watchdog").is_empty()
        });
        (h.await.unwrap(), loc)
    });
    assert!(
        seen_while_stuck,
        "no watchdog report during the poll: {:?}",
        reports.lines()
    );
    let w = reports.matching("watchdog");
    assert_eq!(w.len(), 1, "reported once per stuck poll: {w:?}");
    let expected = format!("{}:{}", loc.file(), loc.line() + 1);
    assert!(w[0].contains(&expected), "{} lacks {expected}", w[0]);
    assert!(w[0].contains("stuck"), "{}", w[0]);
    // The poll also ends as a slow poll.
    assert_eq!(reports.matching("slow poll").len(), 1);
}

#[test]
fn panic_with_dropped_handle_is_reported() {
    for mt in [false, true] {
        let reports = Reports::default();
        let mut b = if mt {
            Builder::new_multi_thread()
        } else {
            Builder::new_current_thread()
        };
        let rt = b.debug_sink(reports.sink()).build().unwrap();
        let loc = rt.block_on(async {
            let loc = Location::caller();
            drop(crate::spawn(async { panic!("lost boom") }));
            // Held, then dropped after completion without being read: also reported.
            let held = crate::spawn(async { panic!("held boom") });
            while !held.is_finished() {
                task::yield_now().await;
            }
            drop(held);
            // Read: not reported.
            let read = crate::spawn(async { panic!("read boom") });
            assert!(read.await.unwrap_err().is_panic());
            loc
        });
        // The detached task may finish on another worker: wait for it.
        for _ in 0..200 {
            if reports.matching("lost boom").len() == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let lost = reports.matching("lost boom");
        assert_eq!(lost.len(), 1, "mt={mt}: {:?}", reports.lines());
        assert!(lost[0].contains("panic never retrieved"), "{}", lost[0]);
        let expected = format!("{}:{}", loc.file(), loc.line() + 1);
        assert!(lost[0].contains(&expected), "{} lacks {expected}", lost[0]);
        assert_eq!(
            reports.matching("held boom").len(),
            1,
            "{:?}",
            reports.lines()
        );
        assert!(
            reports.matching("read boom").is_empty(),
            "{:?}",
            reports.lines()
        );
    }
}

fn shutdown_on_panic(mt: bool) {
    let dropped = Arc::new(AtomicUsize::new(0));
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut b = if mt {
        Builder::new_multi_thread()
    } else {
        Builder::new_current_thread()
    };
    if mt {
        b.worker_threads(2);
    }
    let rt = b
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .debug_sink(Arc::new(|_: &str| {}))
        .build()
        .unwrap();
    let d = dropped.clone();
    let res = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async move {
            // A bystander that would run forever.
            let guard = D(d);
            let _bystander = crate::spawn(async move {
                let _g = guard;
                std::future::pending::<()>().await
            });
            // The JoinHandle is kept: tokio's semantics, any task panic counts.
            let _h = crate::spawn(async { panic!("fatal") });
            std::future::pending::<()>().await
        })
    }));
    let err = res.expect_err("block_on must panic");
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(msg.contains("a task panicked"), "{msg}");
    assert!(msg.contains("shut down"), "{msg}");
    drop(rt);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the bystander was cancelled"
    );
}

#[test]
fn shutdown_runtime_policy_current_thread() {
    shutdown_on_panic(false);
}

#[test]
fn shutdown_runtime_policy_multi_thread() {
    shutdown_on_panic(true);
}

#[test]
fn ignore_policy_keeps_running() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .debug_sink(Arc::new(|_: &str| {}))
        .build()
        .unwrap();
    let n = rt.block_on(async {
        drop(crate::spawn(async { panic!("ignored") }));
        crate::spawn(async { 5 }).await.unwrap()
    });
    assert_eq!(n, 5);
}
