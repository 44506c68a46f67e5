#![cfg(loom)]
//! Loom models of magpie-io's per-resource readiness word (io/src/scheduled_io.rs):
//! the driver setting readiness vs a task clearing it on `WouldBlock` vs the task
//! registering its waker. Each model ends with the task blocking until woken; a lost
//! wake-up makes loom report a deadlock.
//!
//! 1. `stale_readiness_vs_new_event`: the task holds a stale READABLE (tick 1) and its
//!    read hits `WouldBlock` while the driver delivers new data (tick 2): the tick must
//!    stop the clear from erasing the new event, or the task sleeps forever.
//! 2. `event_vs_waker_registration`: nothing ready; the task registers its waker while
//!    the driver sets readiness: either the driver sees the waker or the task's
//!    re-check under the lock sees the bits.
//! 3. `shutdown_vs_wait`: `shutdown` races the task's wait: the task ends with the
//!    shutdown error.
//! 4. `reader_and_writer`: two tasks wait on different directions; one event with both
//!    bits wakes both.
//!
//! The waiter list (`ScheduledIo::readiness`, the `Readiness` future behind `accept()`,
//! `recv_from()`, `readable()` ...), run as production code:
//!
//! 5. `two_waiters_one_event`: two tasks wait on the same direction while one event
//!    arrives: both are woken (a second registration must not displace the first).
//! 6. `two_readers_two_items`: two tasks each read one item; the driver delivers two
//!    items as two events, racing their reads, `WouldBlock` clears and registrations.
//!    Each must get an item (tick check + waiter list together).
//! 7. `cancel_vs_event`: task B registers and drops its waiter while the event arrives;
//!    task A (waiting) must still be woken, and no entry may be left behind.
//! 8. `woken_waiter_dropped`: A and B wait; the event wakes both and B is dropped
//!    without running again: A completes.
//! 9. `two_directions_two_events`: a reader and a writer wait through waiter entries;
//!    READABLE and WRITABLE arrive as separate events; each wakes only its own side
//!    and both complete; afterwards the list is empty.
//! 10. `shutdown_vs_waiters`: `shutdown` races two list waiters: both end with the
//!     shutdown error.
//!
//! Checked against mutants of io/src/scheduled_io.rs (each model run in its own
//! process, since a loom deadlock aborts): waking only one list waiter per event fails
//! 5, 6, 8 and 10; dropping the re-check under the lock fails 5 to 10; a clear that
//! ignores the tick fails 1 and 6; a dropped `Readiness` that keeps its entry fails 7
//! and 8.
//!
//! Not covered here: the slab/generation check (tested in io/tests/driver.rs with the
//! real epoll), mio itself, the coop budget.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p magpie-loom-tests
//! --release --test io_readiness`.

use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use magpie_base::loom::sync::{Arc, Condvar, Mutex};
use magpie_base::loom::thread;
use magpie_io::scheduled_io::{Direction, Readiness, Ready, ScheduledIo};

/// A waker that a loom thread can block on.
struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    fn new() -> Arc<Signal> {
        Arc::new(Signal {
            woken: Mutex::new(false),
            cv: Condvar::new(),
        })
    }

    fn wait(&self) {
        let mut w = self.woken.lock();
        while !*w {
            self.cv.wait(&mut w);
        }
        *w = false;
    }
}

struct SignalWaker(Arc<Signal>);

impl Wake for SignalWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &StdArc<Self>) {
        *self.0.woken.lock() = true;
        self.0.cv.notify_one();
    }
}

fn waker(s: &Arc<Signal>) -> Waker {
    Waker::from(StdArc::new(SignalWaker(s.clone())))
}

/// Driver side: set readiness and wake the collected wakers (outside any lock).
fn deliver(io: &ScheduledIo, ready: Ready) {
    let mut wakers = Vec::new();
    io.set_readiness(ready, &mut wakers);
    for w in wakers {
        w.wake();
    }
}

