//! The blocking pool: threads for `spawn_blocking` (asyncio's `run_in_executor`).
//!
//! A queue of blocking tasks under one mutex, worked by up to `max_blocking_threads`
//! threads. A thread is started when a task arrives and no thread is idle; an idle
//! thread waits `keep_alive` for work and then exits. Blocking tasks use the ordinary
//! task cell (so their `JoinHandle` is the same type), are not in any owned-task list,
//! and are polled exactly once.
//!
//! At shutdown, queued tasks that have not started are cancelled (their `JoinHandle`
//! reports `is_cancelled()`); running ones are waited for up to the shutdown timeout.
//!
//! # The spinner
//!
//! Waking a thread parked on the condvar costs a futex round trip and a context switch
//! (tens of microseconds on a busy VM), and `spawn_blocking` is usually called in
//! bursts. So a thread that runs out of work first *spins* for up to [`SPIN`] (polling
//! an atomic queue length, yielding the CPU between looks) before it sleeps; at most one
//! thread spins at a time (`State::spinner`). A push that finds a spinner hands it the
//! task without any notify, and clears `spinner` so that the next push wakes or starts
//! another thread (a burst still spreads over the pool). The hand-off cannot be lost:
//! the spinner always re-takes the lock and looks at the queue when it stops spinning,
//! whether it saw the length change or timed out. Go's scheduler keeps spinning threads
//! for the same reason; this is a one-spinner version of that idea.

use crate::context;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Condvar, Mutex};
use crate::loom::thread;
use crate::obs::TaskMeta;
use crate::task::{self, Id, JoinHandle, Schedule, Task};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Scheduler of blocking tasks: they are never woken (one poll completes them) and
/// belong to no list.
#[derive(Clone, Copy)]
pub(crate) struct BlockingSchedule;

impl Schedule for BlockingSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }

    fn task_panicked(&self, meta: &TaskMeta, msg: &str, unretrieved: bool) {
        if unretrieved {
            crate::obs::report_unretrieved_default(meta, msg);
        }
    }

    fn panic_dropped(&self, meta: &TaskMeta, msg: &str) {
        crate::obs::report_unretrieved_default(meta, msg);
    }

    fn schedule(&self, task: task::Notified<Self>) {
        // Only `abort()` of a task that is already queued could get here, and that
        // path never submits (the task is NOTIFIED while queued). Dropping the ref is
        // the safe answer should it ever happen.
        drop(task);
    }
}

type BlockingTask = task::Notified<BlockingSchedule>;

/// Runs the closure once when polled. Holds off a paused clock's auto-advance from
/// spawn until the closure has run or been dropped (the runtime is idle while blocking
/// work runs, but time must not jump past it: tokio's test clock behaves the same).
struct BlockingFuture<F> {
    f: Option<F>,
    _inhibit: InhibitAutoAdvance,
}

impl<F> Unpin for BlockingFuture<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingFuture<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.f.take().expect("blocking task polled twice");
        // Blocking code is not subject to the cooperative budget.
        Poll::Ready(magpie_base::coop::with_unconstrained(f))
    }
}

/// While alive, the runtime's paused clock (if it was paused at spawn) does not
/// auto-advance.
struct InhibitAutoAdvance(Option<magpie_time::Clock>);

impl InhibitAutoAdvance {
    fn new(clock: Option<&magpie_time::Clock>) -> InhibitAutoAdvance {
        match clock {
            Some(c) if c.is_paused() => {
                c.inhibit_auto_advance();
                InhibitAutoAdvance(Some(c.clone()))
            }
            _ => InhibitAutoAdvance(None),
        }
    }
}

impl Drop for InhibitAutoAdvance {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.allow_auto_advance();
        }
    }
}

pub(crate) struct Config {
    /// The runtime's clock (time driver enabled): blocking work holds off its
    /// auto-advance while paused.
    pub(crate) clock: Option<magpie_time::Clock>,
    pub(crate) thread_cap: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) after_start: Option<Arc<dyn Fn() + Send + Sync>>,
    pub(crate) before_stop: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// Spawns onto the pool; held by the runtime handle.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

/// How long a thread out of work spins before sleeping on the condvar (not at all
/// under loom, which has no time: the models cover the hand-off without the spin).
const SPIN: Duration = if cfg!(loom) {
    Duration::ZERO
} else {
    Duration::from_micros(50)
};

