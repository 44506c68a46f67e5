//! Worker threads of the multi-thread scheduler.
//!
//! # The worker loop
//!
//! ```text
//!            ┌──────────────────────────────────────────────────────────┐
//!            ▼                                                          │
//!   tick += 1 ── every event_interval ticks ──► maintenance: shutdown? │
//!            │                                  poll the driver (no block)
//!            ▼                                                          │
//!   next_task:  every global_interval ticks: one task from the global queue
//!               LIFO slot (at most MAX_LIFO_POLLS in a row)             │
//!               local queue (FIFO)                                      │
//!               global queue (a batch moved to the local queue)        │
//!            │ none                                                     │
//!            ▼                                                          │
//!   steal:      become a searcher (at most half the workers), steal half│
//!               of a random victim's queue, then the global queue      │
//!            │ none                                            found ───┤
//!            ▼                                                          │
//!   park:       register as sleeper; the last searcher re-checks all   │
//!               queues; park on the driver (if free) or a condvar ─────┘
//! ```
//!
//! A task woken by the running task goes to the LIFO slot (message-passing locality:
//! the receiver runs next, while the message is hot in cache); a task that yields or is
//! spawned goes to the back of the local queue; wakes from outside a worker go to the
//! global queue and wake a sleeping worker when no one is searching.

use super::idle::Idle;
#[cfg(loom)]
use super::loom_queue::{Injector, Steal, Stealer, Worker};
use super::task_handle::{CellCount, TaskHandle};
use crate::blocking;
use crate::context::{self, SchedulerContext};
use crate::loom::sync::atomic::{AtomicBool, Ordering, fence};
use crate::loom::sync::{Condvar, Mutex};
use crate::loom::thread;
use crate::obs::{Observer, TaskMeta, bump};
use crate::scheduler::park::{DriverSlot, Parker, Unparker};
use crate::task::list::OwnedTasks;
use crate::task::{self, Id, JoinHandle};
#[cfg(not(loom))]
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use magpie_base::coop;
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod queues;

type Notified = task::Notified<TaskHandle>;

/// Why a task is being queued on a worker.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// Woken by the running task: the LIFO slot.
    Wake,
    /// Yielded or woke itself while running: the deferred list.
    Yield,
    /// Newly spawned: the back of the local queue.
    Spawn,
}

/// Consecutive polls a task may get from the LIFO slot before the local queue runs.
const MAX_LIFO_POLLS: u8 = 3;

pub(crate) struct Config {
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
    pub(crate) disable_lifo_slot: bool,
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) after_start: Option<Arc<dyn Fn() + Send + Sync>>,
    pub(crate) before_stop: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Core pinning: `None` off; `Some(empty)` pins worker i to core i; otherwise
    /// worker i goes to `cores[i % len]`.
    pub(crate) pin: Option<Vec<usize>>,
}

/// The scheduler's shared state. Tasks point at it through a [`TaskHandle`], kept alive
/// by `cells` (see `task_handle.rs`).
pub(crate) struct Handle {
    pub(crate) shared: Shared,
    /// Live task cells; together they hold one strong reference to this handle.
    pub(crate) cells: CellCount,
    pub(crate) driver_handle: crate::driver::DriverHandle,
    pub(crate) blocking: blocking::Spawner,
    pub(crate) config: Config,
    pub(crate) obs: Observer,
}

pub(crate) struct Shared {
    remotes: Box<[Remote]>,
    inject: Injector<Notified>,
    idle: Idle,
    pub(crate) owned: OwnedTasks<TaskHandle>,
    shutdown: AtomicBool,
    pub(crate) driver: Arc<DriverSlot>,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    alive: Mutex<usize>,
    alive_cv: Condvar,
}

struct Remote {
    stealer: Stealer<Notified>,
    unparker: Unparker,
}

struct Core {
    index: usize,
    run_queue: Worker<Notified>,
    lifo: Option<Notified>,
    lifo_polls: u8,
    /// Tasks that yielded (`yield_now`, budget spent, self-wake while running). They
    /// run after the local and global queues come up empty, so a worker full of
    /// spinning tasks still drains remote work in batches (tokio defers yields the
    /// same way).
    deferred: std::collections::VecDeque<Notified>,
    tick: u32,
    is_searching: bool,
    /// `None` only while this worker is parked on it (the core stays in the context).
    park: Option<Parker>,
    rng: u32,
}

/// The per-thread context of a running worker (pointed to by the thread-local).
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

/// Owns the worker threads; dropping the runtime shuts it down.
pub(crate) struct MultiThread {
    handle: Arc<Handle>,
}

