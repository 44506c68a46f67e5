//! Timers fire in deadline order (1 ms granularity), checked on the paused clock.
mod common;

use std::sync::{Arc, Mutex};

use common::{Lcg, Rt, spawn};
use magpie_time::{Duration, Instant, sleep, sleep_until};

/// Fewer under miri (interpreted code is ~1000x slower).
const TIMERS: usize = if cfg!(miri) { 50 } else { 1000 };

#[test]
fn thousand_random_timers_fire_in_deadline_order() {
    let mut rt = Rt::new_paused();
    let wall = std::time::Instant::now();
    let log: Arc<Mutex<Vec<(Duration, Instant)>>> = Arc::default();
    let start = rt.block_on({
        let log = log.clone();
        async move {
            let start = Instant::now();
            let mut lcg = Lcg(42);
            for _ in 0..TIMERS {
                // Up to 10 s, with sub-millisecond parts.
                let offset = Duration::from_micros(lcg.next() % 10_000_000);
                let log = log.clone();
                spawn(async move {
                    sleep_until(start + offset).await;
                    log.lock().unwrap().push((offset, Instant::now()));
                });
            }
            sleep(Duration::from_secs(11)).await;
            start
        }
    });
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "the paused clock should auto-advance, not sleep"
    );

    let log = log.lock().unwrap();
    assert_eq!(log.len(), TIMERS);
    let mut last_ms = 0;
    for (i, &(offset, fired)) in log.iter().enumerate() {
        // The deadline in whole ms, rounded up: the timer's granularity.
        let ms = offset.as_nanos().div_ceil(1_000_000) as u64;
        assert!(
            ms >= last_ms,
            "timer #{i} (deadline {offset:?}) fired after one due at {last_ms} ms"
        );
        last_ms = ms;
        // Never early, and (the clock jumps tick by tick) exactly at its tick.
        assert!(fired >= start + offset, "timer #{i} fired early");
        assert_eq!(fired - start, Duration::from_millis(ms), "timer #{i}");
    }
}

#[test]
fn same_tick_fires_in_registration_order() {
    let mut rt = Rt::new_paused();
    let log: Arc<Mutex<Vec<usize>>> = Arc::default();
    rt.block_on({
        let log = log.clone();
        async move {
            for i in 0..50 {
                let log = log.clone();
                spawn(async move {
                    sleep(Duration::from_millis(70)).await;
                    log.lock().unwrap().push(i);
                });
            }
            sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(*log.lock().unwrap(), (0..50).collect::<Vec<_>>());
}
