//! How a task of the multi-thread runtime reaches its scheduler without writing a
//! shared reference count per spawn.
//!
//! A task's cell keeps a [`TaskHandle`]: a plain pointer to the runtime's [`Handle`],
//! not an `Arc` clone (an `Arc` clone and drop per task are two writes to the line of
//! the handle's count, which every worker spawning at once would share). The handle
//! must still outlive every cell that may call into it, which includes a wake that
//! began before shutdown cancelled its task: the waker holds a reference to the cell
//! (not yet freed) while it calls `schedule`. So the live cells together hold **one**
//! strong reference to the handle, kept by a distributed count, [`CellCount`].
//!
//! # The count
//!
//! ```text
//! shards[i]  one word per owned-list shard, on its own cache line:
//!              < DRAINED  live cells bound to shard i (inc at spawn, dec at free,
//!                         always on the shard in the task's owner word)
//!              >= DRAINED the runtime shut down; the word is ignored from now on
//! central    after the drain: live cells counted here (plus BIAS while draining)
//! ```
//!
//! * Before shutdown the cells' reference is held whatever the counts say: a new cell
//!   adds 1 to its shard (`Schedule::cell_created`, right after the allocation, so an
//!   unwinding spawn counts nothing it did not create), freeing a cell subtracts 1 from
//!   the same shard (`Schedule::cell_freed`, from a drop guard, so a panicking drop of
//!   the cell's contents still counts it out), and nobody looks for zero (so the words
//!   never need a read-modify-write on a shared line).
//! * `drain` (once, when the runtime shuts down): `central = BIAS`; each shard word is
//!   swapped to `DRAINED_MID` and its count added to `central`; then `BIAS` is taken
//!   off. If that leaves zero, no cell is alive and the cells' reference is released.
//!   The bias keeps `central` above zero while shards are still being moved over, so a
//!   cell freed meanwhile cannot release the reference early.
//! * An increment or decrement that finds its shard word at or above `DRAINED` (it
//!   came after that shard's swap) was not counted by the swap: it is applied to
//!   `central` instead. A decrement that takes `central` to zero releases the cells'
//!   reference; an increment that takes it from zero takes a new one (the spawner holds
//!   an `Arc` of the handle, so the handle is alive to be counted again).
//!
//! `DRAINED_MID` sits in the middle of the drained range, so the ±1 updates that late
//! operations still apply to a drained word can never take it back below `DRAINED`.
//! A decrement works on the two atomics alone (`dec`): once another cell's decrement
//! may free the handle, no reference to the rest of the `CellCount` is live in the call
//! (the shape of `Arc`'s drop).
//!
//! Orderings: decrements are Release (everything the freed cell did with the handle
//! happens before the swap or the `central` update that reads them); the drain's swaps
//! and every `central` update are AcqRel, so the thread that releases the reference has
//! seen every other cell's last use of the handle. loom: `loom-tests/tests/rt_cells.rs`.

use super::worker::{Handle, Kind};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::obs::{Observer, TaskMeta};
use crate::task::{Notified, Schedule, Task};
use crossbeam_utils::CachePadded;
use std::ptr::NonNull;
use std::sync::Arc;

const DRAINED: usize = 1 << (usize::BITS - 2);
const DRAINED_MID: usize = DRAINED + (DRAINED >> 1);
const BIAS: usize = 1 << (usize::BITS - 2);

/// The distributed count of live task cells (module docs).
pub(crate) struct CellCount {
    shards: Box<[CachePadded<AtomicUsize>]>,
    central: AtomicUsize,
    drained: AtomicBool,
}

impl CellCount {
    /// One word per owned-list shard (`shards`: the list's shard count).
    pub(crate) fn new(shards: usize) -> CellCount {
        CellCount {
            shards: (0..shards)
                .map(|_| CachePadded::new(AtomicUsize::new(0)))
                .collect(),
            central: AtomicUsize::new(0),
            drained: AtomicBool::new(false),
        }
    }

    /// A cell bound to `shard` was created. True: the caller must take a strong
    /// reference for the cells (the count went from zero to one after the drain).
    pub(crate) fn inc(&self, shard: usize) -> bool {
        let prev = self.shards[shard].fetch_add(1, Ordering::Relaxed);
        if prev < DRAINED {
            return false;
        }
        self.central.fetch_add(1, Ordering::AcqRel) == 0
    }

    /// A cell bound to `shard` was freed. True: it was the last one after the drain, and
    /// the caller must release the cells' strong reference.
    #[cfg(any(loom, test))]
    pub(crate) fn dec(&self, shard: usize) -> bool {
        dec(&self.shards[shard], &self.central)
    }

    /// The two words a decrement on `shard` touches (see [`dec`]).
    fn words(&self, shard: usize) -> (&AtomicUsize, &AtomicUsize) {
        (&self.shards[shard], &self.central)
    }

