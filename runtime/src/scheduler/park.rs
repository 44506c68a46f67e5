//! Parking threads: the worker parker (which may hold the runtime's driver) and the
//! plain thread parker used by `block_on` on non-worker threads.
//!
//! # Worker parker state machine
//!
//! One `AtomicUsize` per worker:
//!
//! ```text
//!  EMPTY ──park()──► PARKED_CONDVAR ──unpark()──► NOTIFIED ──park() returns──► EMPTY
//!    │                                               ▲
//!    └─park() with driver─► PARKED_DRIVER ──unpark()─┘ (interrupts the driver)
//!  EMPTY ──unpark()──► NOTIFIED   (the next park() returns at once: no lost wakeup)
//! ```
//!
//! `unpark` swaps in NOTIFIED and then acts on what it replaced: nothing for EMPTY or
//! NOTIFIED, lock+notify the condvar for PARKED_CONDVAR (taking the lock closes the gap
//! between the parker's state change and its wait), or the driver's `Unpark` for
//! PARKED_DRIVER. Only one worker at a time holds the driver (a `try_lock`); the others
//! park on their condvar.

use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::{Arc, Condvar, Mutex};
use magpie_base::park::{Park, Unpark};
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The runtime's driver stack (time over I/O), shared by all workers; whoever can lock
/// it parks on it.
pub(crate) struct DriverSlot {
    driver: Mutex<Option<Box<dyn Park>>>,
    unpark: Option<std::sync::Arc<dyn Unpark>>,
}

impl DriverSlot {
    pub(crate) fn new(driver: Option<Box<dyn Park>>) -> DriverSlot {
        let unpark = driver.as_ref().map(|d| d.unparker());
        DriverSlot {
            driver: Mutex::new(driver),
            unpark,
        }
    }

    /// Polls the driver without blocking, if no other thread holds it.
    pub(crate) fn poll_now(&self) {
        if let Some(mut guard) = self.driver.try_lock() {
            if let Some(d) = guard.as_mut() {
                d.park_timeout(Duration::ZERO);
            }
        }
    }

    pub(crate) fn shutdown(&self) {
        if let Some(d) = self.driver.lock().as_mut() {
            d.shutdown();
        }
    }
}

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    // A std `Arc` even under loom: the slot is shared with the schedulers, which hold it
    // in std `Arc`s, and its sharing is not part of what the models check.
    driver: std::sync::Arc<DriverSlot>,
    /// Calls of `Unparker::unpark` (in-crate tests count wasted wake-ups with it).
    #[cfg(test)]
    unparks: std::sync::atomic::AtomicUsize,
}

/// A worker's parker. Not `Clone`: one per worker.
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

/// Wakes a worker's parker from any thread.
#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    pub(crate) fn new(driver: std::sync::Arc<DriverSlot>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                driver,
                #[cfg(test)]
                unparks: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Blocks until unparked (or, when holding the driver, until an event or timer).
    pub(crate) fn park(&mut self) {
        self.inner.park(None);
    }

    /// Like `park` with a time limit (used by the idle blocking pool and tests).
    pub(crate) fn park_timeout(&mut self, d: Duration) {
        self.inner.park(Some(d));
    }
}

impl Inner {
    fn park(&self, timeout: Option<Duration>) {
        // An unpark that came first: consume it and return.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if let Some(mut driver) = self.driver.driver.try_lock() {
            if let Some(d) = driver.as_mut() {
                self.park_driver(d.as_mut(), timeout);
                return;
            }
        }
        self.park_condvar(timeout);
    }

    fn park_driver(&self, driver: &mut dyn Park, timeout: Option<Duration>) {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        match timeout {
            Some(d) => driver.park_timeout(d),
            None => driver.park(),
        }
        // Back to EMPTY, consuming a NOTIFIED that may have arrived.
        match self.state.swap(EMPTY, SeqCst) {
            NOTIFIED | PARKED_DRIVER => {}
            actual => panic!("inconsistent park_driver state: {actual}"),
        }
    }

    fn park_condvar(&self, timeout: Option<Duration>) {
        let mut guard = self.mutex.lock();
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // The unpark came between our first check and taking the lock.
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        match timeout {
            None => loop {
                self.condvar.wait(&mut guard);
                if self
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return; // a real unpark
                }
                // spurious: wait again
            },
            Some(d) => {
                self.condvar.wait_timeout(&mut guard, d);
                // Timed out or unparked: either way leave the parked state.
                match self.state.swap(EMPTY, SeqCst) {
                    NOTIFIED | PARKED_CONDVAR => {}
                    actual => panic!("inconsistent park_timeout state: {actual}"),
                }
            }
        }
    }
}

