#![cfg(loom)]
//! Loom models of magpie-time's cross-thread timer protocol (see time/src/entry.rs):
//!
//! 1. the driver fires an entry while its owner drops it on another thread;
//! 2. the driver fires an entry while its owner re-polls it with a new waker (no lost
//!    wake-up);
//! 3. a timer registered from another thread wakes a driver parked with no deadline
//!    (otherwise loom reports a deadlock);
//! 4. the owner resets an entry while the driver fires it.
//!
//! Run: `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test -p magpie-loom-tests
//! --release --test time_entry`.

use std::pin::Pin;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use magpie_base::loom::sync::atomic::{AtomicUsize, Ordering};
use magpie_base::loom::sync::{Arc, Condvar, Mutex};
use magpie_base::loom::thread;
use magpie_base::park::{Park, Unpark};
use magpie_time::driver::{Driver, Handle};
use magpie_time::{Clock, Sleep};

const MS: Duration = Duration::from_millis(1);

/// A parker on loom's mutex and condvar. Loom has no time, so `park_timeout` only
/// consumes a pending unpark and returns (spurious returns are allowed by `Park`).
struct LoomPark(Arc<Signal>);

struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Unpark for Signal {
    fn unpark(&self) {
        *self.woken.lock() = true;
        self.cv.notify_one();
    }
}

// `Park::unparker` hands out a std `Arc<dyn Unpark>`; wrap the loom one.
struct SignalRef(Arc<Signal>);

impl Unpark for SignalRef {
    fn unpark(&self) {
        self.0.unpark();
    }
}

impl Park for LoomPark {
    fn park(&mut self) {
        let mut w = self.0.woken.lock();
        while !*w {
            self.0.cv.wait(&mut w);
        }
        *w = false;
    }

    fn park_timeout(&mut self, _: Duration) {
        *self.0.woken.lock() = false;
    }

    fn unparker(&self) -> StdArc<dyn Unpark> {
        StdArc::new(SignalRef(self.0.clone()))
    }

    fn shutdown(&mut self) {}
}

fn driver() -> (Driver<LoomPark>, Handle) {
    let park = LoomPark(Arc::new(Signal {
        woken: Mutex::new(false),
        cv: Condvar::new(),
    }));
    Driver::new(park, Clock::new(true))
}

struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn count_waker() -> (StdArc<CountWaker>, Waker) {
    let c = StdArc::new(CountWaker(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

fn poll(s: Pin<&mut Sleep>, w: &Waker) -> Poll<()> {
    std::future::Future::poll(s, &mut Context::from_waker(w))
}

/// A registered sleep due 1 ms after the (paused) clock's start, with the clock moved
/// past it so that `process` fires it.
fn due_sleep(handle: &Handle, w: &Waker) -> Pin<Box<Sleep>> {
    let mut s = Box::pin(Sleep::new_in(handle.clone(), handle.clock().now() + MS));
    assert!(poll(s.as_mut(), w).is_pending());
    handle.clock().advance(5 * MS);
    s
}

#[test]
fn fire_races_with_drop() {
    loom::model(|| {
        let (_driver, handle) = driver();
        let (wakes, w) = count_waker();
        let s = due_sleep(&handle, &w);
        let h2 = handle.clone();
        let th = thread::spawn(move || h2.process());
        drop(s);
        th.join().unwrap();
        assert!(wakes.0.load(Ordering::SeqCst) <= 1);
        assert_eq!(handle.registered_timers(), 0);
    });
}

#[test]
fn fire_races_with_repoll_new_waker() {
    loom::model(|| {
        let (_driver, handle) = driver();
        let (wakes1, w1) = count_waker();
        let (wakes2, w2) = count_waker();
        let mut s = due_sleep(&handle, &w1);
        let h2 = handle.clone();
        let th = thread::spawn(move || h2.process());
        let res = poll(s.as_mut(), &w2);
        th.join().unwrap();
        let (n1, n2) = (
            wakes1.0.load(Ordering::SeqCst),
            wakes2.0.load(Ordering::SeqCst),
        );
        assert!(n1 + n2 <= 1, "woken twice");
        if res.is_pending() {
            // The poll stored w2 before the fire: the fire must have woken it.
            assert_eq!(n2, 1, "lost wake-up");
        }
        assert!(s.is_elapsed());
    });
}

#[test]
fn remote_registration_wakes_parked_driver() {
    loom::model(|| {
        let (mut driver, handle) = driver();
        let (wakes, w) = count_waker();
        let h2 = handle.clone();
        let th = thread::spawn(move || {
            let mut s = Box::pin(Sleep::new_in(h2.clone(), h2.clock().now() + MS));
            let _ = poll(s.as_mut(), &w);
            s // kept alive (not moved: it is boxed) until the main thread is done
        });
        // With no timer the driver parks without a deadline: only the registration's
        // unpark can end that park.
        while wakes.0.load(Ordering::SeqCst) == 0 {
            driver.park();
        }
        let s = th.join().unwrap();
        assert!(s.is_elapsed());
    });
}

#[test]
fn reset_races_with_fire() {
    loom::model(|| {
        let (_driver, handle) = driver();
        let (wakes, w) = count_waker();
        let mut s = due_sleep(&handle, &w);
        let h2 = handle.clone();
        let th = thread::spawn(move || h2.process());
        // Re-arm far in the future: either it fired first (and is re-armed), or it is
        // moved before the fire sees it.
        let later = handle.clock().now() + 1000 * MS;
        s.as_mut().reset(later);
        th.join().unwrap();
        assert!(!s.is_elapsed());
        assert_eq!(handle.registered_timers(), 1);
        assert!(wakes.0.load(Ordering::SeqCst) <= 1);
        drop(s);
        assert_eq!(handle.registered_timers(), 0);
    });
}
