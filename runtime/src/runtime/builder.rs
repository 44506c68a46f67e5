//! [`Builder`]: what a runtime is made of, and `build`, which composes it.

use super::Handle;
use super::runtime::{Runtime, Scheduler};
use crate::blocking;
use crate::obs::{self, TaskMeta, UnhandledPanic};
use crate::scheduler::{self, current_thread, multi_thread};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// What the builder asked of the drivers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DriverConfig {
    pub(crate) enable_time: bool,
    pub(crate) enable_io: bool,
    pub(crate) start_paused: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

/// Configures and builds a [`Runtime`] (tokio-compatible names).
///
/// ```
/// use magpie_runtime::runtime::Builder;
///
/// let rt = Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .enable_all()
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    stack_size: Option<usize>,
    after_start: Option<Arc<dyn Fn() + Send + Sync>>,
    before_stop: Option<Arc<dyn Fn() + Send + Sync>>,
    max_blocking_threads: usize,
    keep_alive: Duration,
    event_interval: u32,
    global_queue_interval: Option<u32>,
    disable_lifo_slot: bool,
    driver_config: DriverConfig,
    obs: obs::Config,
    pin: Option<Vec<usize>>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("drivers", &self.driver_config)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// A builder for the multi-thread, work-stealing runtime (one worker per core by
    /// default).
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    /// A builder for the current-thread runtime: every task runs on the thread that
    /// calls `block_on` (asyncio's single event loop).
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            thread_name: Arc::new(|| "magpie-worker".to_string()),
            stack_size: None,
            after_start: None,
            before_stop: None,
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            event_interval: 61,
            global_queue_interval: None,
            disable_lifo_slot: false,
            driver_config: DriverConfig::default(),
            obs: obs::Config::default(),
            pin: None,
        }
    }

    /// Number of worker threads (multi-thread only; default: the number of cores, or
    /// `MAGPIE_WORKER_THREADS` when set).
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Name of the runtime's threads.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name: String = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// A function that names each new thread.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.thread_name = Arc::new(f);
        self
    }

    /// Stack size of the runtime's threads, in bytes.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on each runtime thread (worker or blocking) when it starts.
    pub fn on_thread_start<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.after_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each runtime thread (worker or blocking) before it stops.
    pub fn on_thread_stop<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.before_stop = Some(Arc::new(f));
        self
    }

    /// Names the runtime: [`Handle::name`] returns it (useful when a process runs
    /// several runtimes). Worker thread names are set with
    /// [`thread_name`](Builder::thread_name).
    ///
    /// ```
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread()
    ///     .name("ingest")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.handle().name(), Some("ingest"));
    /// ```
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.obs.name = Some(Arc::from(name.into()));
        self
    }

    /// Runs `f` on a worker thread just before it parks (goes idle waiting for work,
    /// events or timers), on both flavours. A panic in `f` is reported and contained.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let parks = Arc::new(AtomicUsize::new(0));
    /// let p = parks.clone();
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread()
    ///     .enable_time()
    ///     .on_thread_park(move || {
    ///         p.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { magpie_time::sleep(std::time::Duration::from_millis(5)).await });
    /// assert!(parks.load(Ordering::SeqCst) >= 1);
    /// ```
    pub fn on_thread_park<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.obs.hooks.thread_park = Some(Arc::new(f));
        self
    }

    /// Runs `f` on a worker thread just after it comes back from parking.
    pub fn on_thread_unpark<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.obs.hooks.thread_unpark = Some(Arc::new(f));
        self
    }

    /// Most threads the blocking pool may run at once (default 512).
    ///
    /// # Panics
    /// When `n` is 0.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before exiting (default
    /// 10 s).
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.keep_alive = d;
        self
    }

    /// Tasks a worker polls between two non-blocking polls of the I/O and time
    /// drivers (default 61).
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        self.event_interval = n.max(1);
        self
    }

    /// Ticks between two looks at the global queue ahead of the local one (default 61
    /// on the multi-thread runtime, 31 on the current-thread one).
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        self.global_queue_interval = Some(n.max(1));
        self
    }

    /// Turns off the LIFO slot optimisation (for measuring it).
    pub fn disable_lifo_slot(&mut self) -> &mut Self {
        self.disable_lifo_slot = true;
        self
    }

    /// Enables every driver (I/O and time).
    pub fn enable_all(&mut self) -> &mut Self {
        self.driver_config.enable_io = true;
        self.driver_config.enable_time = true;
        self
    }

    /// Enables the time driver.
    pub fn enable_time(&mut self) -> &mut Self {
        self.driver_config.enable_time = true;
        self
    }

    /// Enables the I/O driver.
    pub fn enable_io(&mut self) -> &mut Self {
        self.driver_config.enable_io = true;
        self
    }

    /// Starts the clock paused (tests; needs the time driver).
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.driver_config.start_paused = paused;
        self
    }

    /// Debug mode (asyncio's debug mode; also on when the environment variable
    /// `MAGPIE_DEBUG` is `1`): a task poll longer than
    /// [`slow_poll_threshold`](Builder::slow_poll_threshold) is reported with the
    /// task's id, spawn location and duration; a watchdog thread reports a worker stuck
    /// in one poll for more than a second while it is still stuck; task dumps record
    /// the time since each task's last poll. Reports go to stderr.
    ///
    /// Off (the default), none of it costs anything on the poll path but one branch.
    pub fn debug(&mut self, on: bool) -> &mut Self {
        self.obs.debug = on;
        self
    }

    /// How long one poll may take before debug mode reports it (default 100 ms).
    pub fn slow_poll_threshold(&mut self, d: Duration) -> &mut Self {
        self.obs.slow_poll_threshold = d;
        self
    }

    /// Where debug-mode and panic reports go instead of stderr (in-crate tests).
    #[cfg(test)]
    pub(crate) fn debug_sink(&mut self, sink: Arc<dyn Fn(&str) + Send + Sync>) -> &mut Self {
        self.obs.sink = Some(sink);
        self
    }

    /// How long a poll may run before the debug-mode watchdog reports it while it is
    /// still running (default 1 s; in-crate tests shorten it).
    #[cfg(test)]
    pub(crate) fn watchdog_threshold(&mut self, d: Duration) -> &mut Self {
        self.obs.watchdog_threshold = d;
        self
    }

    /// What a task panic does to the runtime (default [`UnhandledPanic::Ignore`]).
    /// Unlike tokio, both flavours support [`UnhandledPanic::ShutdownRuntime`].
    pub fn unhandled_panic(&mut self, policy: UnhandledPanic) -> &mut Self {
        self.obs.unhandled_panic = policy;
        self
    }

    /// Calls `f` on the spawning thread for every task spawned (not for
    /// `spawn_blocking`). Hooks cost nothing when unset; they must not panic.
    pub fn on_task_spawn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&TaskMeta) + Send + Sync + 'static,
    {
        self.obs.hooks.spawn = Some(Arc::new(f));
        self
    }

    /// Calls `f` when a task finishes (completed, panicked or cancelled), before its
    /// `JoinHandle` can see the result.
    pub fn on_task_terminate<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&TaskMeta) + Send + Sync + 'static,
    {
        self.obs.hooks.terminate = Some(Arc::new(f));
        self
    }

    /// Calls `f` on the polling thread before every poll of a task.
    pub fn on_before_task_poll<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&TaskMeta) + Send + Sync + 'static,
    {
        self.obs.hooks.before_poll = Some(Arc::new(f));
        self
    }

    /// Calls `f` on the polling thread after every poll of a task.
    pub fn on_after_task_poll<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&TaskMeta) + Send + Sync + 'static,
    {
        self.obs.hooks.after_poll = Some(Arc::new(f));
        self
    }

    /// Pins worker `i` to CPU core `i` (`sched_setaffinity`; Linux only, elsewhere a
    /// warning and no pinning). Multi-thread runtime only. See also
    /// [`worker_cores`](Builder::worker_cores).
    pub fn pin_workers(&mut self, on: bool) -> &mut Self {
        self.pin = on.then(Vec::new);
        self
    }

    /// Pins worker `i` to core `cores[i % cores.len()]` (implies pinning).
    ///
    /// # Panics
    /// When `cores` is empty.
    #[track_caller]
    pub fn worker_cores(&mut self, cores: Vec<usize>) -> &mut Self {
        assert!(!cores.is_empty(), "worker_cores needs at least one core");
        self.pin = Some(cores);
        self
    }

    /// Builds the runtime: starts its worker threads (multi-thread) and its drivers.
    ///
    /// Errors when the OS refuses a thread or a driver resource (for example EMFILE
    /// for the I/O driver's epoll instance).
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.driver_config.start_paused {
            if self.kind != Kind::CurrentThread {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "start_paused(true) needs the current-thread runtime: build it with \
                     `Builder::new_current_thread()` (a paused clock on several threads \
                     would auto-advance while another worker still has work)",
                ));
            }
            if !self.driver_config.enable_time {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "start_paused(true) needs the time driver: call `enable_time()` or \
                     `enable_all()` on the builder",
                ));
            }
        }
        let mut obs_config = self.obs.clone();
        if std::env::var("MAGPIE_DEBUG").is_ok_and(|v| matches!(v.trim(), "1" | "true")) {
            obs_config.debug = true;
        }
        let workers = match self.kind {
            Kind::CurrentThread => 1,
            Kind::MultiThread => self.worker_threads.unwrap_or_else(default_worker_threads),
        };
        let (driver, driver_handle) = crate::driver::build(&self.driver_config, workers)?;
        let blocking = blocking::Spawner::new(blocking::Config {
            clock: driver_handle.time.as_ref().map(|t| t.clock().clone()),
            thread_cap: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            thread_name: self.thread_name.clone(),
            stack_size: self.stack_size,
            after_start: self.after_start.clone(),
            before_stop: self.before_stop.clone(),
        });
        let (scheduler, handle) = match self.kind {
            Kind::CurrentThread => {
                let (ct, h) = current_thread::CurrentThread::new(
                    driver,
                    driver_handle,
                    blocking.clone(),
                    current_thread::Config {
                        event_interval: self.event_interval,
                        global_queue_interval: self.global_queue_interval.unwrap_or(31),
                    },
                    obs::Observer::new(&obs_config, 1),
                );
                (
                    Scheduler::CurrentThread(ct),
                    scheduler::Handle::CurrentThread(h),
                )
            }
            Kind::MultiThread => {
                let n = workers;
                let (mt, h) = multi_thread::MultiThread::new(
                    n,
                    driver,
                    driver_handle,
                    blocking.clone(),
                    multi_thread::worker::Config {
                        event_interval: self.event_interval,
                        global_queue_interval: self.global_queue_interval.unwrap_or(61),
                        disable_lifo_slot: self.disable_lifo_slot,
                        thread_name: self.thread_name.clone(),
                        stack_size: self.stack_size,
                        after_start: self.after_start.clone(),
                        before_stop: self.before_stop.clone(),
                        pin: self.pin.clone(),
                    },
                    obs::Observer::new(&obs_config, n),
                )?;
                (
                    Scheduler::MultiThread(mt),
                    scheduler::Handle::MultiThread(h),
                )
            }
        };
        blocking.set_runtime_handle(handle.clone());
        if let Some(io) = &handle.driver_handle().io {
            // DNS lookups (`lookup_host`) run on this runtime's blocking pool.
            let spawner = blocking.clone();
            io.set_blocking_spawner(move |f| drop(spawner.spawn_blocking(f)));
        }
        Ok(Runtime {
            handle: Handle { inner: handle },
            scheduler,
            blocking,
            shut_down: false,
        })
    }

    /// Builds a local runtime: a current-thread runtime whose `block_on` also drives a
    /// [`LocalSet`](crate::task::LocalSet), so `!Send` tasks can be spawned anywhere
    /// on it with [`spawn_local`](crate::task::spawn_local) (asyncio's single event
    /// loop, whose tasks share the thread's state). The builder's
    /// [`unhandled_panic`](Builder::unhandled_panic) applies to local tasks too.
    ///
    /// Errors on a multi-thread builder (a local runtime has one thread): use
    /// `Builder::new_current_thread()`.
    ///
    /// ```
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread().build_local().unwrap();
    /// let n = std::rc::Rc::new(5);
    /// let out = rt.block_on(async move {
    ///     magpie_runtime::task::spawn_local(async move { *n * 2 }).await.unwrap()
    /// });
    /// assert_eq!(out, 10);
    /// ```
    pub fn build_local(&mut self) -> io::Result<super::LocalRuntime> {
        if self.kind != Kind::CurrentThread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "build_local needs the current-thread runtime (a local runtime runs every \
                 task on one thread): build it with `Builder::new_current_thread()`",
            ));
        }
        let policy = self.obs.unhandled_panic;
        let rt = self.build()?;
        Ok(super::LocalRuntime::new(rt, policy))
    }
}

fn default_worker_threads() -> usize {
    if let Ok(s) = std::env::var("MAGPIE_WORKER_THREADS") {
        if let Ok(n) = s.trim().parse::<usize>() {
            if n > 0 {
                return n;
            }
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
