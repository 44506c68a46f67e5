//! The current-thread scheduler: asyncio's single event loop. One thread (the one in
//! `block_on`) runs every task; the task code and drivers are shared with the
//! multi-thread scheduler.
//!
//! The thread alternates between polling the `block_on` future (when its waker fired),
//! running queued tasks (local queue, with the cross-thread queue checked every
//! `global_queue_interval` ticks), and parking on the driver when there is nothing to
//! do. Every `event_interval` tasks it polls the driver without blocking, so I/O and
//! timers progress under load.

use crate::blocking;
use crate::context::{self, SchedulerContext};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::obs::{Observer, TaskMeta};
use crate::scheduler::park::{DriverSlot, Parker, Unparker};
use crate::task::list::OwnedTasks;
use crate::task::{self, Id, JoinHandle, Schedule, Task};
use magpie_base::coop;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

type Notified = task::Notified<Arc<Handle>>;

pub(crate) struct Config {
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
}

pub(crate) struct Handle {
    /// The scheduler core; taken by the thread in `block_on`.
    core: Mutex<Option<Box<Core>>>,
    shared: Shared,
    pub(crate) driver_handle: crate::driver::DriverHandle,
    pub(crate) blocking: blocking::Spawner,
    config: Config,
    pub(crate) obs: Observer,
}

struct Shared {
    inject: Mutex<Inject>,
    pub(crate) owned: OwnedTasks<Arc<Handle>>,
    /// The `block_on` future's waker fired.
    woken: AtomicBool,
    shutdown: AtomicBool,
    unparker: Unparker,
    driver: Arc<DriverSlot>,
    /// Threads waiting in `block_on` for the core to come back.
    /// Keyed by the parker's address (`Waker::data`): one entry per thread.
    core_waiters: Mutex<Vec<(usize, Waker)>>,
}

struct Inject {
    queue: VecDeque<Notified>,
    closed: bool,
}

struct Core {
    tasks: VecDeque<Notified>,
    tick: u32,
    park: Option<Parker>,
}

/// The thread-local context of the thread driving the scheduler.
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

pub(crate) struct CurrentThread {
    handle: Arc<Handle>,
}

impl CurrentThread {
    pub(crate) fn new(
        driver: Option<Box<dyn magpie_base::park::Park>>,
        driver_handle: crate::driver::DriverHandle,
        blocking: blocking::Spawner,
        config: Config,
        obs: Observer,
    ) -> (CurrentThread, Arc<Handle>) {
        let driver = Arc::new(DriverSlot::new(driver));
        let park = Parker::new(driver.clone());
        let unparker = park.unparker();
        let core = Box::new(Core {
            tasks: VecDeque::with_capacity(64),
            tick: 0,
            park: Some(park),
        });
        let handle = Arc::new(Handle {
            core: Mutex::new(Some(core)),
            shared: Shared {
                inject: Mutex::new(Inject {
                    queue: VecDeque::new(),
                    closed: false,
                }),
                owned: OwnedTasks::new(1),
                woken: AtomicBool::new(false),
                shutdown: AtomicBool::new(false),
                unparker,
                driver,
                core_waiters: Mutex::new(Vec::new()),
            },
            driver_handle,
            blocking,
            config,
            obs,
        });
        (
            CurrentThread {
                handle: handle.clone(),
            },
            handle,
        )
    }

    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on(&self.handle, future)
    }

    pub(crate) fn shutdown(&self) {
        let handle = &self.handle;
        handle.shared.shutdown.store(true, Ordering::SeqCst);
        // Cancel every task (dropping each future once), then drop the queued refs.
        handle.shared.owned.close_and_shutdown_all(0);
        let core = handle.core.lock().take();
        if let Some(mut core) = core {
            while let Some(task) = core.tasks.pop_front() {
                drop(task);
            }
        }
        handle.shared.close_inject();
        handle.shared.driver.shutdown();
        for (_, w) in std::mem::take(&mut *handle.shared.core_waiters.lock()) {
            w.wake();
        }
    }
}

