//! Observability: debug mode (slow polls, the stuck-worker watchdog), the unhandled
//! panic policy, task hooks, per-worker metrics and task dumps.
//!
//! Every scheduler handle owns one [`Observer`]. The task harness asks the scheduler
//! for it once per poll (`Schedule::observer`), which answers `None` unless debug mode
//! or a hook is on: with both off, a poll pays one predictable branch on a bool.
//!
//! Metrics are written by one worker each, into its own cache-padded
//! [`WorkerMetrics`], with Relaxed load + store (single writer, no RMW); readers load
//! Relaxed. Busy time is accumulated between unpark and park, not per poll.

use crate::task::Id;
use crossbeam_utils::CachePadded;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::Relaxed};
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

/// What a hook learns about a task: its id and where it was spawned.
#[derive(Clone, Copy)]
pub struct TaskMeta {
    id: Id,
    location: &'static Location<'static>,
}

impl TaskMeta {
    pub(crate) fn new(id: Id, location: &'static Location<'static>) -> TaskMeta {
        TaskMeta { id, location }
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

impl fmt::Debug for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMeta")
            .field("id", &self.id)
            .field("spawned_at", &format_args!("{}", self.location))
            .finish()
    }
}

/// The task hooks; each is optional.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) spawn: Option<Hook>,
    pub(crate) terminate: Option<Hook>,
    pub(crate) before_poll: Option<Hook>,
    pub(crate) after_poll: Option<Hook>,
}

impl Hooks {
    fn any(&self) -> bool {
        self.spawn.is_some()
            || self.terminate.is_some()
            || self.before_poll.is_some()
            || self.after_poll.is_some()
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
        }
    }
}

/// Runs a user callback, containing a panic in it: the panic is reported to `sink` and
/// the runtime goes on (a hook must never kill a worker or strand a task).
pub(crate) fn contain(what: &str, sink: &dyn Fn(&str), f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a non-string payload");
        sink(&format!(
            "magpie: the `{what}` hook panicked ({msg}); the panic was caught and the \
             runtime goes on"
        ));
        // The payload's own Drop may panic too; that one is dropped silently.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    }
}

/// Runs an optional thread hook (`on_thread_start`/`on_thread_stop`), containing a
/// panic in it (reported on stderr).
pub(crate) fn run_hook(what: &str, hook: Option<&(dyn Fn() + Send + Sync)>) {
    if let Some(h) = hook {
        contain(what, &default_sink, h);
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

/// One worker's counters. Written only by the thread holding that worker's core.
#[derive(Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) steal_operations: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) lifo_hits: AtomicU64,
    /// Busy nanoseconds accumulated up to the last park.
    pub(crate) busy_ns: AtomicU64,
    /// When the worker last unparked (epoch ns), 0 while parked.
    pub(crate) busy_since: AtomicU64,
    /// Local queue depth, for schedulers whose queue cannot be read from other
    /// threads (current-thread): published at batch boundaries.
    pub(crate) queue_depth: AtomicU64,
}

/// Single-writer increment: a Relaxed load and store, no read-modify-write.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl WorkerMetrics {
    /// The worker starts running (thread start, or woken from a park).
    pub(crate) fn unparked(&self) {
        self.busy_since.store(now_ns(), Relaxed);
    }

    /// The worker is about to park.
    pub(crate) fn parking(&self) {
        let since = self.busy_since.load(Relaxed);
        if since != 0 {
            bump(&self.busy_ns, now_ns().saturating_sub(since));
            self.busy_since.store(0, Relaxed);
        }
        bump(&self.parks, 1);
    }

    fn busy(&self) -> Duration {
        let mut ns = self.busy_ns.load(Relaxed);
        let since = self.busy_since.load(Relaxed);
        if since != 0 {
            ns += now_ns().saturating_sub(since);
        }
        Duration::from_nanos(ns)
    }
}

/// The poll a worker is in, published for the watchdog.
#[derive(Default)]
struct PollSlot {
    /// Epoch ns when the poll started, 0 when not polling.
    started: AtomicU64,
    task: AtomicU64,
    location: AtomicPtr<Location<'static>>,
}

/// Debug-mode state, shared with the watchdog thread.
struct DebugState {
    slow_poll: Duration,
    watchdog: Duration,
    slots: Box<[CachePadded<PollSlot>]>,
    sink: Sink,
    stop: parking_lot::Mutex<bool>,
    stop_cv: parking_lot::Condvar,
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

