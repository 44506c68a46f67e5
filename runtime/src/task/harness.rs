//! The generic code behind the task vtable: poll, cancel, complete, read the output,
//! drop the `JoinHandle`, shut down, free.
//!
//! # Where the cell may die
//!
//! A task's cell is freed by whoever drops its last reference, possibly on another
//! thread. So the functions here take the cell as a raw pointer (`NonNull<Header>`)
//! wherever the cell may be freed before they return, and derive short-lived
//! references from it; a reference to the cell is never a function argument across a
//! point where it may be freed (under Tree Borrows that is undefined behaviour even
//! if nothing reads through it afterwards). Handing a task's reference to a queue
//! (`schedule`, `yield_now`) lets another thread run and free it at once, while the
//! scheduler call still runs on `&S` inside the cell: every such call is made while
//! the caller holds one more reference of its own, dropped after the call returns
//! (tokio's harness keeps a reference across `schedule` the same way).

use super::core::{Cell, Header, Vtable};
use super::state::{ToIdle, ToRunning};
use super::waker::borrowed_waker;
use super::{JoinError, Notified, Schedule, Task};
use crate::context;
use crate::obs::Observer;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

pub(super) struct VtableOf<T, S>(std::marker::PhantomData<(T, S)>);

impl<T: Future + 'static, S: Schedule> VtableOf<T, S>
where
    T::Output: 'static,
{
    pub(super) const VTABLE: Vtable = Vtable {
        poll: poll::<T, S>,
        schedule: schedule::<T, S>,
        dealloc: dealloc::<T, S>,
        try_read_output: try_read_output::<T, S>,
        drop_join_handle_slow: drop_join_handle_slow::<T, S>,
        shutdown: shutdown::<T, S>,
        trailer_offset: std::mem::offset_of!(Cell<T, S>, trailer),
    };
}

/// # Safety
/// `ptr` points at a live `Cell<T, S>`.
unsafe fn cell<'a, T: Future, S>(ptr: NonNull<Header>) -> &'a Cell<T, S> {
    // SAFETY: `Cell` is `repr(C)` with the header first, and the vtable that led here
    // was built for exactly this `T` and `S`.
    unsafe { ptr.cast::<Cell<T, S>>().as_ref() }
}

/// Runs a `Notified`: consumes its reference.
unsafe fn poll<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the `Notified` being run holds a reference.
    let cell = unsafe { cell::<T, S>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Success => {}
        ToRunning::Cancelled => {
            // SAFETY: we hold RUNNING and the run `Notified`'s reference.
            unsafe {
                cancel_task(cell);
                complete::<T, S>(ptr, false);
            }
            return;
        }
        ToRunning::Failed => return,
        // SAFETY: that was the last reference.
        ToRunning::Dealloc => return unsafe { dealloc::<T, S>(ptr) },
    }
    let waker = borrowed_waker(ptr);
    let mut cx = Context::from_waker(&waker);
    // One predictable branch: the observer is `None` unless debug mode or a hook is on.
    let res = match cell.core.scheduler.observer() {
        // SAFETY: we hold RUNNING.
        None => unsafe { poll_future(cell, &mut cx) },
        // SAFETY: we hold RUNNING.
        Some(obs) => unsafe { poll_observed(obs, cell, &mut cx) },
    };
    if let Poll::Ready(panicked) = res {
        // SAFETY: still RUNNING with the run reference; the output is stored.
        unsafe { complete::<T, S>(ptr, panicked) };
        return;
    }
    match cell.header.state.transition_to_idle() {
        ToIdle::Ok => {}
        ToIdle::OkNotified => {
            // The transition added a reference: the run `Notified`'s goes to the
            // queue, the new one keeps the cell alive until `yield_now` returns.
            // SAFETY: the run `Notified`'s reference carries over to this one.
            let task = unsafe { Notified::from_raw(ptr) };
            cell.core.scheduler.yield_now(task);
            // SAFETY: the reference the transition added is ours.
            unsafe { drop_reference::<T, S>(ptr) };
        }
        // SAFETY: that was the last reference.
        ToIdle::OkDealloc => unsafe { dealloc::<T, S>(ptr) },
        ToIdle::Cancelled => {
            // SAFETY: RUNNING is still held (the idle transition did not happen).
            unsafe {
                cancel_task(cell);
                complete::<T, S>(ptr, false);
            }
        }
    }
}