impl MultiThread {
    pub(crate) fn new(
        num_workers: usize,
        driver: Option<Box<dyn magpie_base::park::Park>>,
        driver_handle: crate::driver::DriverHandle,
        blocking: blocking::Spawner,
        config: Config,
        obs: Observer,
    ) -> std::io::Result<(MultiThread, Arc<Handle>)> {
        let driver = Arc::new(DriverSlot::new(driver));
        let mut cores = Vec::with_capacity(num_workers);
        let mut remotes = Vec::with_capacity(num_workers);
        for index in 0..num_workers {
            let run_queue = Worker::new_fifo();
            let park = Parker::new(driver.clone());
            remotes.push(Remote {
                stealer: run_queue.stealer(),
                unparker: park.unparker(),
            });
            cores.push(Box::new(Core {
                index,
                run_queue,
                lifo: None,
                lifo_polls: 0,
                deferred: std::collections::VecDeque::new(),
                tick: 0,
                is_searching: false,
                park: Some(park),
                rng: 0x9E37_79B9u32.wrapping_mul(index as u32 + 1) | 1,
            }));
        }
        let owned = OwnedTasks::new(num_workers * 4);
        let cells = CellCount::new(owned.num_shards());
        let handle = Arc::new(Handle {
            cells,
            shared: Shared {
                remotes: remotes.into_boxed_slice(),
                inject: Injector::new(),
                idle: Idle::new(num_workers),
                owned,
                shutdown: AtomicBool::new(false),
                driver,
                threads: Mutex::new(Vec::new()),
                alive: Mutex::new(0),
                alive_cv: Condvar::new(),
            },
            driver_handle,
            blocking,
            config,
            obs,
        });
        // The live cells' reference (task_handle.rs): released when the runtime shuts
        // down and its last cell is freed.
        // SAFETY: `handle` is a live `Arc`; `drain_cells` or the last `cell_freed`
        // after it gives this reference back.
        unsafe { Arc::increment_strong_count(Arc::as_ptr(&handle)) };
        let mt = MultiThread {
            handle: handle.clone(),
        };
        for core in cores {
            if let Err((e, _core)) = handle.launch_worker(core) {
                // The idle protocol counts every worker: a runtime with a missing one
                // could strand work. Fail `build` with the OS error instead.
                mt.shutdown(Some(Duration::from_secs(5)));
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("failed to start a magpie worker thread: {e}"),
                ));
            }
        }
        Ok((mt, handle))
    }

    /// Shuts down: stops the workers, waits up to `timeout` for them, cancels every
    /// task (dropping its future once), and drains the queues.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let handle = &self.handle;
        handle.shutdown();
        let deadline = timeout.map(|t| Instant::now() + t);
        let all_exited = {
            let mut alive = handle.shared.alive.lock();
            loop {
                if *alive == 0 {
                    break true;
                }
                match deadline {
                    None => handle.shared.alive_cv.wait(&mut alive),
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            break false;
                        }
                        handle.shared.alive_cv.wait_timeout(&mut alive, d - now);
                    }
                }
            }
        };
        if all_exited {
            let threads = std::mem::take(&mut *handle.shared.threads.lock());
            for t in threads {
                let _ = t.join();
            }
        }
        handle.shared.owned.close_and_shutdown_all(0);
        handle.shared.drain_inject();
        if all_exited {
            handle.shared.driver.shutdown();
        }
        super::task_handle::drain_cells(handle);
    }
}

impl Handle {
    /// Starts a worker thread running `core`. On failure the core comes back.
    fn launch_worker(self: &Arc<Self>, core: Box<Core>) -> Result<(), (std::io::Error, Box<Core>)> {
        let mut builder = thread::Builder::new().name((self.config.thread_name)());
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        // The core travels through a slot so that a failed spawn can return it.
        let slot = Arc::new(Mutex::new(Some(core)));
        let thread_slot = slot.clone();
        let handle = self.clone();
        *self.shared.alive.lock() += 1;
        let res = builder.spawn(move || {
            let core = thread_slot.lock().take().expect("worker core");
            run(handle, core, true)
        });
        match res {
            Ok(t) => {
                self.shared.threads.lock().push(t);
                Ok(())
            }
            Err(e) => {
                *self.shared.alive.lock() -= 1;
                self.shared.alive_cv.notify_all();
                let core = slot
                    .lock()
                    .take()
                    .expect("core of a thread that never started");
                Err((e, core))
            }
        }
    }

