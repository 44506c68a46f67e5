//! The timer wheel sharded per worker (issue 18): timers registered on different shards
//! fire in deadline order, cancel and reset work from any thread, a registration on any
//! shard wakes a driver parked until a later deadline (real clock, with deadlines so a
//! lost wake-up fails instead of hanging), and shutdown fires every shard.
mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;

use common::{Rt, block_on_thread, count_waker, poll_once, set_worker};
use magpie_time::{Clock, Duration, Instant, Sleep};

#[test]
fn shard_count_is_workers_rounded_up_to_a_power_of_two() {
    assert_eq!(Rt::new().handle.shards(), 1);
    assert_eq!(Rt::sharded(Clock::new(true), 0).handle.shards(), 1);
    assert_eq!(Rt::sharded(Clock::new(true), 1).handle.shards(), 1);
    assert_eq!(Rt::sharded(Clock::new(true), 3).handle.shards(), 4);
    assert_eq!(Rt::sharded(Clock::new(true), 8).handle.shards(), 8);
}

#[test]
fn timers_on_every_shard_fire_in_deadline_order() {
    const N: u64 = 64;
    let mut rt = Rt::sharded(Clock::new(true), 4);
    let handle = rt.handle.clone();
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let order2 = order.clone();
    rt.block_on(async move {
        let start = Instant::now();
        for i in 0..N {
            // Distinct deadlines, not in registration order, spread over the 4 shards.
            let ms = (i * 37 % N + 1) * 7;
            let mut s = Box::pin(Sleep::new_in(
                handle.clone(),
                start + Duration::from_millis(ms),
            ));
            set_worker(Some(i as usize % 4));
            assert!(poll_once(s.as_mut(), Waker::noop()).is_pending());
            let order = order2.clone();
            // Polled again (new waker) from the executor, which is "worker" 3 below.
            common::spawn(async move {
                s.await;
                order.lock().unwrap().push(ms);
            });
        }
        set_worker(Some(3));
        assert_eq!(handle.registered_timers(), N as usize);
        assert_eq!(
            handle.next_deadline(),
            Some(start + Duration::from_millis(7))
        );
        magpie_time::sleep(Duration::from_millis(N * 7 + 10)).await;
        assert_eq!(handle.registered_timers(), 0);
    });
    set_worker(None);
    let got = order.lock().unwrap().clone();
    let mut want = got.clone();
    want.sort_unstable();
    assert_eq!(got.len(), N as usize);
    assert_eq!(got, want, "fired out of deadline order");
}

#[test]
fn cancel_and_reset_from_another_thread() {
    let rt = Rt::sharded(Clock::new(true), 4);
    let handle = rt.handle.clone();
    let start = handle.clock().now();
    let (wakes, w) = count_waker();
    let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..8)
        .map(|i| {
            let mut s = Box::pin(Sleep::new_in(
                handle.clone(),
                start + Duration::from_millis(100 + i),
            ));
            set_worker(Some(i as usize % 4));
            assert!(poll_once(s.as_mut(), &w).is_pending());
            s
        })
        .collect();
    set_worker(None);
    assert_eq!(handle.registered_timers(), 8);
    // Another thread (not a worker) moves half of them and cancels the other half.
    let moved = thread::scope(|sc| {
        sc.spawn(|| {
            let mut kept = Vec::new();
            for (i, mut s) in sleeps.drain(..).enumerate() {
                if i % 2 == 0 {
                    s.as_mut().reset(start + Duration::from_millis(5));
                    kept.push(s);
                }
            }
            kept
        })
        .join()
        .unwrap()
    });
    assert_eq!(handle.registered_timers(), 4);
    assert_eq!(
        handle.next_deadline(),
        Some(start + Duration::from_millis(5))
    );
    handle.clock().advance(Duration::from_millis(5));
    handle.process();
    assert!(moved.iter().all(|s| s.is_elapsed()));
    assert_eq!(wakes.0.load(Ordering::SeqCst), 4);
    assert_eq!(handle.registered_timers(), 0);
}

