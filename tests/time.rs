//! The time driver inside the runtime: sleeps on both flavours, the paused clock,
//! cross-thread timer registration waking a parked runtime.

use magpie::runtime::Builder;
use magpie::time::{self, Duration, Instant};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn flavours() -> Vec<(&'static str, magpie::runtime::Runtime)> {
    vec![
        (
            "current_thread",
            Builder::new_current_thread().enable_all().build().unwrap(),
        ),
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ]
}

#[test]
fn sleep_and_timeout_on_both_flavours() {
    for (name, rt) in flavours() {
        rt.block_on(async {
            let start = std::time::Instant::now();
            time::sleep(Duration::from_millis(30)).await;
            assert!(start.elapsed() >= Duration::from_millis(30), "{name}");
            let r = time::timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
            assert!(r.is_err(), "{name}");
            let r = time::timeout(Duration::from_secs(5), async { 3 }).await;
            assert_eq!(r.unwrap(), 3, "{name}");
        });
    }
}

#[test]
fn sleeping_tasks_on_workers_all_wake() {
    for (name, rt) in flavours() {
        let woke = Arc::new(AtomicUsize::new(0));
        let w = woke.clone();
        rt.block_on(async move {
            let hs: Vec<_> = (0..2000u64)
                .map(|i| {
                    let w = w.clone();
                    magpie::spawn(async move {
                        time::sleep(Duration::from_millis(i % 50)).await;
                        w.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        assert_eq!(woke.load(Ordering::Relaxed), 2000, "{name}");
    }
}

#[magpie::test(start_paused = true)]
async fn paused_clock_sleeps_an_hour_at_once() {
    let real = std::time::Instant::now();
    let virt = Instant::now();
    time::sleep(Duration::from_secs(3600)).await;
    assert!(virt.elapsed() >= Duration::from_secs(3600));
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "auto-advance did not happen"
    );
}

#[magpie::test(start_paused = true)]
async fn paused_clock_orders_spawned_sleepers() {
    let order = Arc::new(parking_lot_free::Log::default());
    let mut hs = Vec::new();
    for i in [5u64, 1, 4, 2, 3] {
        let order = order.clone();
        hs.push(magpie::spawn(async move {
            time::sleep(Duration::from_secs(i * 60)).await;
            order.push(i);
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(order.take(), vec![1, 2, 3, 4, 5]);
}

mod parking_lot_free {
    #[derive(Default)]
    pub struct Log(std::sync::Mutex<Vec<u64>>);
    impl Log {
        pub fn push(&self, v: u64) {
            self.0.lock().unwrap().push(v);
        }
        pub fn take(&self) -> Vec<u64> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }
}

#[test]
fn timer_from_outside_thread_wakes_parked_runtime() {
    for (name, rt) in flavours() {
        let handle = rt.handle().clone();
        let start = std::time::Instant::now();
        let v = rt.block_on(async move {
            // The runtime parks with a one-hour timer pending; another thread then
            // registers a 50 ms timer, which must cut the park short.
            let long = magpie::spawn(time::sleep(Duration::from_secs(3600)));
            let (tx, rx) = magpie::sync::oneshot::channel();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                let _g = handle.enter();
                let h = handle.spawn(async move {
                    time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.send(7);
                });
                drop(h);
            });
            let v = rx.await.unwrap();
            long.abort();
            v
        });
        assert_eq!(v, 7);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name}: took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn time_outside_runtime_panics_with_the_fix() {
    let e = std::panic::catch_unwind(|| {
        drop(time::sleep(Duration::from_millis(1)));
    })
    .unwrap_err();
    let msg = e
        .downcast_ref::<String>()
        .map(|s| s.as_str())
        .or_else(|| e.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(
        msg.contains("enable_time") || msg.contains("enable_all"),
        "{msg}"
    );
}

#[test]
fn runtime_without_time_driver_reports_it() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let h = rt.spawn(async {
        time::sleep(Duration::from_millis(1)).await;
    });
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
}

#[test]
fn start_paused_needs_current_thread_and_time() {
    let e = Builder::new_multi_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let e = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("enable_time"));
}

#[test]
fn sleep_far_future_saturates() {
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = time::timeout(Duration::from_millis(10), time::sleep(Duration::MAX)).await;
        assert!(r.is_err());
    });
}

/// A million tasks sleeping at once fit in memory and all wake (paused clock, so the
/// test takes no real time beyond the spawning).
#[test]
fn a_million_sleeping_tasks_all_wake() {
    let rt = Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let n = 1_000_000u64;
    let woke = Arc::new(AtomicUsize::new(0));
    let w = woke.clone();
    rt.block_on(async move {
        for i in 0..n {
            let w = w.clone();
            // Handles dropped: the tasks are detached and still must all run.
            drop(magpie::spawn(async move {
                time::sleep(Duration::from_millis(1 + (i * 7919) % 5000)).await;
                w.fetch_add(1, Ordering::Relaxed);
            }));
        }
        while w.load(Ordering::Relaxed) < n as usize {
            time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(woke.load(Ordering::Relaxed), n as usize);
    assert_eq!(rt.handle().num_alive_tasks(), 0);
}
