//! Duration::MAX, use outside a runtime, shutdown, coop budget, the paused clock.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use common::{Rt, count_waker, poll_once};
use magpie_time::driver::Handle;
use magpie_time::{
    Clock, Duration, Instant, advance, interval, pause, resume, sleep, sleep_until, timeout,
};

const MS: Duration = Duration::from_millis(1);

#[test]
fn duration_max_saturates() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        let mut forever = Box::pin(sleep(Duration::MAX));
        assert!(forever.deadline() > start + Duration::from_secs(86_400 * 365 * 20));
        let (wakes, w) = count_waker();
        assert!(poll_once(forever.as_mut(), &w).is_pending());

        // A short sleep alongside it fires normally; the far one does not.
        sleep(10 * MS).await;
        assert_eq!(start.elapsed(), 10 * MS);
        assert!(!forever.is_elapsed());

        // Timeout and Interval saturate too.
        assert_eq!(timeout(Duration::MAX, async { 1 }).await, Ok(1));
        let mut iv = interval(Duration::MAX);
        iv.tick().await;
        assert_eq!(Instant::now(), start + 10 * MS);

        // Past the far deadline (the wheel re-places it each ~780 days), it fires.
        let deadline = forever.deadline();
        advance(deadline - Instant::now() + MS).await;
        assert!(forever.is_elapsed());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        forever.await;
        // Timers keep working after all that.
        let t = Instant::now();
        sleep_until(t + Duration::from_secs(1)).await;
        assert_eq!(t.elapsed(), Duration::from_secs(1));
    });
}

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

#[test]
fn outside_runtime_panics_with_the_fix() {
    let expected = "there is no magpie time driver running: call this inside a magpie runtime built with `enable_time()` or `enable_all()` (or inside `magpie::run`)";
    assert_eq!(panic_message(|| drop(sleep(MS))), expected);
    assert_eq!(
        panic_message(|| drop(sleep_until(Instant::now()))),
        expected
    );
    assert_eq!(panic_message(|| drop(timeout(MS, async {}))), expected);
    assert_eq!(panic_message(|| drop(interval(MS))), expected);
    assert_eq!(panic_message(pause), expected);
    assert!(Handle::try_current().is_none());
    // Instant::now() works anywhere.
    let a = Instant::now();
    assert!(Instant::now() >= a);
}

#[test]
fn enter_nests_and_restores() {
    let rt1 = Rt::new();
    let rt2 = Rt::new_paused();
    assert!(Handle::try_current().is_none());
    {
        let _g1 = rt1.handle.enter();
        assert!(!Handle::current().clock().is_paused());
        {
            let _g2 = rt2.handle.enter();
            assert!(Handle::current().clock().is_paused());
        }
        assert!(!Handle::current().clock().is_paused());
    }
    assert!(Handle::try_current().is_none());
}

#[test]
fn shutdown_completes_pending_sleeps() {
    let rt = Rt::new();
    let handle = rt.handle.clone();
    let _enter = handle.enter();
    let (wakes, w) = count_waker();
    let mut sleeps: Vec<_> = (0..100)
        .map(|i| Box::pin(sleep(Duration::from_secs(60 + i))))
        .collect();
    for s in &mut sleeps {
        assert!(poll_once(s.as_mut(), &w).is_pending());
    }
    let mut t = Box::pin(timeout(
        Duration::from_secs(60),
        std::future::pending::<()>(),
    ));
    assert!(poll_once(t.as_mut(), &w).is_pending());
    handle.shutdown();
    assert!(handle.is_shutdown());
    assert_eq!(wakes.0.load(Ordering::SeqCst), 101);
    for s in &mut sleeps {
        assert!(poll_once(s.as_mut(), &w).is_ready());
    }
    assert!(matches!(
        poll_once(t.as_mut(), &w),
        std::task::Poll::Ready(Err(_))
    ));
    // Registered after shutdown: completes at once.
    let mut late = Box::pin(sleep(Duration::from_secs(60)));
    assert!(poll_once(late.as_mut(), &w).is_ready());
    assert_eq!(handle.registered_timers(), 0);
}