    /// Runs the worker loop for `core` on a blocking-pool thread (`block_in_place`).
    fn hand_off_core(self: &Arc<Self>, core: Box<Core>) {
        // Counted alive from now: shutdown waits for the core to come back to a
        // thread and leave, or for the pool to drop it unrun (`HandOff::drop`).
        *self.shared.alive.lock() += 1;
        let hand_off = HandOff {
            handle: self.clone(),
            core: Some(core),
        };
        drop(self.blocking.spawn_blocking(move || {
            let mut hand_off = hand_off;
            let core = hand_off.core.take().expect("core handed off");
            run(hand_off.handle.clone(), core, false);
        }));
    }

    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        id: Id,
        meta: crate::task::SpawnMeta,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let local = self.local_context();
        // The spawning worker's shard of the owned list (see task/list.rs); from
        // outside the workers, spread by id.
        let owned = &self.shared.owned;
        let shard = owned.shard_index(
            local
                .and_then(Context::core_index)
                .unwrap_or(id.as_u64() as usize),
        );
        let scheduler = TaskHandle::new(self);
        let (join, notified) = owned.bind(future, scheduler, id, meta.clone(), shard);
        if let Some(obs) = self.obs.active() {
            obs.on_spawn(&TaskMeta::new(id, meta.location, meta.name.clone()));
        }
        if let Some(notified) = notified {
            // A new task goes to the back of the local queue, not the LIFO slot: the
            // spawner usually has more to do before the child needs to run.
            self.schedule_in(local, notified, Kind::Spawn);
        }
        join
    }

    /// The context of this runtime's worker running on this thread, if any.
    fn local_context(&self) -> Option<&Context> {
        if let SchedulerContext::MultiThread(ptr) = context::scheduler() {
            // SAFETY: the pointer is set by `run` for the lifetime of the worker's
            // `Context`, on this thread only, and cleared before it is dropped; the
            // reference does not leave the caller's stack frame (the caller runs on
            // this thread, inside that lifetime).
            let cx = unsafe { &*ptr };
            if std::ptr::eq(Arc::as_ptr(&cx.handle), self) {
                return Some(cx);
            }
        }
        None
    }

    pub(super) fn schedule_task(&self, task: Notified, kind: Kind) {
        self.schedule_in(self.local_context(), task, kind);
    }

    /// Queues `task` on the worker whose context is `local` (this thread's, see
    /// `local_context`), or through the global queue.
    fn schedule_in(&self, local: Option<&Context>, task: Notified, kind: Kind) {
        if let Some(cx) = local {
            if let Ok(mut guard) = cx.core.try_borrow_mut() {
                if let Some(core) = guard.as_mut() {
                    self.schedule_local(core, task, kind);
                    return;
                }
            }
        }
        self.push_remote(task);
    }

    fn schedule_local(&self, core: &mut Core, task: Notified, kind: Kind) {
        let notify = match kind {
            Kind::Yield => {
                core.deferred.push_back(task);
                false
            }
            Kind::Spawn => {
                core.run_queue.push(task);
                true
            }
            Kind::Wake if self.config.disable_lifo_slot => {
                core.run_queue.push(task);
                true
            }
            Kind::Wake => match core.lifo.replace(task) {
                // A displaced task is worth another worker's attention only when it
                // is not alone in the queue: a strict hand-off chain (A wakes B wakes
                // C) keeps one worker busy, and waking a sleeper for it just costs a
                // futex round trip.
                Some(prev) => {
                    core.run_queue.push(prev);
                    core.run_queue.len() > 1
                }
                None => false,
            },
        };
        // A searching worker wakes another itself once it finds work.
        if notify && !core.is_searching {
            self.notify_parked();
        }
    }

    fn push_remote(&self, task: Notified) {
        if self.shared.shutdown.load(Ordering::SeqCst) {
            // The task will be cancelled by the owned-list shutdown; drop this ref.
            drop(task);
            return;
        }
        self.shared.inject.push(task);
        // Pairs with the fence in `shutdown`: either we see the flag and drain, or the
        // shutdown's final drain sees our push. Nothing is left in the queue.
        fence(Ordering::SeqCst);
        if self.shared.shutdown.load(Ordering::Relaxed) {
            self.shared.drain_inject();
            return;
        }
        self.notify_parked();
    }

    fn notify_parked(&self) {
        if let Some(index) = self.shared.idle.worker_to_notify() {
            self.shared.remotes[index].unparker.unpark();
        }
    }

    pub(crate) fn shutdown(&self) {
        if self.shared.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        fence(Ordering::SeqCst);
        // Unpark everyone; the sleeper list is left alone. A worker back from park
        // checks the flag first; one that missed it and found local work takes itself
        // off the list, and must not mistake a removal by shutdown for a notifier's
        // (which counts it as a searcher: it would later decrement a count it never
        // had). loom: rt_multi_thread.rs.
        for remote in self.shared.remotes.iter() {
            remote.unparker.unpark();
        }
    }

    /// Worker-thread join handles kept until shutdown (in-crate tests).
    #[cfg(test)]
    pub(super) fn num_worker_handles(&self) -> usize {
        self.shared.threads.lock().len()
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.shared.remotes.len()
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    pub(crate) fn global_queue_depth(&self) -> usize {
        self.shared.inject.len()
    }

    pub(crate) fn worker_local_queue_depth(&self, i: usize) -> usize {
        self.shared.remotes[i].stealer.len()
    }
}

