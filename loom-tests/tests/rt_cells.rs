#![cfg(loom)]
//! Loom models of the distributed live-cell count that keeps the multi-thread
//! runtime's handle alive without an `Arc` clone per task (the real `CellCount` of
//! runtime/src/scheduler/multi_thread/task_handle.rs, through `__loom::CellCount`).
//!
//! The handle's strong count is modelled by `Refs`: the runtime's own reference, the
//! one the live cells share, and one per thread that holds a `Handle` to spawn. Every
//! use of the count asserts the handle was not freed (count at zero) before it, and
//! each model ends with every reference released exactly once.

mod sync_util;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use magpie_runtime::__loom::CellCount;
use sync_util::model;

/// The handle: the cell count inside it, and its strong count.
struct Handle {
    cells: CellCount,
    refs: AtomicUsize,
}

impl Handle {
    fn new(shards: usize) -> Arc<Handle> {
        // The runtime's reference and the cells'.
        Arc::new(Handle {
            cells: CellCount::new(shards),
            refs: AtomicUsize::new(2),
        })
    }
    fn alive(&self) {
        assert!(
            self.refs.load(SeqCst) > 0,
            "the handle was used after it was freed"
        );
    }
    fn take_ref(&self) {
        assert!(
            self.refs.fetch_add(1, SeqCst) > 0,
            "resurrected a freed handle"
        );
    }
    fn release(&self) {
        assert!(
            self.refs.fetch_sub(1, SeqCst) > 0,
            "released more than was held"
        );
    }
    fn spawn(&self, shard: usize) {
        self.alive();
        if self.cells.inc(shard) {
            self.take_ref();
        }
    }
    fn free_cell(&self, shard: usize) {
        self.alive();
        if self.cells.dec(shard) {
            self.release();
        }
    }
    fn shutdown(&self) {
        self.alive();
        if self.cells.drain() {
            self.release();
        }
        self.release(); // the runtime's own
    }
}

/// Cells freed on two shards while the runtime shuts down: the handle is freed once,
/// by whichever comes last, and never before the last cell.
#[test]
fn cells_freed_while_the_runtime_shuts_down() {
    model(|| {
        let h = Handle::new(2);
        h.spawn(0);
        h.spawn(1);
        let t = {
            let h = h.clone();
            thread::spawn(move || h.free_cell(0))
        };
        h.shutdown();
        h.free_cell(1);
        t.join().unwrap();
        assert_eq!(h.refs.load(SeqCst), 0, "the handle leaked");
    });
}

/// A spawn through a kept `Handle` (which holds its own reference) races the drain,
/// then its cell is freed: counted on its shard or centrally, never lost.
#[test]
fn late_spawn_races_the_drain() {
    model(|| {
        let h = Handle::new(2);
        h.spawn(1);
        let t = {
            let h = h.clone();
            h.take_ref(); // the kept `runtime::Handle`
            thread::spawn(move || {
                h.spawn(1);
                h.free_cell(1);
                h.release(); // the kept `runtime::Handle` goes
            })
        };
        h.shutdown();
        h.free_cell(1);
        t.join().unwrap();
        assert_eq!(h.refs.load(SeqCst), 0, "the handle leaked");
    });
}
