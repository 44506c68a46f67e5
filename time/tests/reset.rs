//! `Sleep::reset` moves a deadline earlier and later, and re-arms elapsed sleeps.
mod common;

use std::sync::atomic::Ordering;

use common::{Rt, count_waker, poll_once};
use magpie_time::{Duration, Instant, sleep};

const MS: Duration = Duration::from_millis(1);

#[test]
fn reset_earlier() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        let mut s = Box::pin(sleep(100 * MS));
        let (_, w) = count_waker();
        assert!(poll_once(s.as_mut(), &w).is_pending()); // registered at 100 ms
        s.as_mut().reset(start + 10 * MS);
        assert_eq!(s.deadline(), start + 10 * MS);
        s.await;
        assert_eq!(start.elapsed(), 10 * MS);
    });
}

#[test]
fn reset_later() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        let mut s = Box::pin(sleep(10 * MS));
        let (_, w) = count_waker();
        assert!(poll_once(s.as_mut(), &w).is_pending()); // registered at 10 ms
        s.as_mut().reset(start + 200 * MS);
        // A sentinel at 50 ms lets the clock pass the old deadline first.
        sleep(50 * MS).await;
        assert!(!s.is_elapsed(), "fired at the old deadline");
        s.as_mut().await;
        assert_eq!(start.elapsed(), 200 * MS);
    });
    assert_eq!(rt.handle.registered_timers(), 0);
}

#[test]
fn reset_unpolled_and_elapsed() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        // Never polled: reset just moves the deadline.
        let mut s = Box::pin(sleep(Duration::from_secs(3600)));
        s.as_mut().reset(start + 5 * MS);
        s.as_mut().await;
        assert_eq!(start.elapsed(), 5 * MS);
        assert!(s.is_elapsed());

        // Elapsed: reset re-arms it.
        s.as_mut().reset(start + 30 * MS);
        assert!(!s.is_elapsed());
        s.as_mut().await;
        assert_eq!(start.elapsed(), 30 * MS);
    });
}

#[test]
fn reset_to_the_past_wakes_the_task() {
    let mut rt = Rt::new_paused();
    rt.block_on(async {
        let start = Instant::now();
        magpie_time::advance(20 * MS).await;
        let mut s = Box::pin(sleep(100 * MS));
        let (wakes, w) = count_waker();
        assert!(poll_once(s.as_mut(), &w).is_pending());
        s.as_mut().reset(start);
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "reset into the past wakes"
        );
        assert!(poll_once(s.as_mut(), &w).is_ready());
    });
}
