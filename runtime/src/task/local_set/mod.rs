//! Local (`!Send`) tasks: [`LocalSet`] and [`spawn_local`].
//!
//! A `LocalSet` is one more scheduler for the shared task code (`shared.rs` is its
//! `Schedule`): its tasks are ordinary task cells that it polls on its own thread,
//! inside [`LocalSet::run_until`] or while it is awaited. Wakers of local tasks may be
//! sent to and fired from any thread: a wake from elsewhere goes to the set's remote
//! queue and wakes whoever polls the set. See `docs/architecture.md` ("Local tasks").

mod shared;
#[cfg(test)]
mod tests;

use self::shared::MAX_TASKS_PER_TICK;
pub(crate) use self::shared::Shared;
use crate::context;
use crate::loom::sync::atomic::Ordering;
use crate::obs::{TaskMeta, UnhandledPanic};
use crate::runtime::Runtime;
use crate::task::{Id, JoinHandle, Schedule};
use magpie_base::coop;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A set of tasks that all run on the thread that owns the set, so their futures need
/// not be `Send` (asyncio's event loop, whose tasks share one thread's state).
///
/// Tasks are added with [`spawn_local`](LocalSet::spawn_local) (or the free
/// [`spawn_local`] from inside the set) and run while the set is driven: by
/// [`run_until`](LocalSet::run_until), [`block_on`](LocalSet::block_on), or by
/// awaiting the set itself (which completes when every task has). It works on either
/// runtime flavour; the runtime's other tasks keep running on their own threads.
///
/// A local task's waker may be fired from any thread. Dropping the set cancels every
/// task it still owns, dropping each future exactly once, on this thread.
///
/// ```
/// use magpie_runtime::task::{self, LocalSet};
/// use std::rc::Rc;
///
/// let rt = magpie_runtime::runtime::Builder::new_multi_thread().build().unwrap();
/// let local = LocalSet::new();
/// let shared = Rc::new(41); // not Send
/// let out = local.block_on(&rt, async move {
///     let s = shared.clone();
///     task::spawn_local(async move { *s + 1 }).await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
pub struct LocalSet {
    shared: Arc<Shared>,
    /// `!Send` and `!Sync`: the set, and the futures it polls, stay on this thread.
    _not_send: PhantomData<*const ()>,
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            shared: Arc::new(Shared::new()),
            _not_send: PhantomData,
        }
    }

    /// What a panic in one of the set's tasks does (the runtime's
    /// [`UnhandledPanic`]). With `ShutdownRuntime`, the set's `run_until` (or the set
    /// awaited as a future) panics after cancelling every task, and so does every later
    /// one. The default is `Ignore`: the panic is kept in the task's `JoinHandle`.
    ///
    /// ```should_panic
    /// use magpie_runtime::runtime::UnhandledPanic;
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread().build().unwrap();
    /// let mut local = magpie_runtime::task::LocalSet::new();
    /// local.unhandled_panic(UnhandledPanic::ShutdownRuntime);
    /// local.block_on(&rt, async {
    ///     magpie_runtime::task::spawn_local(async { panic!("boom") });
    ///     std::future::pending::<()>().await;
    /// }); // panics
    /// ```
    pub fn unhandled_panic(&mut self, behavior: UnhandledPanic) -> &mut LocalSet {
        let shutdown = behavior == UnhandledPanic::ShutdownRuntime;
        self.shared
            .shutdown_on_panic
            .store(shutdown, Ordering::Relaxed);
        self
    }

    /// Spawns a `!Send` task on this set. It runs when the set is next driven.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_on(&self.shared, future, Location::caller())
    }

    /// Runs `future` on this thread, running the set's tasks alongside it, until
    /// `future` completes. Inside it, [`spawn_local`] spawns onto this set. Must be
    /// driven inside a runtime (`Runtime::block_on`, or awaited from a task of a
    /// local runtime) for timers and I/O to work.
    ///
    /// ```
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread().build().unwrap();
    /// let local = magpie_runtime::task::LocalSet::new();
    /// let v = rt.block_on(local.run_until(async {
    ///     magpie_runtime::task::spawn_local(async { 7 }).await.unwrap()
    /// }));
    /// assert_eq!(v, 7);
    /// ```
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil { set: self, future }
    }

    /// `rt.block_on(self.run_until(future))`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Enters the set on this thread until the guard drops: [`spawn_local`] spawns onto
    /// it (the tasks run when the set is next driven).
    ///
    /// ```
    /// let local = magpie_runtime::task::LocalSet::new();
    /// let handle = {
    ///     let _guard = local.enter();
    ///     magpie_runtime::task::spawn_local(async { 1 })
    /// };
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(local.block_on(&rt, handle).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> LocalEnterGuard<'_> {
        LocalEnterGuard {
            _guard: shared::enter(&self.shared, true),
            _set: PhantomData,
        }
    }

    /// Runs queued tasks, registering `cx`'s waker for wakes from elsewhere. Returns
    /// true when tasks are left over (the caller wakes itself to come back).
    fn tick(&self, cx: &Context<'_>) -> bool {
        let shared = &self.shared;
        /// Clears `ticking` when the tick ends, also by a panic.
        struct Ticking<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Ticking<'_> {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if shared
            .ticking
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            panic!(
                "a LocalSet was driven (`run_until`, `block_on`, or awaited) from inside one \
                 of its own tasks; spawn the work with `spawn_local` and await its handle \
                 instead"
            );
        }
        let _ticking = Ticking(&shared.ticking);
        shared.register_and_drain(cx.waker());
        for _ in 0..MAX_TASKS_PER_TICK {
            let Some(task) = shared.pop_local() else {
                self.check_panicked();
                return false;
            };
            coop::budget(|| task.run());
            self.check_panicked();
        }
        !shared.local_is_empty()
    }

    /// `UnhandledPanic::ShutdownRuntime`: after a task panicked, cancel every task and
    /// fail the poller.
    fn check_panicked(&self) {
        if self.shared.panicked.load(Ordering::Relaxed) {
            self.shared.owned.close_and_shutdown_all(0);
            panic!(
                "a task of this LocalSet panicked and the set was shut down \
                 (UnhandledPanic::ShutdownRuntime); the task's panic message was printed \
                 above"
            );
        }
    }

    /// Drives the set from a poll: enters it, remembers the runtime, polls `before`
    /// (`run_until`'s future) inside it, then runs a tick. `Pending` also when the tick
    /// left tasks over (it woke the poller to come back).
    fn poll_inside<R>(
        &self,
        cx: &mut Context<'_>,
        before: impl FnOnce(&mut Context<'_>) -> Poll<R>,
    ) -> Poll<Option<R>> {
        shared::remember_runtime(&self.shared);
        let _enter = shared::enter(&self.shared, false);
        self.check_panicked();
        if let Poll::Ready(out) = before(cx) {
            return Poll::Ready(Some(out));
        }
        if self.tick(cx) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(None)
    }

    /// Ties the set to `rt` (a local runtime's): its observer and shutdown context.
    pub(crate) fn set_runtime(&self, rt: &crate::scheduler::Handle) {
        let _ = self.shared.rt.set(rt.clone());
    }

    /// The number of tasks the set owns that have not finished.
    pub(crate) fn num_tasks(&self) -> usize {
        self.shared.owned.len()
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.num_tasks())
            .finish_non_exhaustive()
    }
}