/// Drops one reference, freeing the cell if it was the last.
///
/// # Safety
/// The caller owns the reference.
unsafe fn drop_reference<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the cell alive for this call.
    let last = unsafe { ptr.as_ref() }.state.ref_dec();
    if last {
        // SAFETY: that was the last reference.
        unsafe { dealloc::<T, S>(ptr) };
    }
}

/// `poll_future` with the debug-mode bookkeeping and the poll hooks around it.
///
/// # Safety
/// The caller holds RUNNING.
#[inline(never)]
unsafe fn poll_observed<T: Future, S>(
    obs: &Observer,
    cell: &Cell<T, S>,
    cx: &mut Context<'_>,
) -> Poll<bool> {
    let meta = cell.header.meta();
    let start = obs.before_poll(&meta, cell.header.label.last_poll());
    // SAFETY: forwarded contract.
    let res = unsafe { poll_future(cell, cx) };
    obs.after_poll(&meta, start);
    res
}

/// Polls the future once, storing its output (or the panic) when it finishes.
/// `Ready(true)` when the poll panicked.
///
/// # Safety
/// The caller holds RUNNING.
unsafe fn poll_future<T: Future, S>(cell: &Cell<T, S>, cx: &mut Context<'_>) -> Poll<bool> {
    let id = cell.header.id;
    let _guard = context::set_current_task_id(Some(id));
    #[cfg(feature = "tracing")]
    let _span = cell.core.span.enter();
    // SAFETY: RUNNING is held.
    let res = catch_unwind(AssertUnwindSafe(|| unsafe { cell.core.poll(cx) }));
    let (out, panicked) = match res {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(out)) => (Ok(out), false),
        Err(payload) => (Err(JoinError::panic(id, payload)), true),
    };
    // SAFETY: RUNNING is held.
    let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
        cell.core.drop_future_or_output()
    }));
    let out = match (out, dropped) {
        (out, Ok(())) => out,
        (Ok(value), Err(payload)) => {
            // The future's Drop panicked after it produced a value.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
            Err(JoinError::panic(id, payload))
        }
        (Err(first), Err(_second)) => Err(first),
    };
    // SAFETY: RUNNING is held and the stage is `Consumed`.
    unsafe { cell.core.store_output(out) };
    Poll::Ready(panicked)
}

/// Drops the future and stores a cancellation error.
///
/// # Safety
/// The caller holds RUNNING.
unsafe fn cancel_task<T: Future, S>(cell: &Cell<T, S>) {
    let id = cell.header.id;
    let _guard = context::set_current_task_id(Some(id));
    // The future's Drop runs inside the task's span too.
    #[cfg(feature = "tracing")]
    let _span = cell.core.span.enter();
    // SAFETY: RUNNING is held.
    let res = catch_unwind(AssertUnwindSafe(|| unsafe {
        cell.core.drop_future_or_output()
    }));
    let err = match res {
        Ok(()) => JoinError::cancelled(id),
        Err(payload) => JoinError::panic(id, payload),
    };
    // SAFETY: RUNNING is held and the stage is `Consumed`.
    unsafe { cell.core.store_output(Err(err)) };
}

