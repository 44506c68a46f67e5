#![cfg(loom)]
//! Loom models of the worker parker (runtime/src/scheduler/park.rs): the
//! EMPTY / PARKED_CONDVAR / PARKED_DRIVER / NOTIFIED state machine. A lost unpark shows
//! up as a loom deadlock (the parked thread never returns).

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Condvar, Mutex};
use loom::thread;
use magpie_base::park::{Park, Unpark};
use magpie_runtime::__loom::{Driver, Parker};
use std::sync::Arc;
use std::time::Duration;

/// `loom::model`, printing how many executions it explored (see with `--nocapture`).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        f();
    });
    eprintln!(
        "{}: {} executions",
        std::thread::current().name().unwrap_or("?"),
        n.load(std::sync::atomic::Ordering::SeqCst)
    );
}

/// An unpark from another thread, racing the park: it may land before the park (the
/// NOTIFIED fast path), between the first check and the condvar lock, or while parked.
/// `park` returns in every interleaving.
#[test]
fn unpark_vs_park() {
    model(|| {
        let mut p = Parker::new();
        let u = p.unparker();
        let t = thread::spawn(move || u.unpark());
        p.park();
        t.join().unwrap();
    });
}

/// An unpark that completed before `park` is called is not lost.
#[test]
fn unpark_before_park() {
    model(|| {
        let mut p = Parker::new();
        let u = p.unparker();
        let t = thread::spawn(move || u.unpark());
        t.join().unwrap();
        p.park();
    });
}

/// Two park/unpark rounds: the unparker waits until the first park returned before
/// its second unpark, so each park has its own unpark. Both parks return; the second
/// round starts from a clean EMPTY state (the first NOTIFIED was consumed exactly
/// once, and the condvar notification of round one does not leak into round two).
#[test]
fn repeated_park_unpark() {
    model(|| {
        let mut p = Parker::new();
        let u = p.unparker();
        let rounds = Arc::new(AtomicUsize::new(0));
        let r = rounds.clone();
        let t = thread::spawn(move || {
            u.unpark();
            while r.load(SeqCst) < 1 {
                thread::yield_now();
            }
            u.unpark();
        });
        p.park();
        rounds.store(1, SeqCst);
        p.park();
        t.join().unwrap();
    });
}

/// Two unparkers on two threads: the single park returns (the second unpark may leave
/// a NOTIFIED behind, which a later park would consume; no state panics).
#[test]
fn two_unparkers_one_park() {
    model(|| {
        let mut p = Parker::new();
        let u1 = p.unparker();
        let u2 = p.unparker();
        let t1 = thread::spawn(move || u1.unpark());
        let t2 = thread::spawn(move || u2.unpark());
        p.park();
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// A stand-in driver: `park` blocks on a loom condvar until its unparker fires (an
/// unpark that comes first is kept as a token, as the `Unpark` contract requires).
struct MockDriver(Arc<MockInner>);

struct MockInner {
    token: Mutex<bool>,
    cv: Condvar,
}

impl Unpark for MockInner {
    fn unpark(&self) {
        *self.token.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

impl Park for MockDriver {
    fn park(&mut self) {
        let mut t = self.0.token.lock().unwrap();
        while !*t {
            t = self.0.cv.wait(t).unwrap();
        }
        *t = false;
    }
    fn park_timeout(&mut self, _: Duration) {
        // Loom has no time: a timed park polls (consumes a pending token).
        *self.0.token.lock().unwrap() = false;
    }
    fn unparker(&self) -> Arc<dyn Unpark> {
        self.0.clone()
    }
    fn shutdown(&mut self) {}
}

/// Two workers share one driver slot: whichever locks it first parks on the driver
/// (PARKED_DRIVER), the other on its condvar (PARKED_CONDVAR). The main thread unparks
/// both; both parks return, whichever path each took.
#[test]
fn driver_and_condvar_parkers() {
    model(|| {
        let driver = Driver::new(Box::new(MockDriver(Arc::new(MockInner {
            token: Mutex::new(false),
            cv: Condvar::new(),
        }))));
        let mut p1 = Parker::with_driver(&driver);
        let mut p2 = Parker::with_driver(&driver);
        let u1 = p1.unparker();
        let u2 = p2.unparker();
        let t1 = thread::spawn(move || p1.park());
        let t2 = thread::spawn(move || p2.park());
        u1.unpark();
        u2.unpark();
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// The `block_on` parker (`park.rs`, `mod thread`): a thread waits for a condition
/// another thread sets (Relaxed) before each of two wakes. The parker must acquire
/// what each wake published and never lose one: with the old `store(false)` after
/// `park` returned, a wake landing just before the store was erased, and the waiter
/// could read a stale condition and park with no wake coming (a loom deadlock).
#[test]
fn thread_parker_two_wakes_vs_park() {
    use magpie_runtime::__loom::{park_thread, park_thread_waker};
    model(|| {
        let waker = park_thread_waker();
        let state = Arc::new(AtomicUsize::new(0));
        let s = state.clone();
        let t = thread::spawn(move || {
            s.store(1, loom::sync::atomic::Ordering::Relaxed);
            waker.wake_by_ref();
            s.store(2, loom::sync::atomic::Ordering::Relaxed);
            waker.wake();
        });
        while state.load(loom::sync::atomic::Ordering::Relaxed) != 2 {
            park_thread();
        }
        // No `join`: the waker's last `unpark` may land after the loop ends, and loom
        // rejects an unpark that interrupts a blocking `join`. loom runs `t` to its
        // end before the execution finishes anyway.
        drop(t);
    });
}

/// A wake that comes before the waiter parks is kept (the next park returns at once).
#[test]
fn thread_parker_wake_before_park() {
    use magpie_runtime::__loom::{park_thread, park_thread_waker};
    model(|| {
        let waker = park_thread_waker();
        let t = thread::spawn(move || waker.wake());
        park_thread();
        drop(t);
    });
}
