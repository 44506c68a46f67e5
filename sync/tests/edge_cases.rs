//! The edge cases of issue 19: each test failed (hung, leaked or lost a wakeup) on the
//! code before the fix. Tests that could hang run under `deadline`.
mod common;

use common::*;
use magpie_base::coop;
use magpie_sync::{Event, Notify, Semaphore, broadcast, mpsc, oneshot, watch};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Poll, Wake, Waker};

// ---- 1. forget_permits on a closed semaphore ----

#[test]
fn forget_permits_on_closed_semaphore_returns() {
    let (forgot, left) = deadline(5, || {
        let s = Semaphore::new(3);
        s.close();
        (s.forget_permits(2), s.available_permits())
    });
    assert_eq!((forgot, left), (2, 1));
    let none = deadline(5, || {
        let s = Semaphore::new(0);
        s.close();
        s.forget_permits(5)
    });
    assert_eq!(none, 0);
}

// ---- 2. mpsc: permits released after close wake the receiver ----

#[test]
fn recv_none_after_close_when_last_permit_dropped() {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    let (w, c) = count_waker();
    let mut recv = pin!(rx.recv());
    assert!(poll_with(recv.as_mut(), &w).is_pending());
    drop(permit);
    assert!(
        c.count() >= 1,
        "dropping the last permit must wake the receiver"
    );
    assert_eq!(poll_with(recv, &w), Poll::Ready(None));
    drop(tx);
}

#[test]
fn recv_none_after_close_when_last_owned_permit_released() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let permit = tx.clone().try_reserve_owned().unwrap();
    rx.close();
    let (w, c) = count_waker();
    let mut recv = pin!(rx.recv());
    assert!(poll_with(recv.as_mut(), &w).is_pending());
    let sender = permit.release();
    assert!(c.count() >= 1);
    assert_eq!(poll_with(recv, &w), Poll::Ready(None));
    drop((tx, sender));
}

/// A `reserve` granted a slot just before `close` fails after it and wakes the receiver
/// (tokio's `failed_reserve_wakes_closed_receiver`).
#[test]
fn reserve_granted_before_close_fails_and_wakes_receiver() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let p1 = tx.try_reserve().unwrap();
    let mut r2 = pin!(tx.reserve());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(p1); // the slot goes to r2
    rx.close();
    let (w, c) = count_waker();
    let mut recv = pin!(rx.recv());
    assert!(poll_with(recv.as_mut(), &w).is_pending());
    assert!(matches!(poll_once(r2), Poll::Ready(Err(_))));
    assert!(c.count() >= 1, "the failed reserve must wake the receiver");
    assert_eq!(poll_with(recv, &w), Poll::Ready(None));
}

#[test]
fn cancelled_reserve_after_close_wakes_receiver() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let p1 = tx.try_reserve().unwrap();
    let mut r2 = Box::pin(tx.reserve());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(p1);
    rx.close();
    let (w, c) = count_waker();
    let mut recv = pin!(rx.recv());
    assert!(poll_with(recv.as_mut(), &w).is_pending());
    drop(r2); // cancelled while holding the granted slot
    assert!(
        c.count() >= 1,
        "the cancelled reserve must wake the receiver"
    );
    assert_eq!(poll_with(recv, &w), Poll::Ready(None));
}

#[test]
fn cancelled_partial_reserve_many_after_close_wakes_receiver() {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    let p1 = tx.try_reserve().unwrap();
    let mut r = Box::pin(tx.reserve_many(2)); // takes 1, queues for 1
    assert!(poll_once(r.as_mut()).is_pending());
    rx.close();
    assert!(matches!(poll_once(r.as_mut()), Poll::Ready(Err(_))));
    let (w, c) = count_waker();
    let mut recv = pin!(rx.recv());
    assert!(poll_with(recv.as_mut(), &w).is_pending());
    drop(r);
    drop(p1);
    assert!(c.count() >= 1);
    assert_eq!(poll_with(recv, &w), Poll::Ready(None));
}

