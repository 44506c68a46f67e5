//! Per-thread runtime context: the current runtime handle (for `spawn`), whether this
//! thread is driving a runtime (to refuse a nested `block_on`), the id of the task
//! being polled, and the scheduler context of a worker thread (for local scheduling).

use crate::runtime::TryCurrentError;
use crate::scheduler;
use crate::task::Id;
use std::cell::{Cell, RefCell};

#[cfg(not(loom))]
thread_local! {
    static CONTEXT: Context = const { Context::new() };
}

// loom runs its model threads as coroutines on one OS thread: a std thread-local would
// be shared by all of them.
#[cfg(loom)]
loom::thread_local! {
    static CONTEXT: Context = Context::new();
}

impl Context {
    const fn new() -> Context {
        Context {
            handle: RefCell::new(None),
            runtime: Cell::new(EnterRuntime::NotEntered),
            task_id: Cell::new(None),
            scheduler: Cell::new(SchedulerContext::None),
        }
    }
}

struct Context {
    handle: RefCell<Option<scheduler::Handle>>,
    runtime: Cell<EnterRuntime>,
    task_id: Cell<Option<Id>>,
    scheduler: Cell<SchedulerContext>,
}

/// Whether this thread is driving a runtime, and whether it may block in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnterRuntime {
    NotEntered,
    Entered { allow_block_in_place: bool },
}

/// A pointer to the scheduler state of the runtime thread this is, if any. Set for the
/// duration of a worker's run loop or a current-thread `block_on`.
#[derive(Clone, Copy)]
pub(crate) enum SchedulerContext {
    None,
    MultiThread(*const scheduler::multi_thread::worker::Context),
    CurrentThread(*const scheduler::current_thread::Context),
}

pub(crate) fn current_task_id() -> Option<Id> {
    CONTEXT.try_with(|c| c.task_id.get()).ok().flatten()
}

/// Restores the previous task id on drop.
pub(crate) struct TaskIdGuard(Option<Id>);

pub(crate) fn set_current_task_id(id: Option<Id>) -> TaskIdGuard {
    TaskIdGuard(CONTEXT.try_with(|c| c.task_id.replace(id)).ok().flatten())
}

impl Drop for TaskIdGuard {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = CONTEXT.try_with(|c| c.task_id.set(prev));
    }
}

/// Runs `f` with the current runtime handle.
pub(crate) fn with_current<R>(
    f: impl FnOnce(&scheduler::Handle) -> R,
) -> Result<R, TryCurrentError> {
    match CONTEXT.try_with(|c| c.handle.borrow().as_ref().map(f)) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(TryCurrentError::new_no_context()),
        Err(_) => Err(TryCurrentError::new_thread_local_destroyed()),
    }
}

/// Restores the previous current handle on drop.
pub(crate) struct SetCurrentGuard {
    prev: Option<scheduler::Handle>,
    // Dropped after the handle is restored (field order): the drivers' own current
    // handles (time, I/O) for the same span.
    _drivers: crate::driver::DriverEnterGuard,
}

pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let prev = CONTEXT
        .try_with(|c| c.handle.borrow_mut().replace(handle.clone()))
        .ok()
        .flatten();
    SetCurrentGuard {
        prev,
        _drivers: handle.driver_handle().enter(),
    }
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|c| *c.handle.borrow_mut() = prev);
    }
}

pub(crate) fn runtime_state() -> EnterRuntime {
    CONTEXT
        .try_with(|c| c.runtime.get())
        .unwrap_or(EnterRuntime::NotEntered)
}

/// Marks this thread as driving a runtime; panics if it already is.
pub(crate) struct EnterRuntimeGuard {
    _handle: SetCurrentGuard,
    prev_scheduler: SchedulerContext,
    // Tells the crates below the runtime (magpie-sync's `blocking_*`) that this
    // thread drives a runtime.
    _in_runtime: magpie_base::context::InRuntimeGuard,
}

const NESTED_RUNTIME_MSG: &str = "Cannot start a runtime from within a runtime: \
this thread is already driving asynchronous tasks, and blocking it (with `block_on`, \
`magpie::run` or by dropping a runtime) would stall them. Use `.await` instead; \
to run blocking code from async code use `magpie::task::spawn_blocking` or \
`magpie::task::block_in_place`; to run another runtime, start it on its own thread.";

#[track_caller]
pub(crate) fn enter_runtime(
    handle: &scheduler::Handle,
    allow_block_in_place: bool,
) -> EnterRuntimeGuard {
    let ok = CONTEXT.with(|c| {
        if let EnterRuntime::Entered { .. } = c.runtime.get() {
            return false;
        }
        c.runtime.set(EnterRuntime::Entered {
            allow_block_in_place,
        });
        true
    });
    if !ok {
        panic!("{NESTED_RUNTIME_MSG}");
    }
    EnterRuntimeGuard {
        _handle: set_current(handle),
        prev_scheduler: CONTEXT.with(|c| c.scheduler.get()),
        _in_runtime: magpie_base::context::set_in_runtime(true),
    }
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let prev = self.prev_scheduler;
        let _ = CONTEXT.try_with(|c| {
            c.runtime.set(EnterRuntime::NotEntered);
            c.scheduler.set(prev);
        });
    }
}

/// Temporarily leaves the runtime (for `block_in_place`): restores on drop.
pub(crate) struct ExitRuntimeGuard {
    prev: EnterRuntime,
    // Unmarks the thread for magpie-base's `in_runtime` while blocking in place.
    _in_runtime: magpie_base::context::InRuntimeGuard,
}

pub(crate) fn exit_runtime() -> ExitRuntimeGuard {
    ExitRuntimeGuard {
        prev: CONTEXT.with(|c| c.runtime.replace(EnterRuntime::NotEntered)),
        _in_runtime: magpie_base::context::set_in_runtime(false),
    }
}

impl Drop for ExitRuntimeGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CONTEXT.try_with(|c| c.runtime.set(prev));
    }
}

pub(crate) fn set_scheduler(cx: SchedulerContext) -> SchedulerContext {
    CONTEXT.with(|c| c.scheduler.replace(cx))
}

pub(crate) fn scheduler() -> SchedulerContext {
    CONTEXT
        .try_with(|c| c.scheduler.get())
        .unwrap_or(SchedulerContext::None)
}

/// The worker index of this thread (see `task::worker_index`).
pub(crate) fn worker_index() -> Option<usize> {
    match scheduler() {
        // SAFETY: set by the worker's `run` for the lifetime of its `Context`, on this
        // thread only.
        SchedulerContext::MultiThread(ptr) => unsafe { &*ptr }.core_index(),
        SchedulerContext::CurrentThread(_) => Some(0),
        SchedulerContext::None => None,
    }
}
