#![cfg(loom)]
//! Loom models of magpie-io's signal delivery (io/src/signal/registry.rs): the OS
//! handler (`on_signal`: pending flag, then a byte into the self-pipe), the driver
//! (`broadcast_after`: drain the pipe, then publish every pending flag as a new
//! generation and wake the waiters) and listeners (`SignalState::poll_listener`: compare
//! the generation with the one last seen, register the waker, re-check under the lock).
//!
//! The self-pipe is modelled by a mutex-protected byte count (the kernel's pipe buffer
//! is synchronised the same way). Epoll is modelled by its contract: after the racing
//! driver pass, one more driver pass happens *if and only if* bytes are left in the pipe
//! (a readable pipe gives some driver an edge). Each listener ends blocked on its waker
//! until it has seen the signal; a lost signal shows up as a loom deadlock.
//!
//! 1. `listener_sees_signal_delivered_after_it_registered`: one listener waiting in
//!    `poll_listener` while the handler and a driver pass race.
//! 2. `two_listeners_both_see_it`: two listeners (one waiting, one that polls only after
//!    the broadcast may have happened) both see one delivery.
//! 3. `two_drivers_one_pipe`: two drivers each drain and broadcast (two runtimes sharing
//!    the pipe) while the handler runs; the listener sees it exactly once per
//!    generation, and a second delivery after it was reported is seen again.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p magpie-loom-tests --release --test io_signal`.

use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use magpie_base::loom::sync::{Arc, Condvar, Mutex};
use magpie_base::loom::thread;
use magpie_io::signal::registry::{SignalState, broadcast_after, on_signal};

/// A waker a loom thread can block on.
struct Parked {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Parked {
    fn new() -> Arc<Parked> {
        Arc::new(Parked {
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

struct ParkedWaker(Arc<Parked>);

impl Wake for ParkedWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &StdArc<Self>) {
        *self.0.woken.lock() = true;
        self.0.cv.notify_one();
    }
}

/// The self-pipe: bytes written and not yet read.
type Pipe = Mutex<usize>;

/// The OS handler: the real `on_signal`, whose write puts a byte into the pipe.
fn handler(state: &SignalState, pipe: &Pipe) {
    on_signal(state, || *pipe.lock() += 1);
}

/// One driver pass: the real `broadcast_after`, draining the pipe, then waking.
fn driver_pass(state: &SignalState, pipe: &Pipe) {
    let mut wakers = Vec::new();
    broadcast_after(|| *pipe.lock() = 0, [state], &mut wakers);
    for w in wakers {
        w.wake();
    }
}

/// Epoll's contract: a pipe with bytes in it gives some driver another pass.
fn final_pass_if_readable(state: &SignalState, pipe: &Pipe) {
    if *pipe.lock() > 0 {
        driver_pass(state, pipe);
    }
    assert_eq!(*pipe.lock(), 0);
}

/// A listener that started at generation `seen`: blocks until it reports a signal.
fn listen_once(state: &SignalState, id: u64, seen: &mut usize) {
    let parked = Parked::new();
    let waker = Waker::from(StdArc::new(ParkedWaker(parked.clone())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match state.poll_listener(id, seen, &mut cx) {
            Poll::Ready(()) => return,
            Poll::Pending => parked.wait(),
        }
    }
}

#[test]
fn listener_sees_signal_delivered_after_it_registered() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let pipe = Arc::new(Mutex::new(0usize));
        // The listener exists before the signal is raised.
        let mut seen = state.generation();

        let h = {
            let (state, pipe) = (state.clone(), pipe.clone());
            thread::spawn(move || handler(&state, &pipe))
        };
        let d = {
            let (state, pipe) = (state.clone(), pipe.clone());
            thread::spawn(move || driver_pass(&state, &pipe))
        };
        let l = {
            let state = state.clone();
            thread::spawn(move || {
                listen_once(&state, 1, &mut seen);
                seen
            })
        };
        h.join().unwrap();
        d.join().unwrap();
        final_pass_if_readable(&state, &pipe);
        let seen = l.join().unwrap();
        assert_eq!(seen, state.generation());
        assert_ne!(seen, 0);
    });
}

#[test]
fn two_listeners_both_see_it() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let pipe = Arc::new(Mutex::new(0usize));
        let mut seen_a = state.generation();
        let mut seen_b = state.generation();

        let h = {
            let (state, pipe) = (state.clone(), pipe.clone());
            thread::spawn(move || {
                handler(&state, &pipe);
                driver_pass(&state, &pipe);
            })
        };
        let a = {
            let state = state.clone();
            thread::spawn(move || listen_once(&state, 1, &mut seen_a))
        };
        h.join().unwrap();
        final_pass_if_readable(&state, &pipe);
        // `b` polls only now, possibly long after the broadcast: it still sees it.
        listen_once(&state, 2, &mut seen_b);
        a.join().unwrap();
    });
}

#[test]
fn two_drivers_one_pipe() {
    loom::model(|| {
        let state = Arc::new(SignalState::new());
        let pipe = Arc::new(Mutex::new(0usize));
        let mut seen = state.generation();

        let h = {
            let (state, pipe) = (state.clone(), pipe.clone());
            thread::spawn(move || handler(&state, &pipe))
        };
        let d1 = {
            let (state, pipe) = (state.clone(), pipe.clone());
            thread::spawn(move || driver_pass(&state, &pipe))
        };
        // The second driver (another runtime) runs on this thread.
        driver_pass(&state, &pipe);
        h.join().unwrap();
        d1.join().unwrap();
        final_pass_if_readable(&state, &pipe);
        // One delivery: published once (coalescing is allowed, duplicates are not).
        assert_eq!(state.generation(), 1);
        listen_once(&state, 1, &mut seen);
        assert_eq!(seen, 1);

        // A delivery after that one was reported is seen again.
        handler(&state, &pipe);
        final_pass_if_readable(&state, &pipe);
        listen_once(&state, 1, &mut seen);
        assert_eq!(seen, 2);
    });
}
