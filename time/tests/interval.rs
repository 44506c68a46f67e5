//! Interval ticks, and each MissedTickBehavior (paused clock).
mod common;

use common::Rt;
use magpie_time::{Duration, Instant, MissedTickBehavior, advance, interval, interval_at};

const MS: Duration = Duration::from_millis(1);

/// Ticks once, lags 35 ms (10 ms period), then returns (tick due, clock at tick)
/// for the next four ticks, relative to the start.
fn lagging_ticks(behavior: MissedTickBehavior) -> Vec<(u64, u64)> {
    let mut rt = Rt::new_paused();
    rt.block_on(async move {
        let start = Instant::now();
        let mut iv = interval(10 * MS);
        iv.set_missed_tick_behavior(behavior);
        assert_eq!(iv.missed_tick_behavior(), behavior);
        assert_eq!(iv.period(), 10 * MS);
        assert_eq!(iv.tick().await, start); // the first tick is immediate
        advance(35 * MS).await;
        let mut out = Vec::new();
        for _ in 0..4 {
            let due = iv.tick().await;
            out.push((
                (due - start).as_millis() as u64,
                start.elapsed().as_millis() as u64,
            ));
        }
        out
    })
}

#[test]
fn burst_catches_up() {
    assert_eq!(
        lagging_ticks(MissedTickBehavior::Burst),
        vec![(10, 35), (20, 35), (30, 35), (40, 40)]
    );
}

#[test]
fn delay_restarts_from_the_late_tick() {
    assert_eq!(
        lagging_ticks(MissedTickBehavior::Delay),
        vec![(10, 35), (45, 45), (55, 55), (65, 65)]
    );
}

#[test]
fn skip_keeps_the_schedule() {
    assert_eq!(
        lagging_ticks(MissedTickBehavior::Skip),
        vec![(10, 35), (40, 40), (50, 50), (60, 60)]
    );
}

#[test]
fn default_is_burst_and_ticks_are_periodic() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now() + 5 * MS;
        let mut iv = interval_at(start, 20 * MS);
        assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
        for i in 0..5u32 {
            let due = iv.tick().await;
            assert_eq!(due, start + 20 * MS * i);
            assert_eq!(Instant::now(), due);
        }
        iv.reset();
        let now = Instant::now();
        assert_eq!(iv.tick().await, now + 20 * MS);
        iv.reset_immediately();
        assert_eq!(iv.tick().await, Instant::now());
    });
}

#[test]
#[should_panic(expected = "`period` must be non-zero")]
fn zero_period_panics() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let _ = interval(Duration::ZERO);
    });
}