/// The driver (this thread, the last worker) parks until a 1 h timer; one thread per
/// entry of `workers` registers short timers as that worker (on that shard), `rounds`
/// times, some while the driver computes its deadline over the shards. Every one must
/// fire promptly.
fn remote_registrations_wake_parked_driver(shards: usize, workers: &[usize], rounds: usize) {
    let threads = workers.len();
    let mut rt = Rt::sharded(Clock::new(false), shards);
    let handle = rt.handle.clone();
    let finished = Arc::new(AtomicUsize::new(0));
    let main_waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    /// Counts a thread as finished (even if it panicked) and wakes the driver's thread.
    struct Finish(Arc<AtomicUsize>, Arc<Mutex<Option<Waker>>>);
    impl Drop for Finish {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            if let Some(w) = self.1.lock().unwrap().as_ref() {
                w.wake_by_ref();
            }
        }
    }
    let others: Vec<_> = workers
        .iter()
        .map(|&k| {
            let handle = handle.clone();
            let _finish = Finish(finished.clone(), main_waker.clone());
            thread::spawn(move || {
                let _finish = _finish;
                set_worker(Some(k));
                let mut worst = Duration::ZERO;
                for r in 0..rounds {
                    let t0 = std::time::Instant::now();
                    let ms = 1 + (r % 3) as u64;
                    let s =
                        Sleep::new_in(handle.clone(), Instant::now() + Duration::from_millis(ms));
                    let ok = block_on_thread(s, Duration::from_secs(10)).is_some();
                    assert!(ok, "worker {k}: timer {r} never fired");
                    worst = worst.max(t0.elapsed());
                }
                worst
            })
        })
        .collect();
    set_worker(Some(shards - 1));
    rt.block_on(async {
        let mut hour = Box::pin(magpie_time::sleep(Duration::from_secs(3600)));
        std::future::poll_fn(|cx| {
            *main_waker.lock().unwrap() = Some(cx.waker().clone());
            if finished.load(Ordering::SeqCst) == threads {
                return Poll::Ready(());
            }
            let _ = hour.as_mut().poll(cx);
            Poll::Pending
        })
        .await;
    });
    set_worker(None);
    for t in others {
        let worst = t.join().unwrap();
        // Generous for a loaded 2-core box; a lost wake-up would wait the 1 h timer
        // (the 10 s limit above fails first).
        assert!(
            worst < Duration::from_secs(5),
            "a timer fired {worst:?} late"
        );
    }
}

/// Rounds per thread (fewer under miri, which is slow).
const ROUNDS: usize = if cfg!(miri) { 3 } else { 50 };

#[test]
fn registration_on_each_shard_wakes_parked_driver() {
    for shard in 0..4 {
        remote_registrations_wake_parked_driver(4, &[shard], ROUNDS);
    }
}

#[test]
fn concurrent_registrations_on_many_shards_wake_parked_driver() {
    remote_registrations_wake_parked_driver(4, &[0, 1, 2, 3], ROUNDS);
}

#[test]
fn shutdown_fires_every_shard() {
    let rt = Rt::sharded(Clock::new(true), 4);
    let handle = rt.handle.clone();
    let (wakes, w) = count_waker();
    let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..4)
        .map(|i| {
            let mut s = Box::pin(Sleep::new_in(
                handle.clone(),
                handle.clock().now() + Duration::from_secs(60),
            ));
            set_worker(Some(i));
            assert!(poll_once(s.as_mut(), &w).is_pending());
            s
        })
        .collect();
    set_worker(None);
    handle.shutdown();
    assert_eq!(wakes.0.load(Ordering::SeqCst), 4);
    assert_eq!(handle.registered_timers(), 0);
    assert!(sleeps.iter().all(|s| s.is_elapsed()));
    // A registration on any shard after shutdown completes at once.
    let mut late = Box::pin(Sleep::new_in(
        handle.clone(),
        handle.clock().now() + Duration::from_secs(60),
    ));
    assert!(poll_once(late.as_mut(), &w).is_ready());
    sleeps.clear();
}

/// A deadline already passed completes at its first poll, also on a shard whose wheel
/// was empty while the driver parked and fired (its firing pass skips empty shards, so
/// the wheel's own reading lags the clock until the registration catches it up).
#[test]
fn a_past_deadline_fires_at_once_on_an_idle_shard() {
    for shards in [1, 2] {
        let mut rt = Rt::sharded(Clock::new(true), shards);
        let start = rt.handle.clock().now();
        // The clock moves on, and the driver parks and runs its firing pass with every
        // shard empty (an explicit `process` would bring every wheel up to date).
        rt.handle.clock().advance(Duration::from_secs(10));
        magpie_base::park::Park::park_timeout(&mut rt.driver, Duration::ZERO);
        let sleep = Sleep::new_in(rt.handle.clone(), start + Duration::from_secs(5));
        let (_count, waker) = count_waker();
        let mut sleep = std::pin::pin!(sleep);
        assert!(
            poll_once(sleep.as_mut(), &waker).is_ready(),
            "a deadline 5 s in the past stayed pending ({shards} shards)"
        );
        assert_eq!(rt.handle.registered_timers(), 0);
    }
}