#[test]
fn close_with_queued_values_and_permit_drains_then_none() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    tx.try_send(1).unwrap();
    let p = tx.try_reserve().unwrap();
    rx.close();
    assert!(tx.try_send(2).is_err());
    p.send(3);
    let got = deadline(5, move || {
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        drop(tx);
        got
    });
    assert_eq!(got, [1, 3]);
}

// ---- 3. broadcast: no user waker is dropped or cloned under the lock ----

/// A waker whose last drop sends on a broadcast channel (re-entering it).
struct SendOnDrop(broadcast::Sender<i32>);

impl Wake for SendOnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(99);
    }
}

#[test]
fn broadcast_replacing_a_reentrant_waker_does_not_deadlock() {
    let got = deadline(5, || {
        let (tx, mut rx) = broadcast::channel::<i32>(4);
        let w = Waker::from(Arc::new(SendOnDrop(tx.clone())));
        {
            let recv = pin!(rx.recv());
            assert!(poll_with(recv, &w).is_pending());
        }
        drop(w); // the channel holds the only clone now
        // A different waker replaces the stored one, whose drop sends.
        let first = poll_once(pin!(rx.recv()));
        let v = match first {
            Poll::Ready(r) => r,
            Poll::Pending => rx
                .try_recv()
                .map_err(|_| broadcast::error::RecvError::Closed),
        };
        drop(tx);
        v
    });
    assert_eq!(got, Ok(99));
}

#[test]
fn broadcast_receiver_drop_with_reentrant_waker_does_not_deadlock() {
    let n = deadline(5, || {
        let (tx, mut rx) = broadcast::channel::<i32>(4);
        let mut rx2 = tx.subscribe();
        let w = Waker::from(Arc::new(SendOnDrop(tx.clone())));
        {
            let recv = pin!(rx.recv());
            assert!(poll_with(recv, &w).is_pending());
        }
        drop(w);
        drop(rx); // drops the stored waker, which sends
        rx2.try_recv()
    });
    assert_eq!(n, Ok(99));
}

// ---- 4. non-async try_* never consult the budget ----

#[test]
fn future_set_try_next_ignores_the_budget() {
    use magpie_sync::__private::FutureSet;
    let mut set = FutureSet::new();
    let n = size(1000, 300);
    for i in 0..n {
        let (tx, rx) = oneshot::channel();
        tx.send(i).unwrap();
        set.push(rx);
    }
    let got = coop::budget(|| {
        let mut got = 0;
        while let Some((_, r)) = set.try_next() {
            r.unwrap();
            got += 1;
        }
        got
    });
    assert_eq!(got, n);
}

#[test]
fn try_recv_ignores_the_budget() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..1000 {
        tx.send(i).unwrap();
    }
    let n = coop::budget(|| std::iter::from_fn(|| rx.try_recv().ok()).count());
    assert_eq!(n, 1000);
}

// ---- 5. every async primitive spends budget when it completes at once ----

/// Polls the future built by `$make` (after `$prep`) once, repeatedly, inside one
/// budgeted poll; evaluates to how many were ready before one returned `Pending`.
macro_rules! ready_polls {
    ($make:expr) => {
        ready_polls!({}, $make)
    };
    ($prep:expr, $make:expr) => {
        coop::budget(|| {
            for i in 0..1000usize {
                $prep;
                let fut = pin!($make);
                if poll_once(fut).is_pending() {
                    return i;
                }
            }
            1000
        })
    };
}

const BUDGET: usize = coop::INITIAL_BUDGET as usize;

#[test]
fn watch_changed_spends_budget() {
    let (tx, mut rx) = watch::channel(0);
    let n = ready_polls!(rx.mark_changed(), rx.changed());
    assert!(n <= BUDGET, "{n} ready polls without yielding");
    drop(tx);
}

#[test]
fn watch_wait_for_and_sender_closed_spend_budget() {
    let (tx, mut rx) = watch::channel(1);
    let n = ready_polls!(rx.wait_for(|v| *v == 1));
    assert!(n <= BUDGET, "wait_for: {n}");
    drop(rx);
    let n = ready_polls!(tx.closed());
    assert!(n <= BUDGET, "closed: {n}");
}

