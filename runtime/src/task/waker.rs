//! Task wakers: a `Waker` is a pointer to the task header plus a static vtable. Clone,
//! wake and drop are single atomic operations on the state word (no allocation).

use super::core::Header;
use super::state::{ToNotifiedByRef, ToNotifiedByVal};
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_by_val, wake_by_ref, drop_waker);

/// A waker borrowing the caller's reference (no ref count change); it must not outlive
/// the task poll that created it, which `ManuallyDrop` plus the borrow guarantee.
pub(super) fn borrowed_waker(header: NonNull<Header>) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable functions below uphold the RawWaker contract; ManuallyDrop
    // keeps this copy from dropping the reference it does not own.
    ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(header.as_ptr() as *const (), &VTABLE))
    })
}

fn header<'a>(ptr: *const ()) -> &'a Header {
    // SAFETY: every RawWaker built here points at a live task header: the waker holds a
    // reference, so the allocation outlives it.
    unsafe { &*(ptr as *const Header) }
}

/// The cell pointer to hand to the vtable. Made from the waker's raw pointer, which
/// carries the provenance of the whole allocation; one made from `header()` would be
/// limited to the header, read-only, and freeing the cell through it is undefined
/// behaviour (miri, Tree Borrows).
fn cell_ptr(ptr: *const ()) -> NonNull<Header> {
    // SAFETY: a RawWaker's data pointer is never null (it was a `NonNull<Header>`).
    unsafe { NonNull::new_unchecked(ptr as *mut Header) }
}

/// A `runtime::waker` event in the shape tokio-console matches on (`op`, and `task.id`
/// = the id of the task's `runtime.spawn` span). Feature `tracing` only; nothing when
/// no subscriber took the span.
#[cfg(feature = "tracing")]
fn trace_op(h: &Header, op: &'static str) {
    if h.span_id != 0 {
        tracing::trace!(target: "runtime::waker", op, task.id = h.span_id);
    }
}

#[cfg(not(feature = "tracing"))]
#[inline(always)]
fn trace_op(_: &Header, _: &'static str) {}

// # Safety (all four vtable functions)
// `ptr` is the header pointer of a live task and the caller owns one reference (for
// `clone`/`wake_by_ref`, borrowed); the std `RawWaker` contract guarantees both.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    trace_op(header(ptr), "waker.clone");
    header(ptr).state.ref_inc();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake_by_val(ptr: *const ()) {
    let h = header(ptr);
    trace_op(h, "waker.wake");
    let vtable = h.vtable;
    match h.state.transition_to_notified_by_val() {
        ToNotifiedByVal::Submit => {
            // SAFETY: the transition added a reference for the new `Notified`; the
            // waker's own keeps the task alive across the call.
            unsafe { (vtable.schedule)(cell_ptr(ptr)) };
            // SAFETY: the waker's reference, ours to drop now.
            unsafe { drop_reference(ptr) };
        }
        // SAFETY: that was the last reference.
        ToNotifiedByVal::Dealloc => unsafe { (vtable.dealloc)(cell_ptr(ptr)) },
        ToNotifiedByVal::DoNothing => {}
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    let h = header(ptr);
    trace_op(h, "waker.wake_by_ref");
    if let ToNotifiedByRef::Submit = h.state.transition_to_notified_by_ref() {
        // SAFETY: the transition added a reference for the new `Notified`.
        unsafe { (h.vtable.schedule)(cell_ptr(ptr)) }
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    trace_op(header(ptr), "waker.drop");
    // SAFETY: forwarded contract.
    unsafe { drop_reference(ptr) }
}

/// Drops the waker's reference (no trace event: also the tail of a wake by value).
///
/// # Safety
/// As the vtable functions: the caller owns one reference.
unsafe fn drop_reference(ptr: *const ()) {
    let h = header(ptr);
    let vtable = h.vtable;
    if h.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (vtable.dealloc)(cell_ptr(ptr)) }
    }
}