/// The socket's receive buffer is modelled by `data` (a mutex, as the kernel's buffer
/// is synchronised): the driver puts data there before it delivers the event.
///
/// The task: wait for read readiness, "read" (succeeds iff `data`), clear on
/// WouldBlock, block on the waker when Pending. Returns once it read the data.
fn read_task(io: &ScheduledIo, data: &Mutex<bool>, signal: &Arc<Signal>) {
    let waker = waker(signal);
    let mut cx = Context::from_waker(&waker);
    loop {
        match io.poll_ready(&mut cx, Direction::Read) {
            Poll::Ready(Ok(ev)) => {
                if std::mem::take(&mut *data.lock()) {
                    return;
                }
                io.clear_readiness(ev); // WouldBlock
            }
            Poll::Ready(Err(_)) => panic!("unexpected shutdown"),
            Poll::Pending => signal.wait(),
        }
    }
}

#[test]
fn stale_readiness_vs_new_event() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(Mutex::new(false));
        // An old event (already consumed data) left READABLE set.
        deliver(&io, Ready::READABLE);
        let signal = Signal::new();

        let driver = {
            let io = io.clone();
            let data = data.clone();
            thread::spawn(move || {
                *data.lock() = true;
                deliver(&io, Ready::READABLE);
            })
        };
        read_task(&io, &data, &signal);
        driver.join().unwrap();
    });
}

#[test]
fn event_vs_waker_registration() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(Mutex::new(false));
        let signal = Signal::new();
        let driver = {
            let io = io.clone();
            let data = data.clone();
            thread::spawn(move || {
                *data.lock() = true;
                deliver(&io, Ready::READABLE | Ready::WRITABLE);
            })
        };
        read_task(&io, &data, &signal);
        driver.join().unwrap();
    });
}

#[test]
fn shutdown_vs_wait() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let signal = Signal::new();
        let t = {
            let io = io.clone();
            thread::spawn(move || io.shutdown())
        };
        let waker = waker(&signal);
        let mut cx = Context::from_waker(&waker);
        loop {
            match io.poll_ready(&mut cx, Direction::Write) {
                Poll::Ready(Err(_)) => break,
                Poll::Ready(Ok(_)) => panic!("nothing was ready"),
                Poll::Pending => signal.wait(),
            }
        }
        t.join().unwrap();
    });
}

#[test]
fn reader_and_writer() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let writer = {
            let io = io.clone();
            thread::spawn(move || {
                let signal = Signal::new();
                let waker = waker(&signal);
                let mut cx = Context::from_waker(&waker);
                while io.poll_ready(&mut cx, Direction::Write).is_pending() {
                    signal.wait();
                }
            })
        };
        let driver = {
            let io = io.clone();
            thread::spawn(move || deliver(&io, Ready::READABLE | Ready::WRITABLE))
        };
        let signal = Signal::new();
        let waker = waker(&signal);
        let mut cx = Context::from_waker(&waker);
        while io.poll_ready(&mut cx, Direction::Read).is_pending() {
            signal.wait();
        }
        writer.join().unwrap();
        driver.join().unwrap();
    });
}

/// Waits on a waiter-list entry until ready (blocking on the waker when `Pending`);
/// returns the entry (still usable, now unregistered) and the event.
fn wait_entry<'a>(
    mut entry: Readiness<'a>,
    signal: &Arc<Signal>,
) -> (
    Readiness<'a>,
    Result<magpie_io::scheduled_io::ReadyEvent, ()>,
) {
    let waker = waker(signal);
    let mut cx = Context::from_waker(&waker);
    loop {
        match entry.poll(&mut cx) {
            Poll::Ready(r) => return (entry, r.map_err(drop)),
            Poll::Pending => signal.wait(),
        }
    }
}

/// A reader on a waiter-list entry: takes one item from `data` (the socket buffer),
/// clearing readiness on `WouldBlock`.
fn read_one_item(io: &ScheduledIo, data: &Mutex<usize>, signal: &Arc<Signal>) {
    let mut entry = io.readiness(Direction::Read.mask());
    loop {
        let (e, ev) = wait_entry(entry, signal);
        entry = e;
        let ev = ev.expect("unexpected shutdown");
        let mut d = data.lock();
        if *d > 0 {
            *d -= 1;
            return;
        }
        drop(d);
        io.clear_readiness(ev); // WouldBlock
    }
}