impl Unparker {
    /// How many times `unpark` was called.
    #[cfg(test)]
    pub(crate) fn unpark_count(&self) -> usize {
        self.inner
            .unparks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn unpark(&self) {
        let inner = &*self.inner;
        #[cfg(test)]
        inner
            .unparks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match inner.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders us after the parker's switch to PARKED_CONDVAR
                // and its entering `wait`, so the notification cannot fall in between.
                drop(inner.mutex.lock());
                inner.condvar.notify_one();
            }
            PARKED_DRIVER => {
                if let Some(u) = &inner.driver.unpark {
                    u.unpark();
                }
            }
            actual => panic!("inconsistent unpark state: {actual}"),
        }
    }
}

pub(crate) use thread::{CachedParkThread, park_thread_waker};

mod thread {
    //! Parking for threads that are not workers (`block_on` on a multi-thread runtime,
    //! or a `block_on` waiting for a current-thread core held elsewhere).
    //!
    //! One `notified` flag per thread, shared by all its wakers. A wake sets it with
    //! `swap(true)` and unparks the thread only if it was clear; `park` takes it with
    //! `swap(false)`, before and after blocking, and returns only once it took it (or
    //! the timeout passed). The flag is never cleared with a plain store: a store
    //! after `park` returns could erase a wake that landed just before it (whose
    //! waker then skipped `unpark`, seeing the flag set), and it would not acquire
    //! what that waker published. loom: `rt_park.rs` (`thread_parker_*`).
    use crate::loom::sync::atomic::{AtomicBool, Ordering};
    use crate::loom::thread::{self as th, Thread};
    use std::sync::Arc;
    use std::task::{Wake, Waker};
    use std::time::Duration;

    struct ThreadWaker {
        thread: Thread,
        notified: AtomicBool,
    }

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            if !self.notified.swap(true, Ordering::Release) {
                self.thread.unpark();
            }
        }
    }

    impl ThreadWaker {
        fn new() -> Arc<ThreadWaker> {
            Arc::new(ThreadWaker {
                thread: th::current(),
                notified: AtomicBool::new(false),
            })
        }

        fn park(&self, timeout: Option<Duration>) {
            if self.notified.swap(false, Ordering::Acquire) {
                return;
            }
            match timeout {
                Some(d) => {
                    park_timeout(d);
                    // Consume a wake that came meanwhile (or none: timed out).
                    self.notified.swap(false, Ordering::Acquire);
                }
                None => {
                    // `thread::park` may return spuriously (or for a stale token):
                    // only a consumed notification ends the wait.
                    while !self.notified.swap(false, Ordering::Acquire) {
                        th::park();
                    }
                }
            }
        }
    }

    #[cfg(not(loom))]
    fn park_timeout(d: Duration) {
        std::thread::park_timeout(d);
    }

    // loom has no time: a timed park is a park that a spurious return may end.
    #[cfg(loom)]
    fn park_timeout(_: Duration) {
        th::yield_now();
    }

    #[cfg(not(loom))]
    std::thread_local! {
        static CURRENT: Arc<ThreadWaker> = ThreadWaker::new();
    }

    #[cfg(loom)]
    loom::thread_local! {
        static CURRENT: Arc<ThreadWaker> = ThreadWaker::new();
    }

    /// A waker that unparks the current thread.
    pub(crate) fn park_thread_waker() -> Waker {
        CURRENT.with(|w| Waker::from(w.clone()))
    }

    /// Parks the current thread until its waker fires.
    pub(crate) struct CachedParkThread;

    impl CachedParkThread {
        /// Returns when the thread's waker fired (consuming the notification) or the
        /// timeout passed.
        pub(crate) fn park(&self, timeout: Option<Duration>) {
            CURRENT.with(|w| w.park(timeout))
        }
    }
}