    /// The runtime shut down: from now on the last cell freed releases the reference.
    /// True: no cell is alive, the caller releases it now. Only the first call drains.
    pub(crate) fn drain(&self) -> bool {
        if self.drained.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.central.fetch_add(BIAS, Ordering::AcqRel);
        for shard in self.shards.iter() {
            let live = shard.swap(DRAINED_MID, Ordering::AcqRel);
            debug_assert!(live < DRAINED, "a shard drained twice");
            self.central.fetch_add(live, Ordering::AcqRel);
        }
        self.central.fetch_sub(BIAS, Ordering::AcqRel) == BIAS
    }
}

/// A cell's decrement, on the two atomics alone: once another thread's decrement may
/// free the handle (and the `CellCount` in it), no reference to the non-atomic parts
/// of the count may still be live in this call (the same shape as `Arc`'s drop).
fn dec(shard: &AtomicUsize, central: &AtomicUsize) -> bool {
    let prev = shard.fetch_sub(1, Ordering::Release);
    if prev < DRAINED {
        return false;
    }
    central.fetch_sub(1, Ordering::AcqRel) == 1
}

/// The scheduler of a multi-thread task: a pointer to the runtime's handle, kept alive
/// by the cells' shared reference (module docs), not by one of its own.
pub(crate) struct TaskHandle(NonNull<Handle>);

// SAFETY: the pointer is only dereferenced as `&Handle` (which is Send + Sync) while
// the cell holding it is alive, and the cells' reference keeps the handle alive that
// long.
unsafe impl Send for TaskHandle {}
// SAFETY: as above.
unsafe impl Sync for TaskHandle {}

impl TaskHandle {
    /// The scheduler pointer for a new cell of `handle`. The cell counts itself in
    /// (`Schedule::cell_created`) once it is allocated; the caller holds `handle`
    /// (an `Arc`) until then.
    pub(crate) fn new(handle: &Arc<Handle>) -> TaskHandle {
        // From `Arc::as_ptr`, not from a `&Handle`: the pointer is later given back to
        // `Arc::decrement_strong_count`, which reaches the counts beside the handle.
        TaskHandle(NonNull::new(Arc::as_ptr(handle).cast_mut()).expect("Arc pointer is non-null"))
    }

    /// The cell holding this pointer, bound to `shard`, was allocated.
    fn cell_created(&self, shard: usize) {
        if self.cells.inc(shard) {
            // SAFETY: the spawner holds an `Arc` of the handle for the whole spawn
            // (`TaskHandle::new`), so it is alive; the new strong reference is the
            // cells' and is released by the decrement or drain that finds the count at
            // zero.
            unsafe { Arc::increment_strong_count(self.0.as_ptr()) };
        }
    }

    /// The cell holding this pointer (bound to `shard`) has been freed.
    fn cell_freed(self, shard: usize) {
        let (shard_word, central) = {
            // SAFETY: the cells' reference is still held (it is released only by the
            // decrement below finding this cell was the last); the reference to the
            // handle ends here, leaving only the two atomics borrowed.
            let handle = unsafe { self.0.as_ref() };
            handle.cells.words(shard)
        };
        if dec(shard_word, central) {
            // SAFETY: the count says this was the last live cell after the drain: the
            // cells' reference (taken by `cell_created` or at construction) is ours to
            // release, and nothing touches the handle afterwards.
            unsafe { Arc::decrement_strong_count(self.0.as_ptr()) };
        }
    }
}

impl std::ops::Deref for TaskHandle {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        // SAFETY: whoever calls through the task's scheduler holds a reference to the
        // cell, which keeps the cells' reference to the handle (module docs).
        unsafe { self.0.as_ref() }
    }
}

/// Releases the reference the cells hold on `handle` if the drain finds no live cell.
pub(crate) fn drain_cells(handle: &Arc<Handle>) {
    if handle.cells.drain() {
        // SAFETY: no cell is alive and the drain is done: the cells' reference, taken
        // at construction (`Handle::new`), is released exactly here.
        unsafe { Arc::decrement_strong_count(Arc::as_ptr(handle)) };
    }
}

impl Schedule for TaskHandle {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.schedule_task(task, Kind::Wake);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.schedule_task(task, Kind::Yield);
    }

    #[inline(always)]
    fn observer(&self) -> Option<&Observer> {
        self.obs.active()
    }

    fn task_panicked(&self, meta: &TaskMeta, msg: &str, unretrieved: bool) {
        if self.obs.task_panicked(meta, msg, unretrieved) {
            // UnhandledPanic::ShutdownRuntime: stop the workers (they cancel every
            // task on their way out); `block_on` sees the flag and panics.
            self.shutdown();
        }
    }

    fn panic_dropped(&self, meta: &TaskMeta, msg: &str) {
        self.obs.report_unretrieved(meta, msg);
    }

    fn cell_created(&self, shard: usize) {
        TaskHandle::cell_created(self, shard);
    }

    fn cell_freed(self, shard: usize) {
        TaskHandle::cell_freed(self, shard);
    }
}
