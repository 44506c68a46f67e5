//! Observability: debug mode (slow polls, the stuck-worker watchdog: `debug.rs`), the
//! unhandled panic policy, task and thread hooks (`hooks.rs`), per-worker metrics
//! (`metrics.rs`), task dumps (`dump.rs`) and core pinning (`pin.rs`).
//!
//! Every scheduler handle owns one [`Observer`]. The task harness asks the scheduler
//! for it once per poll (`Schedule::observer`), which answers `None` unless debug mode
//! or a hook is on: with both off, a poll pays one predictable branch on a bool.
//!
//! Metrics are written by one worker each, into its own cache-padded
//! [`WorkerMetrics`], with Relaxed load + store (single writer, no RMW); readers load
//! Relaxed. Busy time is accumulated between unpark and park, not per poll.

mod debug;
mod dump;
mod hooks;
mod metrics;
#[cfg(test)]
mod names_tests;
mod pin;
#[cfg(test)]
mod tests;

use self::debug::{DebugState, watchdog};
pub use self::dump::{Dump, TaskDump, TaskState};
pub(crate) use self::hooks::{Hooks, contain, run_hook};
pub use self::metrics::RuntimeMetrics;
pub(crate) use self::metrics::{WorkerMetrics, bump};
pub(crate) use self::pin::pin_current_thread;

use crate::task::Id;
use crossbeam_utils::CachePadded;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::task::Waker;
use std::time::{Duration, Instant};

/// A report sink: receives one line of text per report.
pub(crate) type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// A task hook (see `Builder::on_task_spawn` and friends).
pub(crate) type Hook = Arc<dyn Fn(&TaskMeta) + Send + Sync>;

/// What happens to the runtime when a task panics.
///
/// ```should_panic
/// use magpie_runtime::runtime::{Builder, UnhandledPanic};
///
/// let rt = Builder::new_current_thread()
///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     magpie_runtime::spawn(async { panic!("boom") });
///     std::future::pending::<()>().await;
/// }); // panics: a task panicked and the runtime was shut down
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// The panic is caught and stored in the task's `JoinHandle` (the default). The
    /// runtime goes on.
    #[default]
    Ignore,
    /// Any task panic shuts the runtime down: every task is cancelled and `block_on`
    /// panics with a message that says so. Works on both flavours.
    ShutdownRuntime,
}

/// What a hook learns about a task: its id, where it was spawned and its name.
#[derive(Clone)]
pub struct TaskMeta {
    id: Id,
    location: &'static Location<'static>,
    name: Option<Arc<String>>,
}

impl TaskMeta {
    pub(crate) fn new(
        id: Id,
        location: &'static Location<'static>,
        name: Option<Arc<String>>,
    ) -> TaskMeta {
        TaskMeta { id, location, name }
    }

    /// The name given with [`task::Builder::name`](crate::task::Builder::name), if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(String::as_str)
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Where the task was spawned (the caller of `spawn`, `JoinSet::spawn`, ...).
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.location
    }
}

/// `task 12 "accept-loop" (spawned at src/main.rs:4:5)`: how reports name a task.
impl fmt::Display for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = self.name() {
            write!(f, " {name:?}")?;
        }
        write!(f, " (spawned at {})", self.location)
    }
}

impl fmt::Debug for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMeta")
            .field("id", &self.id)
            .field("spawned_at", &format_args!("{}", self.location))
            .field("name", &self.name())
            .finish()
    }
}

/// What the builder asked for.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) debug: bool,
    pub(crate) slow_poll_threshold: Duration,
    pub(crate) watchdog_threshold: Duration,
    pub(crate) sink: Option<Sink>,
    pub(crate) unhandled_panic: UnhandledPanic,
    pub(crate) hooks: Hooks,
    /// `Builder::name`: shown by `Handle::name` and in debug reports.
    pub(crate) name: Option<Arc<str>>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            debug: false,
            slow_poll_threshold: Duration::from_millis(100),
            watchdog_threshold: Duration::from_secs(1),
            sink: None,
            unhandled_panic: UnhandledPanic::Ignore,
            hooks: Hooks::default(),
            name: None,
        }
    }
}

/// A process-wide monotonic epoch, so that timestamps fit in a u64 of nanoseconds
/// (0 means "none").
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since the epoch, never 0.
pub(crate) fn now_ns() -> u64 {
    (epoch().elapsed().as_nanos() as u64).max(1)
}

