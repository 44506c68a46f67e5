//! A tiny single-thread executor over the time driver, for these tests.
//!
//! `Rt` owns a `Driver<TestPark>` (TestPark: a condvar parker), enters its handle, and
//! runs the main future plus spawned tasks (FIFO run queue). When nothing is runnable it
//! parks the driver, which blocks until the next timer (or auto-advances a paused
//! clock) and fires what is due.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use magpie_base::park::{Park, Unpark};
use magpie_time::Clock;
use magpie_time::driver::{Driver, Handle};

#[derive(Default)]
pub struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
    pub unparks: AtomicUsize,
}

impl Unpark for Signal {
    fn unpark(&self) {
        self.unparks.fetch_add(1, Ordering::SeqCst);
        *self.woken.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

/// A condvar parker: the bottom layer under the time driver.
pub struct TestPark {
    pub signal: Arc<Signal>,
    /// Every timeout it was asked to block for (`None`: no timeout).
    pub timeouts: Arc<Mutex<Vec<Option<Duration>>>>,
}

impl TestPark {
    pub fn new() -> TestPark {
        TestPark {
            signal: Arc::default(),
            timeouts: Arc::default(),
        }
    }
}

impl Park for TestPark {
    fn park(&mut self) {
        self.timeouts.lock().unwrap().push(None);
        let mut w = self.signal.woken.lock().unwrap();
        while !*w {
            w = self.signal.cv.wait(w).unwrap();
        }
        *w = false;
    }

    fn park_timeout(&mut self, d: Duration) {
        self.timeouts.lock().unwrap().push(Some(d));
        let mut w = self.signal.woken.lock().unwrap();
        if !*w && d > Duration::ZERO {
            w = self.signal.cv.wait_timeout(w, d).unwrap().0;
        }
        *w = false;
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.signal.clone()
    }

    fn shutdown(&mut self) {}
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

struct Shared {
    queue: Mutex<VecDeque<Arc<Task>>>,
    unpark: Arc<dyn Unpark>,
}

struct Task {
    fut: Mutex<Option<BoxFuture>>,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            self.shared.queue.lock().unwrap().push_back(self.clone());
            self.shared.unpark.unpark();
        }
    }
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

thread_local! {
    static WORKER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Makes the calling thread report `index` as its worker index to a sharded `Rt`'s
/// driver (`None`: not a worker, round robin).
pub fn set_worker(index: Option<usize>) {
    WORKER.with(|w| w.set(index));
}

/// The worker-index hook given to [`Rt::sharded`]'s driver.
pub fn worker_index() -> Option<usize> {
    WORKER.with(|w| w.get())
}

thread_local! {
    static SPAWNER: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// Spawns a task on the `Rt` running on this thread.
pub fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    let shared = SPAWNER
        .with(|s| s.borrow().clone())
        .expect("spawn outside Rt::block_on");
    let task = Arc::new(Task {
        fut: Mutex::new(Some(Box::pin(fut))),
        queued: AtomicBool::new(true),
        shared: shared.clone(),
    });
    shared.queue.lock().unwrap().push_back(task);
}

pub struct Rt {
    pub driver: Driver<TestPark>,
    pub handle: Handle,
    pub signal: Arc<Signal>,
    pub timeouts: Arc<Mutex<Vec<Option<Duration>>>>,
    shared: Arc<Shared>,
}

impl Rt {
    pub fn new() -> Rt {
        Rt::with_clock(Clock::new(false))
    }

    pub fn new_paused() -> Rt {
        Rt::with_clock(Clock::new(true))
    }

    pub fn with_clock(clock: Clock) -> Rt {
        Rt::build(|park| Driver::new(park, clock))
    }

    /// An `Rt` whose driver has a wheel shard per worker (`workers` rounded up to a
    /// power of two); `worker_index` (see [`set_worker`]) says which one a thread uses.
    pub fn sharded(clock: Clock, workers: usize) -> Rt {
        Rt::build(|park| Driver::with_shards(park, clock, workers, worker_index))
    }

    fn build(make: impl FnOnce(TestPark) -> (Driver<TestPark>, Handle)) -> Rt {
        let park = TestPark::new();
        let signal = park.signal.clone();
        let timeouts = park.timeouts.clone();
        let (driver, handle) = make(park);
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            unpark: driver.unparker(),
        });
        Rt {
            driver,
            handle,
            signal,
            timeouts,
            shared,
        }
    }

    pub fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
        let _enter = self.handle.enter();
        let prev = SPAWNER.with(|s| s.replace(Some(self.shared.clone())));
        struct Restore(Option<Arc<Shared>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                SPAWNER.with(|s| *s.borrow_mut() = prev);
            }
        }
        let _restore = Restore(prev);

        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            unpark: self.shared.unpark.clone(),
        });
        let main_waker = Waker::from(main.clone());
        let mut fut = pin!(fut);
        loop {
            if main.woken.swap(false, Ordering::SeqCst) {
                let mut cx = Context::from_waker(&main_waker);
                if let Poll::Ready(v) = magpie_base::coop::budget(|| fut.as_mut().poll(&mut cx)) {
                    return v;
                }
            }
            // One round over the tasks queued now (FIFO).
            let n = self.shared.queue.lock().unwrap().len();
            for _ in 0..n {
                let Some(task) = self.shared.queue.lock().unwrap().pop_front() else {
                    break;
                };
                task.queued.store(false, Ordering::SeqCst);
                let waker = Waker::from(task.clone());
                let mut cx = Context::from_waker(&waker);
                let mut slot = task.fut.lock().unwrap();
                if let Some(f) = slot.as_mut()
                    && magpie_base::coop::budget(|| f.as_mut().poll(&mut cx)).is_ready()
                {
                    *slot = None;
                }
            }
            let busy =
                main.woken.load(Ordering::SeqCst) || !self.shared.queue.lock().unwrap().is_empty();
            if busy {
                // Still poll timers now and then, like a real worker does.
                self.driver.park_timeout(Duration::ZERO);
            } else {
                self.driver.park();
            }
        }
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountWaker(pub AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn count_waker() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker::default());
    let w = Waker::from(c.clone());
    (c, w)
}

/// Polls `f` once with `waker`.
pub fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

/// A simple linear congruential generator (no `rand` dependency).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Blocks the calling thread (which never drives the time driver) until `fut`
/// completes, waking on thread unparks; `None` if `limit` passes first.
pub fn block_on_thread<F: Future>(fut: F, limit: Duration) -> Option<F::Output> {
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut fut = pin!(fut);
    let start = std::time::Instant::now();
    loop {
        if let Poll::Ready(v) = poll_once(fut.as_mut(), &waker) {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}