/// RUNNING -> COMPLETE, notify or clean up for the join handle, leave the owned list,
/// drop the running reference (and the list's).
///
/// `panicked`: the last poll panicked (the unhandled-panic policy and the "panic never
/// retrieved" report look at it).
///
/// # Safety
/// The caller holds RUNNING and one reference, which this consumes (so the cell may be
/// freed before this returns: it takes the raw pointer, not a reference).
unsafe fn complete<T: Future, S: Schedule>(ptr: NonNull<Header>, panicked: bool) {
    // SAFETY: the caller's reference keeps the cell alive until the final transition.
    let cell = unsafe { cell::<T, S>(ptr) };
    // Read before COMPLETE is published: after it the JoinHandle may take the output.
    let panic_msg = if panicked {
        // SAFETY: RUNNING is held: the stage is ours.
        unsafe { cell.core.panic_message() }
    } else {
        None
    };
    #[cfg(feature = "tracing")]
    {
        // SAFETY: RUNNING is held: the stage is ours.
        let outcome = unsafe { cell.core.outcome() };
        tracing::event!(
            target: "magpie::task",
            parent: &cell.core.span,
            tracing::Level::TRACE,
            task.id = cell.header.id.as_u64(),
            outcome,
            "complete"
        );
    }
    if let Some(obs) = cell.core.scheduler.observer() {
        // Before COMPLETE, so that whoever joins the task sees the hook's effects.
        let _ = catch_unwind(AssertUnwindSafe(|| obs.on_terminate(&cell.header.meta())));
    }
    let snapshot = cell.header.state.transition_to_complete();
    if let Some(msg) = panic_msg {
        let meta = cell.header.meta();
        let unretrieved = !snapshot.is_join_interested();
        let _ = catch_unwind(AssertUnwindSafe(|| {
            cell.core.scheduler.task_panicked(&meta, &msg, unretrieved)
        }));
    }
    // Code run here (an output's Drop, a join waker's wake) may panic; it must not
    // unwind through the worker.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !snapshot.is_join_interested() {
            // Nobody will read the output: drop it here.
            let _guard = context::set_current_task_id(Some(cell.header.id));
            // SAFETY: COMPLETE without JOIN_INTEREST: the output belongs to us.
            unsafe { cell.core.drop_future_or_output() };
        } else if snapshot.is_join_waker_set() {
            // SAFETY: COMPLETE and JOIN_WAKER: the slot is ours to read.
            unsafe { cell.trailer.wake_join() };
            let after = cell.header.state.unset_waker_after_complete();
            if !after.is_join_interested() {
                // The handle was dropped meanwhile and left the waker to us.
                // SAFETY: JOIN_WAKER was ours and the handle is gone.
                unsafe { cell.trailer.set_waker(None) };
            }
        }
    }));

    // SAFETY: the caller's reference keeps the task alive for this borrow; ManuallyDrop
    // keeps the temporary handle from dropping it.
    let me = ManuallyDrop::new(unsafe { Task::<S>::from_raw(ptr) });
    let released = match cell.core.scheduler.release(&me) {
        Some(list_ref) => {
            std::mem::forget(list_ref);
            2
        }
        None => 1,
    };
    if cell.header.state.transition_to_terminal(released) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<T, S>(ptr) };
    }
}

/// Queues the task.
///
/// # Safety
/// The caller transfers one reference to the new `Notified` and holds another of its
/// own until this returns (the queue may run and free the task at once, while
/// `schedule` still runs on the scheduler stored in the cell).
unsafe fn schedule<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's own reference keeps the cell alive for this call.
    let cell = unsafe { cell::<T, S>(ptr) };
    // SAFETY: the transferred reference becomes the `Notified`'s.
    let task = unsafe { Notified::from_raw(ptr) };
    cell.core.scheduler.schedule(task);
}

unsafe fn dealloc<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the reference count reached zero, so nothing else points at the cell; it
    // was allocated by `Box` in `Cell::new`.
    let mut cell = unsafe { Box::from_raw(ptr.cast::<Cell<T, S>>().as_ptr()) };
    /// Hands the scheduler back after the cell is gone, also if dropping it unwinds.
    struct Freed<S: Schedule>(Option<S>, usize);
    impl<S: Schedule> Drop for Freed<S> {
        fn drop(&mut self) {
            if let Some(s) = self.0.take() {
                s.cell_freed(self.1);
            }
        }
    }
    let shard = (cell.header.owner & super::core::OWNER_SHARD_MASK) as usize;
    // SAFETY: the scheduler is `ManuallyDrop` in the cell and taken out exactly once,
    // here; the cell's own drop below leaves it alone.
    let freed = Freed(
        Some(unsafe { ManuallyDrop::take(&mut cell.core.scheduler) }),
        shard,
    );
    drop(cell);
    // Last: the scheduler may release the runtime handle the cell pointed to.
    drop(freed);
}