fn default_sink(line: &str) {
    eprintln!("{line}");
}

/// Returned by `before_poll`, consumed by `after_poll`.
pub(crate) struct PollStart {
    started: u64,
    slot: Option<usize>,
}

/// The observability state of one runtime.
pub(crate) struct Observer {
    /// Debug mode or a hook is on: the harness takes the observed path.
    active: bool,
    debug: Option<Arc<DebugState>>,
    hooks: Hooks,
    sink: Sink,
    pub(crate) unhandled_panic: UnhandledPanic,
    /// The runtime's name (`Builder::name`).
    pub(crate) name: Option<Arc<str>>,
    /// A task panicked under `UnhandledPanic::ShutdownRuntime`.
    panicked: AtomicBool,
    /// Threads in `block_on` to wake when a panic shuts the runtime down.
    waiters: parking_lot::Mutex<Vec<Waker>>,
    workers: Box<[CachePadded<WorkerMetrics>]>,
    watchdog: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Observer {
    pub(crate) fn new(config: &Config, num_workers: usize) -> Observer {
        let sink: Sink = config
            .sink
            .clone()
            .unwrap_or_else(|| Arc::new(default_sink));
        let debug = config.debug.then(|| {
            Arc::new(DebugState {
                slow_poll: config.slow_poll_threshold,
                watchdog: config.watchdog_threshold,
                slots: (0..num_workers).map(|_| CachePadded::default()).collect(),
                sink: sink.clone(),
                stop: parking_lot::Mutex::new(false),
                stop_cv: parking_lot::Condvar::new(),
            })
        });
        let obs = Observer {
            active: config.debug || config.hooks.any(),
            debug,
            hooks: config.hooks.clone(),
            sink,
            unhandled_panic: config.unhandled_panic,
            name: config.name.clone(),
            panicked: AtomicBool::new(false),
            waiters: parking_lot::Mutex::new(Vec::new()),
            workers: (0..num_workers).map(|_| CachePadded::default()).collect(),
            watchdog: parking_lot::Mutex::new(None),
        };
        if let Some(d) = &obs.debug {
            let d = d.clone();
            let res = std::thread::Builder::new()
                .name("magpie-watchdog".into())
                .spawn(move || watchdog(d));
            match res {
                Ok(t) => *obs.watchdog.lock() = Some(t),
                Err(e) => (obs.sink)(&format!(
                    "magpie debug: could not start the watchdog thread: {e}"
                )),
            }
        }
        obs
    }

    /// `Some(self)` when the harness must take the observed poll path.
    #[inline(always)]
    pub(crate) fn active(&self) -> Option<&Observer> {
        if self.active { Some(self) } else { None }
    }

    pub(crate) fn worker(&self, index: usize) -> &WorkerMetrics {
        &self.workers[index]
    }

    pub(crate) fn num_worker_slots(&self) -> usize {
        self.workers.len()
    }

    pub(crate) fn report(&self, line: &str) {
        (self.sink)(line);
    }

    /// A worker is about to park (both flavours).
    pub(crate) fn before_park(&self) {
        if let Some(h) = &self.hooks.thread_park {
            contain("on_thread_park", &*self.sink, || h());
        }
    }

    /// A worker came back from park.
    pub(crate) fn after_unpark(&self) {
        if let Some(h) = &self.hooks.thread_unpark {
            contain("on_thread_unpark", &*self.sink, || h());
        }
    }

    pub(crate) fn on_spawn(&self, meta: &TaskMeta) {
        if let Some(h) = &self.hooks.spawn {
            contain("on_task_spawn", &*self.sink, || h(meta));
        }
    }

    pub(crate) fn on_terminate(&self, meta: &TaskMeta) {
        if let Some(h) = &self.hooks.terminate {
            contain("on_task_terminate", &*self.sink, || h(meta));
        }
    }

    /// Whether tasks should record their last poll time (debug mode: task dumps show
    /// it), decided when a task is spawned.
    pub(crate) fn tracks_polls(&self) -> bool {
        self.debug.is_some()
    }

    /// Called before an observed poll. `last_poll`: the task's last-poll time, if it
    /// records one.
    pub(crate) fn before_poll(
        &self,
        meta: &TaskMeta,
        last_poll: Option<&AtomicU64>,
    ) -> Option<PollStart> {
        if let Some(h) = &self.hooks.before_poll {
            contain("on_before_task_poll", &*self.sink, || h(meta));
        }
        let d = self.debug.as_ref()?;
        let started = now_ns();
        if let Some(last_poll) = last_poll {
            last_poll.store(started, Relaxed);
        }
        let slot = crate::context::worker_index().filter(|&i| i < d.slots.len());
        if let Some(i) = slot {
            let s = &d.slots[i];
            s.task.store(meta.id.as_u64(), Relaxed);
            s.location
                .store(meta.location as *const _ as *mut _, Relaxed);
            // Named tasks only (and only in debug mode): the lock is uncontended but
            // not free, and an unnamed task's slot name is already `None`.
            if meta.name.is_some() || s.has_name.load(Relaxed) {
                s.has_name.store(meta.name.is_some(), Relaxed);
                *s.name.lock() = meta.name.clone();
            }
            s.started.store(started, Relaxed);
        }
        Some(PollStart { started, slot })
    }

    /// Called after an observed poll (also when it panicked).
    pub(crate) fn after_poll(&self, meta: &TaskMeta, start: Option<PollStart>) {
        if let (Some(d), Some(start)) = (&self.debug, start) {
            if let Some(i) = start.slot {
                // Clear only our own entry: after `block_in_place` another thread may
                // already poll for this worker index.
                let s = &d.slots[i];
                if s.started.load(Relaxed) == start.started {
                    s.started.store(0, Relaxed);
                }
            }
            let took = Duration::from_nanos(now_ns().saturating_sub(start.started));
            if took >= d.slow_poll {
                (d.sink)(&format!(
                    "magpie debug: slow poll: {meta} took {took:?} in one poll (threshold \
                     {:?}); something in it blocks the worker thread: use spawn_blocking \
                     or block_in_place for blocking work",
                    d.slow_poll
                ));
            }
        }
        if let Some(h) = &self.hooks.after_poll {
            contain("on_after_task_poll", &*self.sink, || h(meta));
        }
    }

    /// A task's poll panicked. `unretrieved`: its `JoinHandle` is gone, so nobody will
    /// see the panic. Returns true when the policy asks to shut the runtime down.
    pub(crate) fn task_panicked(&self, meta: &TaskMeta, msg: &str, unretrieved: bool) -> bool {
        if unretrieved {
            self.report_unretrieved(meta, msg);
        }
        if self.unhandled_panic == UnhandledPanic::ShutdownRuntime {
            self.panicked
                .store(true, std::sync::atomic::Ordering::SeqCst);
            for w in std::mem::take(&mut *self.waiters.lock()) {
                w.wake();
            }
            return true;
        }
        false
    }

    pub(crate) fn report_unretrieved(&self, meta: &TaskMeta, msg: &str) {
        (self.sink)(&unretrieved_line(meta, msg));
    }

    /// Whether a task panic shut the runtime down.
    pub(crate) fn has_panicked(&self) -> bool {
        self.panicked.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Registers a `block_on` waker to be woken when a panic shuts the runtime down.
    pub(crate) fn register_waiter(&self, waker: &Waker) {
        if self.unhandled_panic == UnhandledPanic::ShutdownRuntime {
            let mut w = self.waiters.lock();
            if !w.iter().any(|x| x.will_wake(waker)) {
                w.push(waker.clone());
            }
        }
    }

    /// Stops the watchdog thread (runtime shutdown).
    pub(crate) fn stop(&self) {
        if let Some(d) = &self.debug {
            *d.stop.lock() = true;
            d.stop_cv.notify_all();
        }
        if let Some(t) = self.watchdog.lock().take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }

    pub(crate) fn worker_busy(&self, i: usize) -> Duration {
        self.workers[i].busy()
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn unretrieved_line(meta: &TaskMeta, msg: &str) -> String {
    format!(
        "magpie: panic never retrieved: {meta} panicked with {msg:?} and its JoinHandle \
         was dropped, so nobody will see this error; await the handle, or keep it in a \
         JoinSet/TaskGroup"
    )
}

/// Reports a never-retrieved panic of a task that belongs to no runtime observer
/// (blocking-pool tasks): to stderr.
pub(crate) fn report_unretrieved_default(meta: &TaskMeta, msg: &str) {
    default_sink(&unretrieved_line(meta, msg));
}

pub(crate) const SHUTDOWN_PANIC_MSG: &str = "a task panicked and the runtime was shut \
down (UnhandledPanic::ShutdownRuntime); the task's panic message was printed above";
