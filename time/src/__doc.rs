//! A minimal block-on runtime for this crate's doc examples; not part of the API (the
//! real runtime is magpie-runtime).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use magpie_base::park::{Park, Unpark};

use crate::Clock;
use crate::driver::Driver;

#[derive(Default)]
struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Unpark for Signal {
    fn unpark(&self) {
        *self.woken.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

struct CondvarPark(Arc<Signal>);

impl Park for CondvarPark {
    fn park(&mut self) {
        let mut w = self.0.woken.lock().unwrap();
        while !*w {
            w = self.0.cv.wait(w).unwrap();
        }
        *w = false;
    }

    fn park_timeout(&mut self, d: Duration) {
        let mut w = self.0.woken.lock().unwrap();
        if !*w {
            w = self.0.cv.wait_timeout(w, d).unwrap().0;
        }
        *w = false;
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.0.clone()
    }

    fn shutdown(&mut self) {}
}

struct MainWaker {
    woken: AtomicBool,
    unpark: Arc<dyn Unpark>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.unpark.unpark();
    }
}

/// Runs the future made by `f` to completion on a fresh time driver.
pub fn run<F, Fut>(f: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let (mut driver, handle) = Driver::new(CondvarPark(Arc::default()), Clock::new(false));
    let _enter = handle.enter();
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        unpark: driver.unparker(),
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(f());
    loop {
        if main.woken.swap(false, Ordering::SeqCst)
            && let Poll::Ready(v) = magpie_base::coop::budget(|| fut.as_mut().poll(&mut cx))
        {
            return v;
        }
        if !main.woken.load(Ordering::SeqCst) {
            driver.park();
        }
    }
}
