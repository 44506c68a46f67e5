//! A million timers, cancelling entries waiting in the pending batch, auto traits.
mod common;

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use common::{Rt, count_waker, poll_once};
use magpie_time::driver::Handle;
use magpie_time::{Duration, Instant, Interval, Sleep, Timeout, advance, sleep};

#[test]
fn a_million_sleeps_all_wake() {
    const N: usize = if cfg!(miri) { 500 } else { 1_000_000 };
    let mut rt = Rt::new_paused();
    let handle = rt.handle.clone();
    let (wakes, w) = count_waker();
    let mut sleeps = rt.block_on(async {
        let sleeps: Vec<Pin<Box<Sleep>>> = (0..N)
            .map(|i| Box::pin(sleep(Duration::from_millis(1 + (i % 5000) as u64))))
            .collect();
        sleeps
    });
    for s in &mut sleeps {
        assert!(poll_once(s.as_mut(), &w).is_pending());
    }
    assert_eq!(handle.registered_timers(), N);
    rt.block_on(async { advance(Duration::from_secs(6)).await });
    assert_eq!(wakes.0.load(Ordering::SeqCst), N);
    assert!(sleeps.iter().all(|s| s.is_elapsed()));
    assert_eq!(handle.registered_timers(), 0);
}

/// The driver wakes due timers in batches of 32 with the lock released; entries still
/// waiting in the wheel's pending list meanwhile can be cancelled.
#[test]
fn cancel_while_waiting_in_the_fire_batch() {
    struct DropOthers {
        victims: Arc<Mutex<Vec<Pin<Box<Sleep>>>>>,
    }
    impl Wake for DropOthers {
        fn wake(self: Arc<Self>) {
            self.victims.lock().unwrap().clear();
        }
    }

    let mut rt = Rt::new_paused();
    let handle = rt.handle.clone();
    let _enter = handle.enter();
    let victims: Arc<Mutex<Vec<Pin<Box<Sleep>>>>> = Arc::default();
    let dropper = Waker::from(Arc::new(DropOthers {
        victims: victims.clone(),
    }));
    let (wakes, w) = count_waker();
    // First in line: its wake (in the first batch) drops the victims.
    let mut first = Box::pin(sleep(Duration::from_millis(10)));
    assert!(poll_once(first.as_mut(), &dropper).is_pending());
    let mut early: Vec<_> = (0..40)
        .map(|_| Box::pin(sleep(Duration::from_millis(10))))
        .collect();
    for s in &mut early {
        assert!(poll_once(s.as_mut(), &w).is_pending());
    }
    let (victim_wakes, vw) = count_waker();
    for _ in 0..20 {
        let mut s = Box::pin(sleep(Duration::from_millis(10)));
        assert!(poll_once(s.as_mut(), &vw).is_pending());
        victims.lock().unwrap().push(s);
    }
    assert_eq!(handle.registered_timers(), 61);
    drop(_enter);
    rt.block_on(async { advance(Duration::from_millis(10)).await });
    assert!(victims.lock().unwrap().is_empty());
    assert_eq!(
        victim_wakes.0.load(Ordering::SeqCst),
        0,
        "dropped sleeps fired"
    );
    assert_eq!(wakes.0.load(Ordering::SeqCst), 40);
    assert!(first.is_elapsed());
    assert_eq!(handle.registered_timers(), 0);
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Sleep>();
    send_sync::<Interval>();
    send_sync::<Handle>();
    send_sync::<Instant>();
    send_sync::<magpie_time::Clock>();
    send::<Timeout<std::future::Ready<()>>>();
    send_sync::<magpie_time::error::Elapsed>();
}
