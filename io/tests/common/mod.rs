//! A tiny current-thread executor over the I/O driver, for these tests.
//!
//! `Rt` owns the I/O driver stack (`magpie_io::stack`: reactor, signal and process layers), enters its handle, polls the main future and
//! spawned tasks (FIFO run queue), and parks the driver when nothing is runnable. A
//! waker pushes its task on the queue and unparks the driver (through the mio Waker),
//! so wake-ups from other threads work too.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use magpie_base::park::{Park, Unpark};
use magpie_io::driver::Handle;
use magpie_io::stack::Stack;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

const MAIN: usize = usize::MAX;

struct Queue {
    ready: Mutex<VecDeque<usize>>,
    unpark: Arc<dyn Unpark>,
}

struct TaskWaker {
    id: usize,
    queued: AtomicBool,
    queue: Arc<Queue>,
    wakes: AtomicUsize,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        if !self.queued.swap(true, Ordering::SeqCst) {
            self.queue.ready.lock().unwrap().push_back(self.id);
            self.queue.unpark.unpark();
        }
    }
}

pub struct Rt {
    pub driver: Stack,
    pub handle: Handle,
    queue: Arc<Queue>,
    tasks: Vec<Option<(BoxFuture, Arc<TaskWaker>)>>,
    spawned: Arc<Mutex<Vec<BoxFuture>>>,
}

thread_local! {
    static SPAWNER: std::cell::RefCell<Option<Arc<Mutex<Vec<BoxFuture>>>>> = const { std::cell::RefCell::new(None) };
}

/// Spawns a task on the `Rt` running on this thread.
pub fn spawn(f: impl Future<Output = ()> + Send + 'static) {
    SPAWNER.with(|s| {
        s.borrow()
            .as_ref()
            .expect("spawn outside Rt::block_on")
            .lock()
            .unwrap()
            .push(Box::pin(f))
    });
}

impl Rt {
    pub fn new() -> Rt {
        let (driver, handle) = magpie_io::stack::new().expect("driver stack");
        let queue = Arc::new(Queue {
            ready: Mutex::new(VecDeque::new()),
            unpark: driver.unparker(),
        });
        Rt {
            driver,
            handle,
            queue,
            tasks: Vec::new(),
            spawned: Arc::default(),
        }
    }

    fn waker(&self, id: usize) -> Arc<TaskWaker> {
        Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(false),
            queue: self.queue.clone(),
            wakes: AtomicUsize::new(0),
        })
    }

    /// Runs `fut` (and whatever it spawns) until `fut` completes; panics after 30 s.
    pub fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
        let _enter = self.handle.enter();
        SPAWNER.with(|s| *s.borrow_mut() = Some(self.spawned.clone()));
        let mut fut = pin!(fut);
        let main_waker = self.waker(MAIN);
        let main = Waker::from(main_waker.clone());
        let deadline = Instant::now() + Duration::from_secs(30);
        self.queue.ready.lock().unwrap().push_back(MAIN);
        main_waker.queued.store(true, Ordering::SeqCst);
        let mut tick = 0u32;
        loop {
            tick = tick.wrapping_add(1);
            // Like a real scheduler: poll for I/O every so often even when busy.
            if tick % 61 == 0 {
                self.driver.park_timeout(Duration::ZERO);
            }
            // Adopt newly spawned tasks.
            for f in self.spawned.lock().unwrap().drain(..) {
                let id = self.tasks.len();
                let w = self.waker(id);
                w.queued.store(true, Ordering::SeqCst);
                self.tasks.push(Some((f, w)));
                self.queue.ready.lock().unwrap().push_back(id);
            }
            let next = self.queue.ready.lock().unwrap().pop_front();
            match next {
                Some(MAIN) => {
                    main_waker.queued.store(false, Ordering::SeqCst);
                    let mut cx = Context::from_waker(&main);
                    if let Poll::Ready(out) =
                        magpie_base::coop::budget(|| fut.as_mut().poll(&mut cx))
                    {
                        return out;
                    }
                }
                Some(id) => {
                    let Some(Some((f, w))) = self.tasks.get_mut(id) else {
                        continue;
                    };
                    w.queued.store(false, Ordering::SeqCst);
                    let waker = Waker::from(w.clone());
                    let mut cx = Context::from_waker(&waker);
                    if magpie_base::coop::budget(|| f.as_mut().poll(&mut cx)).is_ready() {
                        self.tasks[id] = None;
                    }
                }
                None => {
                    assert!(Instant::now() < deadline, "test deadlocked (30 s)");
                    if self.spawned.lock().unwrap().is_empty() {
                        self.driver.park_timeout(Duration::from_millis(500));
                    }
                }
            }
        }
    }

    /// Number of spawned tasks not finished.
    pub fn live_tasks(&self) -> usize {
        self.tasks.iter().filter(|t| t.is_some()).count()
    }
}

/// Runs `f` on a fresh `Rt`.
pub fn run<F: Future>(f: F) -> F::Output {
    Rt::new().block_on(f)
}

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountWaker(pub AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Deterministic test payload.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2654435761)
                .rotate_left(seed as u32 % 31) as u8
                ^ seed
        })
        .collect()
}

/// Polls `fut` to completion on this thread with no I/O handle entered (it must not
/// need one to make progress: used to check the "no driver" errors).
pub fn block_on_no_driver<F: Future>(fut: F) -> F::Output {
    assert!(magpie_io::driver::Handle::try_current().is_none());
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("future did not complete without a driver");
}

/// How long a test waits for something before it fails (instead of hanging).
pub const LIMIT: Duration = Duration::from_secs(5);

/// Returns `Pending` once (waking itself), then `Ready`: lets other tasks run.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Yields until `cond` holds; panics with `what` after [`LIMIT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        yield_now().await;
    }
}