    /// Called before an observed poll.
    pub(crate) fn before_poll(&self, meta: &TaskMeta, last_poll: &AtomicU64) -> Option<PollStart> {
        if let Some(h) = &self.hooks.before_poll {
            contain("on_before_task_poll", &*self.sink, || h(meta));
        }
        let d = self.debug.as_ref()?;
        let started = now_ns();
        last_poll.store(started, Relaxed);
        let slot = crate::context::worker_index().filter(|&i| i < d.slots.len());
        if let Some(i) = slot {
            let s = &d.slots[i];
            s.task.store(meta.id.as_u64(), Relaxed);
            s.location
                .store(meta.location as *const _ as *mut _, Relaxed);
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
                    "magpie debug: slow poll: task {} (spawned at {}) took {:?} in one \
                     poll (threshold {:?}); something in it blocks the worker thread: \
                     use spawn_blocking or block_in_place for blocking work",
                    meta.id, meta.location, took, d.slow_poll
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
        "magpie: panic never retrieved: task {} (spawned at {}) panicked with {:?} and its \
         JoinHandle was dropped, so nobody will see this error; await the handle, or \
         keep it in a JoinSet/TaskGroup",
        meta.id, meta.location, msg
    )
}

/// Reports a never-retrieved panic of a task that belongs to no runtime observer
/// (blocking-pool tasks): to stderr.
pub(crate) fn report_unretrieved_default(meta: &TaskMeta, msg: &str) {
    default_sink(&unretrieved_line(meta, msg));
}

pub(crate) const SHUTDOWN_PANIC_MSG: &str = "a task panicked and the runtime was shut \
down (UnhandledPanic::ShutdownRuntime); the task's panic message was printed above";

/// The watchdog: every ~250 ms, looks for a worker stuck in one poll for longer than
/// the threshold, and reports it (once per stuck poll) while it is still stuck.
fn watchdog(d: Arc<DebugState>) {
    let period = (d.watchdog / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let mut reported = vec![0u64; d.slots.len()];
    let mut stop = d.stop.lock();
    loop {
        if *stop {
            return;
        }
        d.stop_cv.wait_for(&mut stop, period);
        if *stop {
            return;
        }
        let now = now_ns();
        for (i, s) in d.slots.iter().enumerate() {
            let started = s.started.load(Relaxed);
            if started == 0 || reported[i] == started {
                continue;
            }
            let stuck = Duration::from_nanos(now.saturating_sub(started));
            if stuck < d.watchdog {
                continue;
            }
            let task = s.task.load(Relaxed);
            let loc = s.location.load(Relaxed);
            if s.started.load(Relaxed) != started {
                continue; // the poll ended meanwhile
            }
            reported[i] = started;
            let loc = if loc.is_null() {
                "<unknown>".to_string()
            } else {
                // SAFETY: only `&'static Location`s are stored in the slot.
                unsafe { &*loc }.to_string()
            };
            (d.sink)(&format!(
                "magpie debug: watchdog: worker {i} is stuck in one poll of task {task} \
                 (spawned at {loc}) for {stuck:?} and counting; the task blocks the \
                 thread (a blocking call in async code?)"
            ));
        }
    }
}

/// A snapshot of a runtime's metrics (see [`Handle::metrics`]).
///
/// Counters are per worker and monotonic; read them twice and subtract to get rates.
/// They are maintained always (no cfg, no builder switch): each worker writes its own
/// cache-padded counters with plain Relaxed stores.
///
/// [`Handle::metrics`]: crate::runtime::Handle::metrics
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub(crate) handle: crate::scheduler::Handle,
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &self.num_workers())
            .field("num_alive_tasks", &self.num_alive_tasks())
            .field("global_queue_depth", &self.global_queue_depth())
            .finish_non_exhaustive()
    }
}

impl RuntimeMetrics {
    fn obs(&self) -> &Observer {
        self.handle.observer()
    }

    /// Number of worker threads (1 for the current-thread runtime).
    pub fn num_workers(&self) -> usize {
        self.obs().num_worker_slots()
    }

    /// Tasks spawned and not yet finished (blocking-pool tasks are not counted).
    pub fn num_alive_tasks(&self) -> usize {
        self.handle.num_alive_tasks()
    }

    /// Tasks in the global (injection) queue.
    pub fn global_queue_depth(&self) -> usize {
        self.handle.global_queue_depth()
    }

