//! Typed handles over the type-erased task pointer.

use super::core::{Cell, Header};
use super::harness::VtableOf;
use super::{Id, Schedule};
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::Waker;

/// A pointer to a task allocation. Carries no reference by itself: the handle types
/// below each own one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    pub(crate) fn new<T, S>(
        future: T,
        scheduler: S,
        id: Id,
        owner: u64,
        meta: super::SpawnMeta,
    ) -> RawTask
    where
        // No `Send` bound: the spawn paths require it, except `bind_local` (local
        // tasks), whose scheduler keeps the future on one thread.
        T: Future + 'static,
        T::Output: 'static,
        S: Schedule,
    {
        let vtable: &'static _ = &VtableOf::<T, S>::VTABLE;
        // Debug mode records each task's last poll (task dumps): only then, or for a
        // named task, does the label allocate (label.rs).
        let track_polls = scheduler
            .observer()
            .is_some_and(crate::obs::Observer::tracks_polls);
        let cell = Box::leak(Cell::new(
            future,
            scheduler,
            id,
            owner,
            meta,
            track_polls,
            vtable,
        ));
        cell.core
            .scheduler
            .cell_created((owner & super::core::OWNER_SHARD_MASK) as usize);
        RawTask {
            ptr: NonNull::from(cell).cast(),
        }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header<'a>(self) -> &'a Header {
        // SAFETY: callers hold a reference to the task, which keeps it allocated.
        unsafe { self.ptr.as_ref() }
    }

    /// # Safety
    /// Consumes a reference.
    pub(crate) unsafe fn poll(self) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// # Safety
    /// Consumes a reference (passed on to the `Notified`).
    pub(crate) unsafe fn schedule(self) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// # Safety
    /// Consumes a reference.
    pub(crate) unsafe fn shutdown(self) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// # Safety
    /// `dst` points at a `Poll<Result<T::Output, JoinError>>` of the task's output type,
    /// and the caller is the `JoinHandle`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// # Safety
    /// Consumes the `JoinHandle`'s reference.
    pub(crate) unsafe fn drop_join_handle(self) {
        if self.header().state.drop_join_handle_fast().is_ok() {
            return;
        }
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Drops one reference.
    ///
    /// # Safety
    /// The caller owns the reference it drops.
    pub(crate) unsafe fn drop_reference(self) {
        if self.header().state.ref_dec() {
            // SAFETY: last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }

    /// `abort()`: cancel at the next opportunity.
    pub(crate) fn remote_abort(self) {
        if self.header().state.transition_to_notified_and_cancel() {
            // SAFETY: the transition added a reference for the `Notified`.
            unsafe { self.schedule() }
        }
    }

    pub(crate) fn id(self) -> Id {
        self.header().id
    }

    pub(crate) fn is_complete(self) -> bool {
        self.header().state.load().is_complete()
    }
}

/// An owned reference to a task, scheduled by `S`.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

// SAFETY: a `Task` is only a counted pointer to the cell, whose state is atomic. The
// future is Send, or (a local task, `OwnedTasks::bind_local`) its scheduler polls and
// drops it on its own thread only; a `Task` moved elsewhere only counts references
// and queues the task. The output is reached only through the `JoinHandle`, which is
// Send only when the output is.
unsafe impl<S> Send for Task<S> {}
// SAFETY: as above.
unsafe impl<S> Sync for Task<S> {}

impl<S: 'static> Task<S> {
    /// # Safety
    /// The caller transfers one reference to the new handle.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task {
            raw: RawTask { ptr },
            _p: PhantomData,
        }
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    /// The cell pointer, with the provenance of the whole allocation (a pointer made
    /// from `header()` would cover the header only, read-only).
    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.raw.header_ptr()
    }

    /// Gives up ownership of the reference without dropping it.
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }

    /// Cancels the task for shutdown (drops its future now if it is idle).
    pub(crate) fn shutdown(self) {
        // SAFETY: our reference is handed to `shutdown`.
        unsafe { self.into_raw().shutdown() }
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { self.raw.drop_reference() }
    }
}

/// A task that has been woken and sits (or is about to sit) in a run queue.
pub(crate) struct Notified<S: 'static>(pub(crate) Task<S>);

impl<S: 'static> Notified<S> {
    /// # Safety
    /// The caller transfers one reference, the one that NOTIFIED accounts for.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded contract.
        Notified(unsafe { Task::from_raw(ptr) })
    }

    /// Polls the task (or cancels it, if aborted).
    pub(crate) fn run(self) {
        // SAFETY: our reference is consumed by `poll`.
        unsafe { self.0.into_raw().poll() }
    }

    /// Shuts the task down (used for queued blocking tasks at shutdown).
    pub(crate) fn shutdown(self) {
        self.0.shutdown()
    }
}