unsafe fn try_read_output<T: Future, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: the `JoinHandle` calling this holds a reference.
    let cell = unsafe { cell::<T, S>(ptr) };
    // SAFETY: `dst` points at the caller's `Poll<Result<T::Output, JoinError>>`.
    let dst = unsafe { &mut *(dst as *mut Poll<Result<T::Output, JoinError>>) };
    // SAFETY: we are the `JoinHandle`.
    if unsafe { can_read_output(cell, waker) } {
        // SAFETY: COMPLETE was observed and we are the `JoinHandle`: the output is ours.
        *dst = Poll::Ready(unsafe { cell.core.take_output(cell.header.id) });
    }
}

/// Returns true when the output can be taken; otherwise leaves `waker` registered.
///
/// # Safety
/// Called by the `JoinHandle` only.
unsafe fn can_read_output<T: Future, S>(cell: &Cell<T, S>, waker: &Waker) -> bool {
    let state = &cell.header.state;
    let snapshot = state.load();
    if snapshot.is_complete() {
        return true;
    }
    let res = if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER set: reading the slot is allowed.
        if unsafe { cell.trailer.will_wake(waker) } {
            return false;
        }
        state
            .unset_waker()
            // SAFETY: unset_waker succeeded: the slot is ours again.
            .and_then(|_| unsafe { set_join_waker(cell, waker.clone()) })
    } else {
        // SAFETY: JOIN_WAKER clear and not complete: the slot is ours.
        unsafe { set_join_waker(cell, waker.clone()) }
    };
    match res {
        Ok(_) => false,
        Err(s) => {
            debug_assert!(s.is_complete());
            true
        }
    }
}

/// # Safety
/// The handle owns the slot (JOIN_WAKER clear, not complete).
unsafe fn set_join_waker<T: Future, S>(
    cell: &Cell<T, S>,
    waker: Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    // SAFETY: the slot is ours.
    unsafe { cell.trailer.set_waker(Some(waker)) };
    let res = cell.header.state.set_join_waker();
    if res.is_err() {
        // Completed before we could hand it over: the slot is still ours.
        // SAFETY: as above.
        unsafe { cell.trailer.set_waker(None) };
    }
    res
}

unsafe fn drop_join_handle_slow<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the `JoinHandle`'s reference keeps the cell alive.
    let cell = unsafe { cell::<T, S>(ptr) };
    let (prev, next) = cell.header.state.transition_to_join_handle_dropped();
    if prev.is_complete() {
        // The output is ours to drop. A panic nobody read is reported first.
        // SAFETY: COMPLETE observed with JOIN_INTEREST held: the output belongs to us.
        if let Some(msg) = unsafe { cell.core.panic_message() } {
            let meta = cell.header.meta();
            let _ = catch_unwind(AssertUnwindSafe(|| {
                cell.core.scheduler.panic_dropped(&meta, &msg)
            }));
        }
        let _guard = context::set_current_task_id(Some(cell.header.id));
        // SAFETY: COMPLETE observed with JOIN_INTEREST held: the output belongs to us.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
            cell.core.drop_future_or_output()
        }));
    }
    if !next.is_join_waker_set() {
        // SAFETY: with JOIN_WAKER clear the slot is the handle's.
        unsafe { cell.trailer.set_waker(None) };
    }
    if cell.header.state.ref_dec() {
        // SAFETY: last reference.
        unsafe { dealloc::<T, S>(ptr) };
    }
}

/// Cancels the task for runtime shutdown; consumes one reference.
unsafe fn shutdown<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the cell alive.
    let cell = unsafe { cell::<T, S>(ptr) };
    if !cell.header.state.transition_to_shutdown() {
        // Running (its runner will cancel it) or already complete.
        if cell.header.state.ref_dec() {
            // SAFETY: last reference.
            unsafe { dealloc::<T, S>(ptr) };
        }
        return;
    }
    // SAFETY: transition_to_shutdown gave us RUNNING.
    unsafe {
        cancel_task(cell);
        complete::<T, S>(ptr, false);
    }
}
