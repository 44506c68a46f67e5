//! A timer registered from a non-runtime thread, with a deadline earlier than the one the
//! parked driver sleeps to, wakes the driver promptly (real clock).
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;

use common::{Rt, block_on_thread, poll_once};
use magpie_time::{Duration, Instant, Sleep};

#[test]
fn earlier_timer_from_another_thread_wakes_parked_driver() {
    let mut rt = Rt::new();
    let handle = rt.handle.clone();
    let done = Arc::new(AtomicBool::new(false));
    let main_waker: Arc<Mutex<Option<Waker>>> = Arc::default();

    let other = {
        let done = done.clone();
        let main_waker = main_waker.clone();
        thread::spawn(move || {
            // Let the runtime park on its one-hour timer first.
            let t0 = std::time::Instant::now();
            while handle.__next_wake() == 0 {
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "runtime never parked"
                );
                thread::sleep(Duration::from_millis(1));
            }
            let start = Instant::now();
            let sleep = Sleep::new_in(handle, start + Duration::from_millis(50));
            let res = block_on_thread(sleep, Duration::from_secs(10));
            let took = start.elapsed();
            done.store(true, Ordering::SeqCst);
            if let Some(w) = main_waker.lock().unwrap().take() {
                w.wake();
            }
            (res.is_some(), took)
        })
    };

    rt.block_on(async {
        let mut hour = Box::pin(magpie_time::sleep(Duration::from_secs(3600)));
        std::future::poll_fn(|cx| {
            *main_waker.lock().unwrap() = Some(cx.waker().clone());
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            let _ = hour.as_mut().poll(cx);
            Poll::Pending
        })
        .await;
    });
    let (completed, took) = other.join().unwrap();
    assert!(
        completed,
        "the parked driver was never woken for the earlier timer"
    );
    assert!(took >= Duration::from_millis(50), "fired early: {took:?}");
    assert!(took < Duration::from_secs(5), "woken too late: {took:?}");
}

#[test]
fn later_timer_from_another_thread_does_not_unpark() {
    let mut rt = Rt::new();
    let handle = rt.handle.clone();
    let signal = rt.signal.clone();
    rt.block_on(async move {
        let start = Instant::now();
        let other = thread::spawn(move || {
            let t0 = std::time::Instant::now();
            while handle.__next_wake() == 0 {
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "runtime never parked"
                );
                thread::yield_now();
            }
            let before = signal.unparks.load(Ordering::SeqCst);
            // Later than the runtime's own 100 ms timer: no reason to wake it.
            let mut s = Box::pin(Sleep::new_in(handle, start + Duration::from_secs(60)));
            let _ = poll_once(s.as_mut(), Waker::noop());
            let after = signal.unparks.load(Ordering::SeqCst);
            drop(s);
            after - before
        });
        magpie_time::sleep(Duration::from_millis(100)).await;
        assert_eq!(other.join().unwrap(), 0);
    });
}

use std::future::Future as _;