#[test]
fn two_waiters_one_event() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let other = {
            let io = io.clone();
            thread::spawn(move || {
                let signal = Signal::new();
                wait_entry(io.readiness(Direction::Read.mask()), &signal)
                    .1
                    .unwrap();
            })
        };
        let driver = {
            let io = io.clone();
            thread::spawn(move || deliver(&io, Ready::READABLE))
        };
        let signal = Signal::new();
        wait_entry(io.readiness(Direction::Read.mask()), &signal)
            .1
            .unwrap();
        other.join().unwrap();
        driver.join().unwrap();
        assert_eq!(io.num_waiters(), 0);
    });
}

#[test]
fn two_readers_two_items() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(Mutex::new(0usize));
        let other = {
            let (io, data) = (io.clone(), data.clone());
            thread::spawn(move || read_one_item(&io, &data, &Signal::new()))
        };
        let driver = {
            let (io, data) = (io.clone(), data.clone());
            thread::spawn(move || {
                for _ in 0..2 {
                    *data.lock() += 1;
                    deliver(&io, Ready::READABLE);
                }
            })
        };
        read_one_item(&io, &data, &Signal::new());
        other.join().unwrap();
        driver.join().unwrap();
        assert_eq!(*data.lock(), 0);
        assert_eq!(io.num_waiters(), 0);
    });
}

#[test]
fn cancel_vs_event() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let canceller = {
            let io = io.clone();
            thread::spawn(move || {
                let signal = Signal::new();
                let waker = waker(&signal);
                let mut entry = io.readiness(Direction::Read.mask());
                let _ = entry.poll(&mut Context::from_waker(&waker));
                drop(entry);
            })
        };
        let driver = {
            let io = io.clone();
            thread::spawn(move || deliver(&io, Ready::READABLE))
        };
        let signal = Signal::new();
        wait_entry(io.readiness(Direction::Read.mask()), &signal)
            .1
            .unwrap();
        canceller.join().unwrap();
        driver.join().unwrap();
        assert_eq!(io.num_waiters(), 0);
    });
}

#[test]
fn woken_waiter_dropped() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        // B registers first (on this thread), then A waits on its own thread.
        let b_signal = Signal::new();
        let b_waker = waker(&b_signal);
        let mut b = io.readiness(Direction::Read.mask());
        assert!(b.poll(&mut Context::from_waker(&b_waker)).is_pending());
        let a = {
            let io = io.clone();
            thread::spawn(move || {
                let signal = Signal::new();
                wait_entry(io.readiness(Direction::Read.mask()), &signal)
                    .1
                    .unwrap();
            })
        };
        deliver(&io, Ready::READABLE);
        b_signal.wait(); // B was woken ...
        drop(b); // ... and is dropped before it runs again.
        a.join().unwrap();
        assert_eq!(io.num_waiters(), 0);
    });
}

#[test]
fn two_directions_two_events() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let writer = {
            let io = io.clone();
            thread::spawn(move || {
                let signal = Signal::new();
                let ev = wait_entry(io.readiness(Direction::Write.mask()), &signal).1;
                assert!(ev.unwrap().ready.is_writable());
            })
        };
        let driver = {
            let io = io.clone();
            thread::spawn(move || {
                deliver(&io, Ready::READABLE);
                deliver(&io, Ready::WRITABLE);
            })
        };
        let signal = Signal::new();
        let ev = wait_entry(io.readiness(Direction::Read.mask()), &signal).1;
        assert!(ev.unwrap().ready.is_readable());
        writer.join().unwrap();
        driver.join().unwrap();
        assert_eq!(io.num_waiters(), 0);
    });
}

#[test]
fn shutdown_vs_waiters() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let other = {
            let io = io.clone();
            thread::spawn(move || {
                let signal = Signal::new();
                let ev = wait_entry(io.readiness(Direction::Read.mask()), &signal).1;
                assert!(ev.is_err());
            })
        };
        let t = {
            let io = io.clone();
            thread::spawn(move || io.shutdown())
        };
        let signal = Signal::new();
        let ev = wait_entry(io.readiness(Direction::Write.mask()), &signal).1;
        assert!(ev.is_err());
        other.join().unwrap();
        t.join().unwrap();
        assert_eq!(io.num_waiters(), 0);
    });
}