#[test]
fn notified_and_event_wait_spend_budget() {
    let notify = Notify::new();
    let n = ready_polls!(notify.notify_one(), notify.notified());
    assert!(n <= BUDGET, "notified: {n}");
    let ev = Event::new();
    ev.set();
    let n = ready_polls!(ev.wait());
    assert!(n <= BUDGET, "event: {n}");
}

#[test]
fn barrier_leader_and_ready_once_cell_spend_budget() {
    let b = magpie_sync::Barrier::new(1);
    let n = ready_polls!(b.wait());
    assert!(n <= BUDGET, "barrier: {n}");
    let cell = magpie_sync::OnceCell::new_with(Some(1));
    let n = ready_polls!(cell.get_or_init(|| async { 2 }));
    assert!(n <= BUDGET, "once_cell: {n}");
}

// ---- 6. mpsc receiver drop: panicking values, stored waker ----

struct MaybePanic {
    panic: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for MaybePanic {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.panic {
            panic!("MaybePanic");
        }
    }
}

#[test]
fn receiver_drop_drops_every_value_even_if_one_panics() {
    for bounded in [true, false] {
        let drops = counter();
        let vals = (0..50).map(|i| MaybePanic {
            panic: i == 3,
            drops: drops.clone(),
        });
        let res = if bounded {
            let (tx, rx) = mpsc::channel(64);
            for v in vals {
                tx.try_send(v).map_err(|_| ()).unwrap();
            }
            let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
            assert_eq!(get(&drops), 50, "bounded: every queued value dropped");
            drop(tx);
            r
        } else {
            let (tx, rx) = mpsc::unbounded_channel();
            for v in vals {
                tx.send(v).map_err(|_| ()).unwrap();
            }
            let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
            assert_eq!(get(&drops), 50, "unbounded: every queued value dropped");
            drop(tx);
            r
        };
        assert!(res.is_err(), "the panic is propagated");
        assert_eq!(get(&drops), 50);
    }
}

#[test]
fn dropped_receiver_releases_its_waker() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let (w, c) = count_waker();
    {
        let recv = pin!(rx.recv());
        assert!(poll_with(recv, &w).is_pending());
    }
    drop(w);
    assert_eq!(Arc::strong_count(&c), 2, "the channel holds the waker");
    drop(rx);
    assert_eq!(Arc::strong_count(&c), 1, "the dropped receiver released it");
    drop(tx);
}

// ---- blocking_* inside a runtime panic with advice ----

fn assert_panics_with_advice(what: &str, f: impl FnOnce()) {
    let _entered = magpie_base::context::set_in_runtime(true);
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err(what);
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(msg.contains(what), "{what}: {msg}");
    assert!(
        msg.contains(".await") && msg.contains("spawn_blocking"),
        "{msg}"
    );
}

#[test]
fn blocking_methods_panic_inside_a_runtime() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    assert_panics_with_advice("blocking_send", || {
        let _ = tx.blocking_send(1);
    });
    assert_panics_with_advice("blocking_recv", || {
        let _ = rx.blocking_recv();
    });
    let (_utx, mut urx) = mpsc::unbounded_channel::<i32>();
    assert_panics_with_advice("blocking_recv", || {
        let _ = urx.blocking_recv();
    });
    let m = magpie_sync::Mutex::new(0);
    assert_panics_with_advice("blocking_lock", || drop(m.blocking_lock()));
    let l = magpie_sync::RwLock::new(0);
    assert_panics_with_advice("blocking_read", || drop(l.blocking_read()));
    assert_panics_with_advice("blocking_write", || drop(l.blocking_write()));
    let (_otx, orx) = oneshot::channel::<i32>();
    assert_panics_with_advice("blocking_recv", || {
        let _ = orx.blocking_recv();
    });
    let (_btx, mut brx) = broadcast::channel::<i32>(1);
    assert_panics_with_advice("blocking_recv", || {
        let _ = brx.blocking_recv();
    });
    // Outside a runtime they work (the mark is restored by the guard).
    assert!(!magpie_base::context::in_runtime());
    tx.blocking_send(5).unwrap();
    assert_eq!(rx.blocking_recv(), Some(5));
    drop(m.blocking_lock());
}