#[test]
fn sleep_spends_coop_budget() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let mut s = Box::pin(sleep(Duration::ZERO));
        (&mut s).await;
        let (_, w) = count_waker();
        // A fresh budget: each ready poll spends a unit until none is left.
        magpie_base::coop::budget(|| {
            let mut ready = 0;
            while poll_once(s.as_mut(), &w).is_ready() {
                ready += 1;
                assert!(ready <= 1000);
            }
            assert_eq!(ready, usize::from(magpie_base::coop::INITIAL_BUDGET));
        });
    });
}

#[test]
fn paused_clock_hour_long_sleep_is_instant() {
    let mut rt = Rt::with_clock(Clock::new(true));
    let wall = std::time::Instant::now();
    rt.block_on(async {
        let start = Instant::now();
        sleep(Duration::from_secs(3600)).await;
        let slept = start.elapsed();
        assert!(slept >= Duration::from_secs(3600) && slept < Duration::from_secs(3600) + MS);
    });
    assert!(wall.elapsed() < Duration::from_secs(5));
}

#[test]
fn pause_advance_resume() {
    let mut rt = Rt::new();
    rt.block_on(async {
        pause();
        let t0 = Instant::now();
        std::thread::sleep(2 * MS);
        assert_eq!(Instant::now(), t0, "a paused clock stands still");

        // advance fires what is due and lets the woken task run.
        let mut s = Box::pin(sleep(30 * MS));
        let (wakes, w) = count_waker();
        assert!(poll_once(s.as_mut(), &w).is_pending());
        advance(10 * MS).await;
        assert_eq!(Instant::now(), t0 + 10 * MS);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        advance(25 * MS).await;
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(s.is_elapsed());

        resume();
        let t1 = Instant::now();
        assert!(t1 >= t0 + 35 * MS);
        sleep(2 * MS).await; // real time again
        assert!(Instant::now() >= t1 + 2 * MS);

        assert!(
            panic_message(|| resume()).contains("not paused"),
            "resume of a running clock panics"
        );
        pause();
        assert!(panic_message(pause).contains("already paused"));
    });
}

#[test]
fn paused_auto_advance_waits_for_ready_work() {
    // Two tasks: while one is runnable, the clock must not jump.
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        let a = sleep(100 * MS);
        let b = async {
            for _ in 0..10 {
                // Yield (wake self) a few times: runnable work, so no auto-advance.
                let mut yielded = false;
                std::future::poll_fn(|cx| {
                    if yielded {
                        return std::task::Poll::Ready(());
                    }
                    yielded = true;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                })
                .await;
                assert_eq!(Instant::now(), start);
            }
        };
        let mut a = Box::pin(a);
        let mut b = Box::pin(b);
        std::future::poll_fn(|cx| {
            let _ = a.as_mut().poll(cx);
            b.as_mut().poll(cx)
        })
        .await;
        a.await;
        assert_eq!(start.elapsed(), 100 * MS);
    });
}

use std::future::Future as _;

/// Replacing a stored waker drops the old one outside the driver lock: dropping it may
/// drop a task holding other sleeps of the same driver (which take the lock).
#[test]
fn replaced_waker_dropped_outside_the_lock() {
    use magpie_time::Sleep;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex, mpsc};
    use std::task::{Wake, Waker};

    struct Holder(Mutex<Option<Pin<Box<Sleep>>>>);
    impl Wake for Holder {
        fn wake(self: Arc<Self>) {
            // Never called here; waking would release the held sleep.
            drop(self.0.lock().unwrap().take());
        }
    }

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = Rt::new();
        let _enter = rt.handle.enter();
        let mut inner = Box::pin(sleep(Duration::from_secs(60)));
        let mut outer = Box::pin(sleep(Duration::from_secs(60)));
        let (_, w) = count_waker();
        assert!(poll_once(inner.as_mut(), &w).is_pending());
        let holder = Arc::new(Holder(Mutex::new(Some(inner))));
        let holder_waker = Waker::from(holder);
        assert!(poll_once(outer.as_mut(), &holder_waker).is_pending());
        drop(holder_waker); // `outer`'s stored waker is now the only reference
        let (_, w2) = count_waker();
        assert!(poll_once(outer.as_mut(), &w2).is_pending()); // drops `inner`
        assert_eq!(rt.handle.registered_timers(), 1);
        drop(outer);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("deadlock: waker dropped under the driver lock");
}