struct Inner {
    state: Mutex<State>,
    /// `state.queue.len()`, stored under the lock and read without it by the spinner.
    queued: AtomicUsize,
    condvar: Condvar,
    /// Signalled when a thread exits (for shutdown).
    exited: Condvar,
    config: Config,
    /// Set by the owning runtime so pool threads run with its context entered.
    handle: Mutex<Option<crate::scheduler::Handle>>,
}

struct State {
    queue: VecDeque<BlockingTask>,
    num_threads: usize,
    num_idle: usize,
    num_notify: usize,
    /// Tasks ever pushed (a metric).
    num_spawned: u64,
    /// The pool thread (by id) that is spinning and not yet handed a task.
    spinner: Option<usize>,
    /// Ids for new threads (never reused).
    next_id: usize,
    shutdown: bool,
    /// The running threads by id. A thread that retires takes its own handle out and
    /// drops it (detaching it), so an exited thread's stack is released at once
    /// rather than kept, joinable, until shutdown.
    threads: std::collections::HashMap<usize, thread::JoinHandle<()>>,
}

impl Spawner {
    pub(crate) fn new(config: Config) -> Spawner {
        Spawner {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    num_spawned: 0,
                    spinner: None,
                    next_id: 0,
                    shutdown: false,
                    threads: std::collections::HashMap::new(),
                }),
                queued: AtomicUsize::new(0),
                condvar: Condvar::new(),
                exited: Condvar::new(),
                config,
                handle: Mutex::new(None),
            }),
        }
    }

    /// Threads the pool runs now.
    pub(crate) fn num_threads(&self) -> usize {
        self.inner.state.lock().num_threads
    }

    /// Tasks ever handed to the pool (counted under the pool lock, which `push` takes
    /// anyway).
    pub(crate) fn num_spawned(&self) -> u64 {
        self.inner.state.lock().num_spawned
    }

    /// Join handles the pool keeps (one per running thread: retired ones detach).
    #[cfg(test)]
    pub(crate) fn num_thread_handles(&self) -> usize {
        self.inner.state.lock().threads.len()
    }

    /// Tasks queued and not yet picked up by a pool thread.
    pub(crate) fn queue_depth(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    pub(crate) fn set_runtime_handle(&self, handle: crate::scheduler::Handle) {
        *self.inner.handle.lock() = Some(handle);
    }

    #[track_caller]
    pub(crate) fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_meta(f, task::SpawnMeta::here())
    }

    /// [`spawn_blocking`](Self::spawn_blocking) with what `task::Builder` records.
    pub(crate) fn spawn_blocking_meta<F, R>(&self, f: F, meta: task::SpawnMeta) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let future = BlockingFuture {
            f: Some(f),
            _inhibit: InhibitAutoAdvance::new(self.inner.config.clock.as_ref()),
        };
        let raw = task::RawTask::new(future, BlockingSchedule, Id::next(), 0, meta);
        // SAFETY: an unowned task starts with two references: the join handle's and
        // the first `Notified`'s, handed out here.
        let join = unsafe { JoinHandle::new(raw) };
        // SAFETY: as above.
        let task = unsafe { BlockingTask::from_raw(raw.header_ptr()) };
        self.push(task);
        join
    }

    fn push(&self, task: BlockingTask) {
        let mut state = self.inner.state.lock();
        if state.shutdown {
            drop(state);
            // Cancelled: the JoinHandle reports it.
            task.shutdown();
            return;
        }
        state.queue.push_back(task);
        self.inner
            .queued
            .store(state.queue.len(), Ordering::Release);
        state.num_spawned += 1;
        if state.spinner.take().is_some() {
            // The spinner will see the queue length change (or look under the lock
            // when it stops): no notify needed.
            return;
        }
        if state.num_idle > 0 {
            state.num_idle -= 1;
            state.num_notify += 1;
            self.inner.condvar.notify_one();
            return;
        }
        if state.num_threads >= self.inner.config.thread_cap {
            // At the cap: a busy thread takes it when done.
            return;
        }
        let id = state.next_id;
        state.next_id += 1;
        let mut builder = thread::Builder::new().name((self.inner.config.thread_name)());
        if let Some(size) = self.inner.config.stack_size {
            builder = builder.stack_size(size);
        }
        let inner = self.inner.clone();
        match builder.spawn(move || run(inner, id)) {
            Ok(handle) => {
                state.num_threads += 1;
                state.threads.insert(id, handle);
            }
            Err(e) => {
                if state.num_threads == 0 {
                    // No thread will ever run it: cancel rather than hang its awaiter.
                    let task = state.queue.pop_back().expect("just pushed");
                    drop(state);
                    eprintln!("magpie: could not start a blocking-pool thread: {e}");
                    task.shutdown();
                }
                // Otherwise an existing thread picks it up when it is free.
            }
        }
    }

    /// Cancels queued tasks and waits up to `timeout` (None: forever) for running ones.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let queued = {
            let mut state = self.inner.state.lock();
            if state.shutdown {
                return;
            }
            state.shutdown = true;
            self.inner.condvar.notify_all();
            std::mem::take(&mut state.queue)
        };
        for task in queued {
            task.shutdown();
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.inner.state.lock();
        while state.num_threads > 0 {
            match deadline {
                None => self.inner.exited.wait(&mut state),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    self.inner.exited.wait_timeout(&mut state, d - now);
                }
            }
        }
        let all_exited = state.num_threads == 0;
        let threads = std::mem::take(&mut state.threads);
        drop(state);
        if all_exited {
            for (_, t) in threads {
                let _ = t.join();
            }
        }
        *self.inner.handle.lock() = None;
    }
}