/// Drives `future` on `handle`'s scheduler, on this thread.
#[track_caller]
pub(crate) fn block_on<F: Future>(handle: &Arc<Handle>, future: F) -> F::Output {
    let sched = crate::scheduler::Handle::CurrentThread(handle.clone());
    let _enter = context::enter_runtime(&sched, false);
    if handle.obs.has_panicked() {
        panic!("{}", crate::obs::SHUTDOWN_PANIC_MSG);
    }
    let mut future = std::pin::pin!(future);
    let slot = &handle.core;
    loop {
        let core = slot.lock().take();
        if let Some(core) = core {
            // The guard returns the core to the slot also when the future panics, so
            // the runtime stays usable.
            let guard = CoreGuard {
                handle,
                cx: Context {
                    handle: handle.clone(),
                    core: RefCell::new(Some(core)),
                },
            };
            return run_with_core(&guard.cx, future.as_mut());
        }
        if handle.shared.shutdown.load(Ordering::Acquire) {
            panic!("this current-thread magpie runtime has been shut down");
        }
        // Another thread is driving the scheduler: poll our future from here, and wait
        // for either its waker or the core to come back.
        let waker = crate::scheduler::park::park_thread_waker();
        handle.shared.register_core_waiter(&waker);
        let mut cx = std::task::Context::from_waker(&waker);
        if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut cx)) {
            return out;
        }
        if slot.lock().is_none() {
            crate::scheduler::park::CachedParkThread.park(None);
        }
    }
}

struct CoreGuard<'a> {
    handle: &'a Arc<Handle>,
    cx: Context,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.cx.core.borrow_mut().take() {
            *self.handle.core.lock() = Some(core);
        }
        for (_, w) in std::mem::take(&mut *self.handle.shared.core_waiters.lock()) {
            w.wake();
        }
    }
}

fn run_with_core<F: Future>(cx: &Context, mut future: std::pin::Pin<&mut F>) -> F::Output {
    let handle = &cx.handle;
    let prev = context::set_scheduler(SchedulerContext::CurrentThread(cx));
    struct Restore(SchedulerContext);
    impl Drop for Restore {
        fn drop(&mut self) {
            context::set_scheduler(self.0);
        }
    }
    let restore = Restore(prev);

    let waker = Waker::from(handle.clone());
    let mut task_cx = std::task::Context::from_waker(&waker);
    let event_interval = handle.config.event_interval.max(1);
    let global_interval = handle.config.global_queue_interval.max(1);
    handle.shared.woken.store(true, Ordering::Relaxed);
    let metrics = handle.obs.worker(0);
    metrics.started();

    // Future polls and tasks run since the driver last ran.
    let mut since_driver: u32 = 0;
    let out = 'outer: loop {
        if handle.shared.woken.swap(false, Ordering::AcqRel) {
            if handle.obs.has_panicked() {
                // UnhandledPanic::ShutdownRuntime: a task panicked. Cancel every task
                // and fail the `block_on`.
                handle.shared.shutdown.store(true, Ordering::SeqCst);
                handle.shared.owned.close_and_shutdown_all(0);
                panic!("{}", crate::obs::SHUTDOWN_PANIC_MSG);
            }
            if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut task_cx)) {
                break 'outer out;
            }
        }
        // Run up to `event_interval` tasks, going back to the future early when its
        // waker fired. The driver runs (a poll that does not block) whenever the loop
        // would otherwise go round with no task run and without blocking (the future
        // keeps waking itself: a `yield_now` loop), and at least every
        // `event_interval` future polls and tasks: timers and I/O make progress
        // whatever the future and the tasks do.
        since_driver += 1;
        let mut blocked = false;
        let mut ran = false;
        for _ in 0..event_interval {
            let task = {
                let mut guard = cx.core.borrow_mut();
                let core = guard.as_mut().expect("core present");
                core.tick = core.tick.wrapping_add(1);
                core.next_task(&handle.shared, global_interval)
            };
            match task {
                Some(task) => {
                    crate::obs::bump(&metrics.polls, 1);
                    ran = true;
                    since_driver += 1;
                    coop::budget(|| task.run())
                }
                None => {
                    if !handle.shared.woken.load(Ordering::Acquire) {
                        // Parking runs the driver.
                        cx.park(None);
                        blocked = true;
                    }
                    break;
                }
            }
            if handle.shared.woken.load(Ordering::Acquire) {
                break;
            }
        }
        if blocked {
            since_driver = 0;
        } else if !ran || since_driver >= event_interval {
            since_driver = 0;
            cx.park(Some(Duration::ZERO));
        }
    };
    drop(restore);
    out
}