    /// Threads the blocking pool runs now (busy or idle).
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.blocking_spawner().num_threads()
    }

    /// Closures ever handed to the blocking pool (`spawn_blocking`, and what is built on
    /// it: `magpie::fs`, `lookup_host`).
    pub fn blocking_tasks_spawned(&self) -> u64 {
        self.handle.blocking_spawner().num_spawned()
    }

    /// Blocking closures waiting for a pool thread.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.blocking_spawner().queue_depth()
    }

    /// Task polls worker `i` has done.
    ///
    /// # Panics
    /// When `i >= num_workers()` (as do the other `worker_*` methods).
    pub fn worker_poll_count(&self, i: usize) -> u64 {
        self.obs().worker(i).polls.load(Relaxed)
    }

    /// Tasks worker `i` stole from other workers' queues.
    pub fn worker_steal_count(&self, i: usize) -> u64 {
        self.obs().worker(i).steals.load(Relaxed)
    }

    /// Successful steal operations of worker `i` (each moves one or more tasks).
    pub fn worker_steal_operations(&self, i: usize) -> u64 {
        self.obs().worker(i).steal_operations.load(Relaxed)
    }

    /// Times worker `i` parked (went to sleep for lack of work).
    pub fn worker_park_count(&self, i: usize) -> u64 {
        self.obs().worker(i).parks.load(Relaxed)
    }

    /// Tasks in worker `i`'s local queue now (the LIFO slot not included). On the
    /// current-thread runtime this is the value at the last batch boundary.
    pub fn worker_local_queue_depth(&self, i: usize) -> usize {
        self.handle.worker_local_queue_depth(i)
    }

    /// Time worker `i` spent awake (between unpark and park), including the
    /// current stretch when it is awake now.
    pub fn worker_total_busy_duration(&self, i: usize) -> Duration {
        self.obs().worker_busy(i)
    }

    /// Times worker `i`'s local queue overflowed into the global queue. Always 0:
    /// magpie's local queues (crossbeam deques) are unbounded and never overflow.
    pub fn worker_overflow_count(&self, i: usize) -> u64 {
        let _ = self.obs().worker(i);
        0
    }

    /// Tasks worker `i` polled from its LIFO slot.
    pub fn worker_lifo_hits(&self, i: usize) -> u64 {
        self.obs().worker(i).lifo_hits.load(Relaxed)
    }
}

/// What a task is doing, read from its state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// Woken and queued, waiting for a worker.
    Scheduled,
    /// Being polled right now.
    Running,
    /// Finished; its output waits for its `JoinHandle`, or it is leaving the list.
    Complete,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
        })
    }
}

/// One live task in a [`Dump`].
#[derive(Debug, Clone)]
pub struct TaskDump {
    pub(crate) id: Id,
    pub(crate) location: &'static Location<'static>,
    pub(crate) state: TaskState,
    pub(crate) since_last_poll: Option<Duration>,
}

impl TaskDump {
    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Where the task was spawned.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.location
    }

    /// What the task is doing.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Time since its last poll started. Recorded in debug mode only (`None`
    /// otherwise, and for a task never polled).
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_last_poll
    }
}

/// Every live task of a runtime (see [`Handle::dump`]), in no particular order.
///
/// [`Handle::dump`]: crate::runtime::Handle::dump
#[derive(Debug, Clone)]
pub struct Dump {
    pub(crate) tasks: Vec<TaskDump>,
}

impl Dump {
    /// The tasks.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for t in &self.tasks {
            write!(f, "  task {:>6}  {:<9}  {}", t.id, t.state, t.location)?;
            match t.since_last_poll {
                Some(d) => writeln!(f, "  last polled {d:.1?} ago")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// Pins the current thread to `core` (Linux: `sched_setaffinity`). Elsewhere it does
/// nothing and says so.
pub(crate) fn pin_current_thread(core: usize, sink: &Observer) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it
        // (bounds checked against CPU_SETSIZE below), and sched_setaffinity(0, ..)
        // reads it for the calling thread.
        let res = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if core >= libc::CPU_SETSIZE as usize {
                -1
            } else {
                libc::CPU_SET(core, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
            }
        };
        if res != 0 {
            sink.report(&format!(
                "magpie: could not pin a worker thread to core {core}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    sink.report(&format!(
        "magpie: pin_workers is only supported on Linux; worker not pinned to core {core}"
    ));
}
