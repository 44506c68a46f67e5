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
//! Not covered here: the slab/generation check (tested in io/tests/driver.rs with the
//! real epoll), mio itself, the coop budget.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p magpie-loom-tests --release --test io_readiness`.

use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use magpie_base::loom::sync::{Arc, Condvar, Mutex};
use magpie_base::loom::thread;
use magpie_io::scheduled_io::{Direction, Ready, ScheduledIo};

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
