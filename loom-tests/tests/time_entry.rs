#![cfg(loom)]
//! Loom models of magpie-time's cross-thread timer protocol (see time/src/entry.rs):
//!
//! 1. the driver fires an entry while its owner drops it on another thread;
//! 2. the driver fires an entry while its owner re-polls it with a new waker (no lost
//!    wake-up);
//! 3. a timer registered from another thread wakes a driver parked with no deadline
//!    (otherwise loom reports a deadlock);
//! 4. the owner resets an entry while the driver fires it;
//! 5. with the wheel sharded (two shards, the production `Driver::with_shards`): a
//!    registration on either shard racing a driver that computes its deadline over the
//!    shards, parked with no deadline or until a later one (a lost wake-up is a loom
//!    deadlock), and a cancel on one shard racing the driver firing both.
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
/// See `LoomPark::park_timeout`.
const LONG: Duration = Duration::from_millis(100);

loom::thread_local! {
    /// The worker index each model thread reports to a sharded driver.
    static WORKER: std::cell::Cell<Option<usize>> = std::cell::Cell::new(None);
}

fn worker_index() -> Option<usize> {
    WORKER.with(|w| w.get())
}

fn set_worker(i: usize) {
    WORKER.with(|w| w.set(Some(i)));
}

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

    /// A timeout of `LONG` or more blocks until unparked (it stands for "sleeps far past
    /// the deadline that matters", so a missing unpark is a loom deadlock); a shorter
    /// one only consumes a pending unpark.
    fn park_timeout(&mut self, d: Duration) {
        if d >= LONG {
            self.park();
        } else {
            *self.0.woken.lock() = false;
        }
    }

    fn unparker(&self) -> StdArc<dyn Unpark> {
        StdArc::new(SignalRef(self.0.clone()))
    }

    fn shutdown(&mut self) {}
}

fn loom_park() -> LoomPark {
    LoomPark(Arc::new(Signal {
        woken: Mutex::new(false),
        cv: Condvar::new(),
    }))
}

fn driver() -> (Driver<LoomPark>, Handle) {
    Driver::new(loom_park(), Clock::new(true))
}

/// A driver with two wheel shards; each model thread says which is its own.
fn sharded_driver() -> (Driver<LoomPark>, Handle) {
    let (driver, handle) = Driver::with_shards(loom_park(), Clock::new(true), 2, worker_index);
    assert_eq!(handle.shards(), 2);
    (driver, handle)
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

/// A timer registered on shard `shard` by another thread, while the driver (worker 0)
/// parks with no timer at all: only the registration's unpark can end that park, so a
/// lost wake-up is a loom deadlock. Shard 0 is scanned first, so its registration can
/// land between the scan and the publication (the `SCANNING` case); shard 1 is the last
/// shard, under whose lock the deadline is published.
fn sharded_registration_wakes_driver_parked_forever(shard: usize) {
    loom::model(move || {
        let (mut driver, handle) = sharded_driver();
        set_worker(0);
        let (wakes, w) = count_waker();
        let h2 = handle.clone();
        let th = thread::spawn(move || {
            set_worker(shard);
            let mut s = Box::pin(Sleep::new_in(h2.clone(), h2.clock().now() + MS));
            let _ = poll(s.as_mut(), &w);
            s
        });
        while wakes.0.load(Ordering::SeqCst) == 0 {
            driver.park();
        }
        let s = th.join().unwrap();
        assert!(s.is_elapsed());
        assert_eq!(handle.registered_timers(), 0);
    });
}

#[test]
fn sharded_registration_on_first_shard_wakes_driver_parked_forever() {
    sharded_registration_wakes_driver_parked_forever(0);
}

#[test]
fn sharded_registration_on_last_shard_wakes_driver_parked_forever() {
    sharded_registration_wakes_driver_parked_forever(1);
}

/// The driver (worker 0) has a timer 1 s out on the other shard and, with auto-advance
/// inhibited, parks until it (the wheel reports 960 ms, the start of its level-1 slot;
/// `LoomPark` blocks on such a long timeout until unparked).
/// Another thread registers a 1 ms timer on `shard`: the driver must come back and see
/// the earlier deadline. A lost wake-up is a loom deadlock.
fn sharded_earlier_registration_wakes_driver(shard: usize) {
    loom::model(move || {
        let (mut driver, handle) = sharded_driver();
        handle.clock().inhibit_auto_advance();
        let start = handle.clock().now();
        set_worker(1 - shard);
        let (_wakes, w) = count_waker();
        let mut far = Box::pin(Sleep::new_in(handle.clone(), start + 1000 * MS));
        assert!(poll(far.as_mut(), &w).is_pending());
        set_worker(0);
        let h2 = handle.clone();
        let w2 = w.clone();
        let th = thread::spawn(move || {
            set_worker(shard);
            let mut s = Box::pin(Sleep::new_in(h2, start + MS));
            assert!(poll(s.as_mut(), &w2).is_pending());
            s
        });
        while handle.next_deadline() != Some(start + MS) {
            driver.park();
        }
        let near = th.join().unwrap();
        assert_eq!(handle.registered_timers(), 2);
        drop((near, far));
        assert_eq!(handle.registered_timers(), 0);
    });
}

#[test]
fn sharded_earlier_registration_on_first_shard_wakes_driver() {
    sharded_earlier_registration_wakes_driver(0);
}

#[test]
fn sharded_earlier_registration_on_last_shard_wakes_driver() {
    sharded_earlier_registration_wakes_driver(1);
}

/// Two due timers, on shards 0 and 1; the driver fires both shards (one lock at a
/// time) while the owner of the shard-1 timer drops it on another thread.
#[test]
fn sharded_cancel_races_fire_on_another_shard() {
    loom::model(|| {
        let (_driver, handle) = sharded_driver();
        let (wakes0, w0) = count_waker();
        let (wakes1, w1) = count_waker();
        let start = handle.clock().now();
        let mut s0 = Box::pin(Sleep::new_in(handle.clone(), start + MS));
        let mut s1 = Box::pin(Sleep::new_in(handle.clone(), start + MS));
        set_worker(0);
        assert!(poll(s0.as_mut(), &w0).is_pending());
        set_worker(1);
        assert!(poll(s1.as_mut(), &w1).is_pending());
        assert_eq!(handle.registered_timers(), 2);
        handle.clock().advance(5 * MS);
        let h2 = handle.clone();
        let th = thread::spawn(move || h2.process());
        drop(s1);
        th.join().unwrap();
        assert!(s0.is_elapsed());
        assert_eq!(wakes0.0.load(Ordering::SeqCst), 1);
        assert!(wakes1.0.load(Ordering::SeqCst) <= 1);
        assert_eq!(handle.registered_timers(), 0);
    });
}