impl Shared {
    fn drain_inject(&self) {
        loop {
            match self.inject.steal() {
                Steal::Success(task) => drop(task),
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
    }

    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}

/// A core on its way to a blocking-pool thread. Dropped unrun (the pool shut down
/// first), it gives up the core's `alive` count so shutdown does not wait for it.
struct HandOff {
    handle: Arc<Handle>,
    core: Option<Box<Core>>,
}

impl Drop for HandOff {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            drop(core);
            *self.handle.shared.alive.lock() -= 1;
            self.handle.shared.alive_cv.notify_all();
        }
    }
}

/// The worker loop of `core` on this thread until shutdown (or until `block_in_place`
/// hands the core on). `own_thread`: this is a worker thread of its own (it runs the
/// thread start/stop hooks); false on a blocking-pool thread, which runs them itself.
fn run(handle: Arc<Handle>, core: Box<Core>, own_thread: bool) {
    struct Exit<'a>(&'a Handle, bool);
    impl Drop for Exit<'_> {
        fn drop(&mut self) {
            if self.1 {
                crate::obs::run_hook("on_thread_stop", self.0.config.before_stop.as_deref());
            }
            *self.0.shared.alive.lock() -= 1;
            self.0.shared.alive_cv.notify_all();
        }
    }
    let _exit = Exit(&handle, own_thread);
    if let Some(cores) = &handle.config.pin {
        let cpu = if cores.is_empty() {
            core.index
        } else {
            cores[core.index % cores.len()]
        };
        crate::obs::pin_current_thread(cpu, &handle.obs);
    }
    handle.obs.worker(core.index).started();
    if own_thread {
        crate::obs::run_hook("on_thread_start", handle.config.after_start.as_deref());
    }
    let sched = crate::scheduler::Handle::MultiThread(handle.clone());
    let _enter = context::enter_runtime(&sched, true);
    let cx = Context {
        handle: handle.clone(),
        core: RefCell::new(Some(core)),
    };
    context::set_scheduler(SchedulerContext::MultiThread(&cx));
    cx.run();
    // `_enter` restores the scheduler context before `cx` goes away.
}

enum Step {
    Run(Notified),
    Park,
}

impl Context {
    /// `block_in_place`: gives this thread's core (if it still has one) to a
    /// blocking-pool thread.
    pub(super) fn hand_off_core(&self) {
        let core = self.core.borrow_mut().take();
        if let Some(core) = core {
            self.handle.hand_off_core(core);
        }
    }

    /// The index of the worker core this thread holds (None after `block_in_place`
    /// gave it away).
    pub(crate) fn core_index(&self) -> Option<usize> {
        self.core.try_borrow().ok()?.as_ref().map(|c| c.index)
    }

    fn run(&self) {
        let shared = &self.handle.shared;
        let event_interval = self.handle.config.event_interval.max(1);
        let global_interval = self.handle.config.global_queue_interval.max(1);
        loop {
            let maintenance = {
                let mut guard = self.core.borrow_mut();
                let Some(core) = guard.as_mut() else {
                    // `block_in_place` handed the core to another thread: this thread
                    // is no longer a worker.
                    return;
                };
                core.tick = core.tick.wrapping_add(1);
                core.tick % event_interval == 0
            };
            if maintenance {
                if shared.is_shutdown() {
                    break;
                }
                // Not under the core borrow: wakes fired by the driver schedule locally.
                shared.driver.poll_now();
                self.release_deferred();
            }
            let step = {
                let mut guard = self.core.borrow_mut();
                let core = guard.as_mut().expect("core present");
                let m = self.handle.obs.worker(core.index);
                if let Some(task) = core.next_task(shared, global_interval, m) {
                    Step::Run(task)
                } else if let Some(task) = core.steal_work(shared, m) {
                    Step::Run(task)
                } else {
                    Step::Park
                }
            };
            match step {
                Step::Run(task) => self.run_task(task),
                Step::Park => {
                    if !self.park() {
                        break;
                    }
                }
            }
        }
        self.pre_shutdown();
    }

