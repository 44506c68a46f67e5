//! Timeout fires, does not fire, polls the inner future first, and is not starved by a
//! budget-hungry inner future.
mod common;

use std::future::poll_fn;
use std::task::Poll;

use common::Rt;
use magpie_time::error::Elapsed;
use magpie_time::{Duration, Instant, sleep, timeout, timeout_at};

const MS: Duration = Duration::from_millis(1);

#[test]
fn timeout_fires() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        let res = timeout(10 * MS, sleep(Duration::from_secs(1))).await;
        assert!(matches!(res, Err(Elapsed { .. })));
        assert_eq!(res.unwrap_err().to_string(), "deadline has elapsed");
        assert_eq!(start.elapsed(), 10 * MS);
        let err: std::io::Error = res.unwrap_err().into();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    });
    assert_eq!(rt.handle.registered_timers(), 0);
}

#[test]
fn timeout_does_not_fire() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        let res = timeout(Duration::from_secs(1), async {
            sleep(10 * MS).await;
            5
        })
        .await;
        assert_eq!(res, Ok(5));
        assert_eq!(start.elapsed(), 10 * MS);
        let res = timeout_at(start + 100 * MS, sleep(20 * MS)).await;
        assert_eq!(res, Ok(()));
    });
    // The unfired timeout timers were unlinked when the Timeouts dropped.
    assert_eq!(rt.handle.registered_timers(), 0);
}

#[test]
fn inner_future_is_polled_first() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
        let past = Instant::now();
        magpie_time::advance(5 * MS).await;
        assert_eq!(timeout_at(past, async { 2 }).await, Ok(2));
        let t = timeout(MS, async { 3 });
        let _: &_ = t.get_ref();
        assert_eq!(t.into_inner().await, 3);
    });
}

#[test]
fn budget_hog_still_times_out() {
    // Real clock: the inner future spends the whole coop budget on every poll and
    // never completes; the timeout must still fire.
    let mut rt = Rt::new();
    let wall = std::time::Instant::now();
    let res = rt.block_on(async {
        let hog = poll_fn(|cx| {
            assert!(
                wall.elapsed() < Duration::from_secs(10),
                "timeout starved by the budget"
            );
            while let Poll::Ready(mut unit) = magpie_base::coop::poll_proceed(cx) {
                unit.made_progress();
            }
            Poll::<()>::Pending
        });
        timeout(20 * MS, hog).await
    });
    assert!(res.is_err());
    assert!(wall.elapsed() >= 20 * MS);
}