/// Awaiting a `LocalSet` runs its tasks until every one has finished.
///
/// ```
/// let local = magpie_runtime::task::LocalSet::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// local.spawn_local(async move { tx.send(1).unwrap() });
/// let rt = magpie_runtime::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(local);
/// assert_eq!(rx.recv().unwrap(), 1);
/// ```
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &*self;
        if this.poll_inside(cx, |_| Poll::<()>::Pending).is_pending() {
            return Poll::Pending;
        }
        // The tick ran everything queued; the set is done when no task is left.
        if this.num_tasks() == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Task futures dropped here may use the runtime (cancel a timer, deregister a
        // socket): enter the one the set ran in.
        let _rt = self.shared.rt.get().map(context::set_current);
        let _enter = shared::enter(&self.shared, false);
        // Each task is cancelled once, its future dropped here (this is the set's
        // thread). Spawns from a future's Drop see the closed list and are cancelled
        // at once.
        self.shared.owned.close_and_shutdown_all(0);
        self.shared.close_queues();
        debug_assert_eq!(self.shared.owned.len(), 0);
    }
}

/// Future returned by [`LocalSet::run_until`].
#[must_use = "futures do nothing unless polled"]
pub struct RunUntil<'a, F> {
    set: &'a LocalSet,
    future: F,
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`,
        // and `RunUntil` has no `Drop` that could move it.
        let this = unsafe { self.get_unchecked_mut() };
        let set = this.set;
        // SAFETY: as above.
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        match set.poll_inside(cx, |cx| coop::budget(|| future.as_mut().poll(cx))) {
            Poll::Ready(Some(out)) => Poll::Ready(out),
            _ => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntil").finish_non_exhaustive()
    }
}

/// Guard returned by [`LocalSet::enter`]: the set stays entered on this thread until it
/// drops.
#[must_use = "the set is entered only while the guard lives"]
pub struct LocalEnterGuard<'a> {
    _guard: shared::EnterGuard,
    _set: PhantomData<&'a LocalSet>,
}

impl fmt::Debug for LocalEnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}

/// Spawns a `!Send` task onto the [`LocalSet`] (or local runtime) driving this thread;
/// it runs on this thread only (tokio's `task::spawn_local`).
///
/// # Panics
/// Outside a `LocalSet` (`run_until`, `block_on`, the set awaited, `enter`) or a local
/// runtime: a `!Send` task has no thread of its own to run on.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let rt = magpie_runtime::runtime::Builder::new_current_thread().build_local().unwrap();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// rt.block_on(async move {
///     magpie_runtime::task::spawn_local(async move { l.borrow_mut().push(1) }).await.unwrap();
/// });
/// assert_eq!(*log.borrow(), [1]);
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    match shared::current() {
        Some(shared) => spawn_on(&shared, future, location),
        None => panic!(
            "`spawn_local` called outside of a `LocalSet` or a local runtime: a `!Send` task \
             must run on the thread that drives its set. Spawn it inside \
             `LocalSet::run_until` (or `LocalSet::block_on`, or while awaiting the set), \
             or run your code on a local runtime (`Builder::build_local`, \
             `#[magpie::main(flavor = \"local\")]`)"
        ),
    }
}

fn spawn_on<F>(
    shared: &Arc<Shared>,
    future: F,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let id = Id::next();
    let meta = crate::task::SpawnMeta {
        location,
        name: None,
    };
    // SAFETY: `shared` is the scheduler of a `LocalSet` on this thread (the caller
    // holds `&LocalSet`, or `CURRENT` named it, which only happens on its thread): it
    // polls and shuts down its tasks on this thread only.
    let (join, notified) = unsafe { shared.owned.bind_local(future, shared.clone(), id, meta, 0) };
    if let Some(obs) = shared.observer() {
        obs.on_spawn(&TaskMeta::new(id, location, None));
    }
    if let Some(notified) = notified {
        shared.schedule(notified);
    }
    join
}