fn run(inner: Arc<Inner>, id: usize) {
    // A panicking hook must not skip the thread accounting below.
    crate::obs::run_hook("on_thread_start", inner.config.after_start.as_deref());
    let handle = inner.handle.lock().clone();
    let _guard = handle.as_ref().map(context::set_current);
    let mut state = inner.state.lock();
    // Whether this thread already spun since it last ran a task.
    let mut spun = false;
    'outer: loop {
        while let Some(task) = state.queue.pop_front() {
            inner.queued.store(state.queue.len(), Ordering::Release);
            drop(state);
            task.run();
            spun = false;
            state = inner.state.lock();
        }
        if state.shutdown {
            break;
        }
        if !spun && state.spinner.is_none() {
            spun = true;
            state.spinner = Some(id);
            drop(state);
            let deadline = Instant::now() + SPIN;
            while inner.queued.load(Ordering::Acquire) == 0 && Instant::now() < deadline {
                thread::yield_now();
            }
            state = inner.state.lock();
            if state.spinner == Some(id) {
                // Not handed a task (a push would have cleared it).
                state.spinner = None;
            }
            // Look at the queue under the lock: a task handed to us is there.
            continue 'outer;
        }
        state.num_idle += 1;
        loop {
            let timed_out = inner
                .condvar
                .wait_timeout(&mut state, inner.config.keep_alive);
            if state.num_notify > 0 {
                state.num_notify -= 1;
                continue 'outer;
            }
            if state.shutdown {
                state.num_idle -= 1;
                break 'outer;
            }
            if timed_out {
                // Idle for keep_alive: this thread retires, detaching itself.
                state.num_idle -= 1;
                drop(state.threads.remove(&id));
                break 'outer;
            }
        }
    }
    // Tasks queued after the shutdown decision are cancelled by `shutdown`.
    state.num_threads -= 1;
    inner.exited.notify_all();
    drop(state);
    drop(_guard);
    crate::obs::run_hook("on_thread_stop", inner.config.before_stop.as_deref());
}

/// Runs `f` on the blocking pool of the current runtime and returns a handle to its
/// result (asyncio's `loop.run_in_executor(None, f)`).
///
/// Use it for code that blocks (file systems, CPU-heavy work, synchronous libraries):
/// calling it directly in a task would stall every other task on that worker. The pool
/// grows up to `Builder::max_blocking_threads` threads; further calls queue.
/// `abort()` cancels a call that has not started yet; one that is running finishes.
///
/// # Panics
/// Outside a magpie runtime.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let n = magpie_runtime::task::spawn_blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(10));
///     42
/// })
/// .await
/// .unwrap();
/// assert_eq!(n, 42);
/// # });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::with_current(|h| h.blocking_spawner().clone()) {
        Ok(spawner) => spawner.spawn_blocking(f),
        Err(e) => panic!("`spawn_blocking` {e}"),
    }
}