impl Context {
    fn park(&self, timeout: Option<Duration>) {
        // Take only the parker out: wakes fired by the driver on this thread still go
        // to the local queue.
        let park = {
            let mut guard = self.core.borrow_mut();
            let core = guard.as_mut().expect("core present");
            // Published here, at batch boundaries, for `worker_local_queue_depth`.
            self.handle.obs.worker(0).queue_depth.store(
                core.tasks.len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            core.park.take()
        };
        let Some(mut park) = park else { return };
        let m = self.handle.obs.worker(0);
        match timeout {
            Some(d) if d.is_zero() => self.handle.shared.driver.poll_now(),
            _ => {
                self.handle.obs.before_park();
                if self.has_work() {
                    // The park hook woke the future or a task from this thread, which
                    // unparks nothing (see `wake_by_ref`, `schedule`): do not block.
                    // The driver still runs, without waiting.
                    self.handle.shared.driver.poll_now();
                } else {
                    m.parking();
                    match timeout {
                        Some(d) => park.park_timeout(d),
                        None => park.park(),
                    }
                    m.unparked();
                }
                self.handle.obs.after_unpark();
            }
        }
        self.core.borrow_mut().as_mut().expect("core present").park = Some(park);
    }

    /// Whether the loop has something to do without waiting: the future was woken, or
    /// a task sits in the local queue.
    fn has_work(&self) -> bool {
        self.handle.shared.woken.load(Ordering::Acquire)
            || self
                .core
                .borrow()
                .as_ref()
                .is_some_and(|c| !c.tasks.is_empty())
    }
}

impl Core {
    fn next_task(&mut self, shared: &Shared, global_interval: u32) -> Option<Notified> {
        if self.tick % global_interval == 0 {
            if let Some(task) = shared.inject.lock().queue.pop_front() {
                return Some(task);
            }
        }
        if let Some(task) = self.tasks.pop_front() {
            return Some(task);
        }
        shared.inject.lock().queue.pop_front()
    }
}

impl Shared {
    /// Registers a thread waiting for the core, once: the loop that waits calls this
    /// on every round, and the list is emptied only when the core comes back. Keyed by
    /// the waker's data pointer (each thread has one parker, `park_thread_waker`), not
    /// by `Waker::will_wake`, which may miss equal wakers (it also compares vtable
    /// addresses).
    fn register_core_waiter(&self, waker: &Waker) {
        let me = waker.data() as usize;
        let mut waiters = self.core_waiters.lock();
        if !waiters.iter().any(|(key, _)| *key == me) {
            waiters.push((me, waker.clone()));
        }
    }

    fn close_inject(&self) {
        let drained = {
            let mut inject = self.inject.lock();
            inject.closed = true;
            std::mem::take(&mut inject.queue)
        };
        drop(drained);
    }
}

impl Handle {
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
        let (join, notified) = self
            .shared
            .owned
            .bind(future, self.clone(), id, meta.clone(), 0);
        if let Some(obs) = self.obs.active() {
            obs.on_spawn(&TaskMeta::new(id, meta.location, meta.name.clone()));
        }
        if let Some(notified) = notified {
            self.schedule(notified);
        }
        join
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    pub(crate) fn global_queue_depth(&self) -> usize {
        self.shared.inject.lock().queue.len()
    }

    pub(crate) fn owned(&self) -> &OwnedTasks<Arc<Handle>> {
        &self.shared.owned
    }
}

impl Wake for Handle {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.store(true, Ordering::Release);
        // On the thread that drives this scheduler (inside a task poll, the future's
        // own poll, or the driver's dispatch right after a park) nothing is parked, and
        // `run_with_core` reads `woken` before it parks again: the unpark (an eventfd
        // write, and an epoll_wait that returns at once) would be wasted. From any other
        // thread, unpark.
        //
        // With a paused clock the unpark stays: the time driver advances the clock
        // only when nothing unparked it during its zero-timeout poll, so a wake that
        // skips the unpark would let the clock jump past a result that just arrived.
        if !self.is_driving_thread() || self.clock_paused() {
            self.shared.unparker.unpark();
        }
    }
}

impl Handle {
    /// Whether the runtime's clock is paused (tests). One load when it never was.
    fn clock_paused(&self) -> bool {
        self.driver_handle
            .time
            .as_ref()
            .is_some_and(|t| t.clock().is_paused())
    }

    /// Whether the calling thread is running this scheduler's loop (its `Context` is
    /// the current scheduler context).
    fn is_driving_thread(self: &Arc<Self>) -> bool {
        match context::scheduler() {
            // SAFETY: set by `run_with_core` for the lifetime of its `Context`, on this
            // thread only, and restored before the context is dropped.
            SchedulerContext::CurrentThread(ptr) => Arc::ptr_eq(unsafe { &(*ptr).handle }, self),
            _ => false,
        }
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared.owned.remove(task)
    }