    fn run_task(&self, task: Notified) {
        {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut().expect("core present");
            bump(&self.handle.obs.worker(core.index).polls, 1);
            if core.is_searching {
                core.is_searching = false;
                if self.handle.shared.idle.transition_worker_from_searching() {
                    // We were the last searcher: wake another worker to keep looking, so
                    // that work queued behind this task is not stranded.
                    self.handle.notify_parked();
                }
            }
        }
        coop::budget(|| task.run());
    }

    /// Parks until woken. Returns false when the runtime is shutting down.
    ///
    /// The core stays in the context while the thread is parked (only its parker is
    /// taken out), so wakes fired by the driver on this thread (socket readiness,
    /// timers) are scheduled into this worker's LIFO slot and local queue, and this
    /// worker runs them when `park` returns: no hand-off through the global queue to
    /// another thread (tokio parks the same way). A worker that comes back with local
    /// work takes itself off the sleeper list; it is a searcher only if a notifier
    /// took it off first (`worker_to_notify` counts the worker it picks as searching).
    fn park(&self) -> bool {
        let shared = &self.handle.shared;
        let (index, mut park) = {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut().expect("core present");
            if core.has_tasks() {
                return true;
            }
            if shared.is_shutdown() {
                return false;
            }
            let last_searcher = shared
                .idle
                .transition_worker_to_parked(core.index, core.is_searching);
            core.is_searching = false;
            if last_searcher && shared.work_pending() {
                self.handle.notify_parked();
            }
            (core.index, core.park.take().expect("parker present"))
        };
        let m = self.handle.obs.worker(index);
        self.handle.obs.before_park();
        m.parking();
        let keep_running = loop {
            // A park hook (or whatever ran since the check above) may have scheduled a
            // task on this worker, which unparks nothing: look before blocking.
            let has_tasks = self.core.borrow().as_ref().is_some_and(|c| c.has_tasks());
            if !has_tasks {
                // Not under the core borrow: the driver's wakes borrow it.
                park.park();
            }
            if shared.is_shutdown() {
                break false;
            }
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut().expect("core present");
            if core.has_tasks() {
                core.is_searching = !shared.idle.unpark_worker_by_id(index);
                // More than the one task this worker runs next: let a sleeper help.
                if !core.is_searching && !core.run_queue.is_empty() {
                    self.handle.notify_parked();
                }
                break true;
            }
            if !shared.idle.is_parked(index) {
                // Woken by `notify_parked`, which counted us as a searcher.
                core.is_searching = true;
                break true;
            }
        };
        m.unparked();
        self.handle.obs.after_unpark();
        self.core.borrow_mut().as_mut().expect("core present").park = Some(park);
        keep_running
    }

    /// Maintenance: the tasks that yielded since the last tick join the run queue, so
    /// they wait at most one maintenance interval whatever the other tasks do (two
    /// tasks waking each other through the LIFO slot and local queue never leave the
    /// queues empty), and other workers can steal them. A sleeper is woken to help.
    fn release_deferred(&self) {
        let notify = {
            let mut guard = self.core.borrow_mut();
            let Some(core) = guard.as_mut() else { return };
            core.move_deferred_to_run_queue() > 0 && !core.is_searching
        };
        if notify {
            self.handle.notify_parked();
        }
    }

    fn pre_shutdown(&self) {
        let shared = &self.handle.shared;
        // Take the core out first: wakes fired while futures drop below go to the
        // global queue, which drops them during shutdown.
        let core = self.core.borrow_mut().take();
        if let Some(mut core) = core {
            if core.is_searching {
                core.is_searching = false;
                shared.idle.transition_worker_from_searching();
            }
            drop(core.lifo.take());
            core.deferred.clear();
            while let Some(task) = core.run_queue.pop() {
                drop(task);
            }
            shared.owned.close_and_shutdown_all(core.index);
        }
        shared.drain_inject();
    }
}

impl Shared {
    /// Whether any queue holds a task (the last searcher's final look).
    fn work_pending(&self) -> bool {
        !self.inject.is_empty() || self.remotes.iter().any(|r| !r.stealer.is_empty())
    }
}