    #[inline(always)]
    fn observer(&self) -> Option<&Observer> {
        self.obs.active()
    }

    fn task_panicked(&self, meta: &TaskMeta, msg: &str, unretrieved: bool) {
        if self.obs.task_panicked(meta, msg, unretrieved) {
            // UnhandledPanic::ShutdownRuntime: wake `block_on`, which sees the flag,
            // cancels every task and panics.
            Wake::wake_by_ref(self);
        }
    }

    fn panic_dropped(&self, meta: &TaskMeta, msg: &str) {
        self.obs.report_unretrieved(meta, msg);
    }

    fn schedule(&self, task: Notified) {
        if let SchedulerContext::CurrentThread(ptr) = context::scheduler() {
            // SAFETY: set by `run_with_core` for the lifetime of its `Context`, on this
            // thread only, and restored before the context is dropped.
            let cx = unsafe { &*ptr };
            if Arc::ptr_eq(&cx.handle, self) {
                if let Ok(mut guard) = cx.core.try_borrow_mut() {
                    if let Some(core) = guard.as_mut() {
                        core.tasks.push_back(task);
                        drop(guard);
                        // A paused clock advances only when its zero-timeout poll
                        // woke nothing; a wake fired by that poll (an I/O event) must
                        // say so (see `wake_by_ref`).
                        if self.clock_paused() {
                            self.shared.unparker.unpark();
                        }
                        return;
                    }
                }
            }
        }
        let mut inject = self.shared.inject.lock();
        if inject.closed {
            drop(inject);
            // Shut down: the task is cancelled by the owned-list shutdown.
            drop(task);
            return;
        }
        inject.queue.push_back(task);
        drop(inject);
        self.shared.unparker.unpark();
    }
}

#[cfg(test)]
mod tests {
    use crate::runtime::Builder;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// The `block_on` future woken from its own thread (by a task it spawned) does not
    /// unpark the driver: the thread is running, and checks the flag before parking.
    /// Each such unpark was an eventfd write and an epoll_wait that returned at once.
    #[test]
    fn same_thread_wakes_of_the_block_on_future_do_not_unpark() {
        let rt = Builder::new_current_thread().build().unwrap();
        let crate::scheduler::Handle::CurrentThread(ct) = rt.handle().inner.clone() else {
            unreachable!()
        };
        let before = ct.shared.unparker.unpark_count();
        rt.block_on(async {
            for i in 0..100 {
                let (tx, rx) = magpie_sync::oneshot::channel();
                crate::spawn(async move { tx.send(i).unwrap() });
                assert_eq!(rx.await.unwrap(), i);
            }
        });
        let unparks = ct.shared.unparker.unpark_count() - before;
        assert!(unparks < 10, "{unparks} unparks for 100 same-thread wakes");
        // A wake from another thread still unparks (and the future completes).
        rt.block_on(async {
            let (tx, rx) = magpie_sync::oneshot::channel();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                tx.send(()).unwrap();
            });
            rx.await.unwrap();
        });
        assert!(ct.shared.unparker.unpark_count() > before + unparks);
    }

    /// A thread in `Handle::block_on` without the core, whose future keeps waking
    /// itself, registers as a core waiter once, not once per wake (defect 8).
    #[test]
    fn core_waiters_do_not_grow_per_wake() {
        // Time only: the I/O stack's signal pipe is not supported under miri.
        let rt = Builder::new_current_thread().enable_time().build().unwrap();
        let handle = rt.handle().clone();
        let crate::scheduler::Handle::CurrentThread(ct) = handle.inner.clone() else {
            unreachable!()
        };
        let release = Arc::new(AtomicBool::new(false));
        let r = release.clone();
        let holder = std::thread::spawn(move || {
            // Holds the core until told to stop.
            rt.block_on(async move {
                while !r.load(Ordering::SeqCst) {
                    magpie_time::sleep(Duration::from_millis(1)).await;
                }
            });
        });
        // Let the holder take the core.
        while ct.core.lock().is_some() {
            std::thread::yield_now();
        }
        let most = handle.block_on(async {
            let mut most = 0;
            for _ in 0..if cfg!(miri) { 20 } else { 1_000 } {
                crate::task::yield_now().await;
                most = most.max(ct.shared.core_waiters.lock().len());
            }
            most
        });
        release.store(true, Ordering::SeqCst);
        holder.join().unwrap();
        assert!(most <= 1, "core_waiters held {most} wakers for one thread");
    }
}
