//! The task allocation: header, core (scheduler handle + future/output stage) and
//! trailer (join waker), laid out `#[repr(C)]` so that a `NonNull<Header>` is also a
//! pointer to the whole cell. One heap allocation per task; wakers, `Notified` queue
//! entries, `JoinHandle` and `AbortHandle` are all pointers to it, counted in the state
//! word.
//!
//! ```text
//! +-------------------- Cell<T, S> (one Box) --------------------+
//! | Header  | state word | &'static Vtable | owner (list, shard) | id |
//! |         | label: spawn location (+ name, last poll: label.rs) |
//! |         | span id (feature `tracing` only)                     |
//! | Core    | scheduler S (the runtime handle: an Arc, or a pointer)|
//! |         | stage: Running(future) | Finished(output) | Consumed|
//! |         | span (feature `tracing` only)                        |
//! | Trailer | owned-list links | join waker: Option<Waker>        |
//! +-------------------------------------------------------------+
//! ```
//!
//! The owned-list links live in the trailer, not the header: spawning or completing a
//! task writes its neighbours' links, and those writes must not land on the cache line
//! of the neighbours' state words (which their own workers are writing). The header
//! is 40 bytes, and the core holds the scheduler (8) and the stage (at least 24: its
//! `Panicked` variant holds a boxed payload, plus the tag), so the links start at least
//! 72 bytes after the state word: always on another line
//! (`links_are_a_cache_line_away_from_the_state_word` checks the offsets). The
//! cell is not aligned to a cache line: tried with `#[repr(C, align(64))]`, the system
//! allocator's aligned path made a spawn + join cost 34 % more instructions and the
//! peak RSS of a million idle tasks went from 134 to 255 MiB (docs/benchmarks.md, "Task
//! layout").

use super::label::Label;
use super::state::State;
use super::{Id, JoinError};
use crate::loom::cell::UnsafeCell;
use crate::obs::TaskMeta;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

#[repr(C)]
pub(crate) struct Cell<T: Future, S> {
    pub(super) header: Header,
    pub(super) core: Core<T, S>,
    pub(super) trailer: Trailer,
}

/// Links of the intrusive owned-task list.
#[derive(Default)]
pub(crate) struct Pointers {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(super) vtable: &'static Vtable,
    /// The `OwnedTasks` list this task belongs to and its shard there
    /// (`list id << OWNER_SHARD_BITS | shard`; 0: in no list). Immutable.
    pub(crate) owner: u64,
    pub(crate) id: Id,
    /// Where the task was spawned (`#[track_caller]` on every spawn path), its name
    /// (`task::Builder::name`) and, in debug mode, its last poll time: one word
    /// (`label.rs`). Immutable (the last-poll time is atomic).
    pub(crate) label: Label,
    /// The id of the task's `runtime.spawn` span (0: no subscriber wanted it), for the
    /// waker events tokio-console matches on. Immutable.
    #[cfg(feature = "tracing")]
    pub(crate) span_id: u64,
}

/// Bits of `Header::owner` that hold the shard index.
pub(crate) const OWNER_SHARD_BITS: u32 = 16;
/// The shard index in `Header::owner`.
pub(crate) const OWNER_SHARD_MASK: u64 = (1 << OWNER_SHARD_BITS) - 1;

impl Header {
    pub(crate) fn meta(&self) -> TaskMeta {
        TaskMeta::new(self.id, self.label.location(), self.label.name().cloned())
    }

    /// The links of the owned-task list, in the trailer.
    ///
    /// # Safety
    /// `ptr` points at a live task cell (any `Cell<T, S>` whose vtable is in the header).
    pub(crate) unsafe fn owned_links<'a>(ptr: NonNull<Header>) -> &'a UnsafeCell<Pointers> {
        // SAFETY: the cell is live per the contract; `trailer_offset` is the offset of
        // the trailer in exactly this cell's type (the vtable was built for it), and
        // `ptr` was derived from the pointer to the whole cell, so the offset pointer
        // stays inside the allocation.
        unsafe {
            let offset = ptr.as_ref().vtable.trailer_offset;
            let trailer = ptr.cast::<u8>().add(offset).cast::<Trailer>();
            &(*trailer.as_ptr()).owned
        }
    }
}

// SAFETY: the header's mutable parts are the atomic state word and the list links,
// which are only touched under the owning list's shard lock.
unsafe impl Send for Header {}
// SAFETY: as above.
unsafe impl Sync for Header {}

pub(crate) struct Core<T: Future, S> {
    /// Dropped by `harness::dealloc` after the rest of the cell, through
    /// `Schedule::cell_freed` (the multi-thread scheduler counts live cells there).
    pub(super) scheduler: std::mem::ManuallyDrop<S>,
    pub(super) stage: UnsafeCell<Stage<T>>,
    /// The task's `runtime.spawn` span (feature `tracing`), entered around every poll.
    #[cfg(feature = "tracing")]
    pub(super) span: tracing::Span,
}

/// What the task's cell holds. The failure cases are variants of their own, not a
/// `Result<T::Output, JoinError>`: the error's task id is in the header already, and
/// leaving it out takes 8 bytes off every cell (a `JoinError` is built with the id when
/// the `JoinHandle` takes the output).
pub(crate) enum Stage<T: Future> {
    Running(T),
    Finished(T::Output),
    Cancelled,
    Panicked(Box<dyn std::any::Any + Send + 'static>),
    Consumed,
}

pub(crate) struct Trailer {
    /// Links of the owned-task list. Accessed only under the lock of the list shard
    /// that `Header::owner` names.
    pub(crate) owned: UnsafeCell<Pointers>,
    /// The `JoinHandle`'s waker; ownership governed by the JOIN_WAKER bit (state.rs).
    pub(super) waker: UnsafeCell<Option<Waker>>,
}

/// Type-erased entry points into the generic task code.
///
/// # Safety
/// Each function takes the header pointer of a live task whose cell has exactly the
/// `T` and `S` the vtable was built for (`VtableOf<T, S>`), and the reference-count
/// contract documented on the `RawTask` method that calls it.
pub(crate) struct Vtable {
    pub(super) poll: unsafe fn(NonNull<Header>),
    pub(super) schedule: unsafe fn(NonNull<Header>),
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    pub(super) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(super) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(super) shutdown: unsafe fn(NonNull<Header>),
    /// Byte offset of the `Trailer` in the cell (`Header::owned_links`).
    pub(super) trailer_offset: usize,
}

impl<T: Future, S> Cell<T, S> {
    pub(super) fn new(
        future: T,
        scheduler: S,
        id: Id,
        owner: u64,
        meta: super::SpawnMeta,
        track_polls: bool,
        vtable: &'static Vtable,
    ) -> Box<Self> {
        #[cfg(feature = "tracing")]
        let span = spawn_span(id, &meta);
        let super::SpawnMeta { location, name } = meta;
        let label = Label::new(location, name, track_polls);
        Box::new(Cell {
            header: Header {
                state: State::new(owner != 0),
                vtable,
                owner,
                id,
                label,
                #[cfg(feature = "tracing")]
                span_id: span.id().map_or(0, |id| id.into_u64()),
            },
            core: Core {
                scheduler: std::mem::ManuallyDrop::new(scheduler),
                stage: UnsafeCell::new(Stage::Running(future)),
                #[cfg(feature = "tracing")]
                span,
            },
            trailer: Trailer {
                owned: UnsafeCell::new(Pointers::default()),
                waker: UnsafeCell::new(None),
            },
        })
    }
}

/// Creates the task's span and reports the spawn (feature `tracing`).
///
/// The span has the shape tokio-console's subscriber recognises (console-subscriber
/// matches spans named `runtime.spawn`, and its default filter keeps targets under
/// `runtime`): `kind`, `task.id`, `task.name` (named tasks), `loc.file`, `loc.line`,
/// `loc.col`. The `spawn` event is emitted in the spawner's context (inside the
/// spawning task's span, if any), so a subscriber sees who spawned whom.
#[cfg(feature = "tracing")]
fn spawn_span(id: Id, meta: &super::SpawnMeta) -> tracing::Span {
    let loc = meta.location;
    let span = match &meta.name {
        Some(name) => tracing::trace_span!(
            target: "runtime::task",
            "runtime.spawn",
            kind = "task",
            task.id = id.as_u64(),
            task.name = name.as_str(),
            loc.file = loc.file(),
            loc.line = loc.line(),
            loc.col = loc.column(),
        ),
        None => tracing::trace_span!(
            target: "runtime::task",
            "runtime.spawn",
            kind = "task",
            task.id = id.as_u64(),
            loc.file = loc.file(),
            loc.line = loc.line(),
            loc.col = loc.column(),
        ),
    };
    tracing::event!(
        target: "magpie::task",
        tracing::Level::TRACE,
        task.id = id.as_u64(),
        location = %loc,
        "spawn"
    );
    span
}

impl<T: Future, S> Core<T, S> {
    /// How the task ended, for the `complete` trace event: "ok", "cancelled" or
    /// "panicked".
    ///
    /// # Safety
    /// As for `panic_message`.
    #[cfg(feature = "tracing")]
    pub(super) unsafe fn outcome(&self) -> &'static str {
        // SAFETY: per the caller's contract nobody writes the stage meanwhile.
        self.stage.with(|ptr| match unsafe { &*ptr } {
            Stage::Cancelled => "cancelled",
            Stage::Panicked(_) => "panicked",
            _ => "ok",
        })
    }

    /// Polls the future.
    ///
    /// # Safety
    /// The caller holds RUNNING (exclusive access to the stage) and the stage is
    /// `Running`.
    pub(super) unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<T::Output> {
        self.stage.with_mut(|ptr| {
            // SAFETY: RUNNING gives this thread exclusive access to the stage; the
            // future lives inside the heap cell and never moves until dropped, so
            // pinning it is sound.
            match unsafe { &mut *ptr } {
                // SAFETY: the future sits in the heap cell and is never moved out until
                // it is dropped in place, so it may be pinned.
                Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(cx),
                _ => unreachable!("task polled after completion"),
            }
        })
    }

    /// Drops whatever the stage holds.
    ///
    /// # Safety
    /// The caller has exclusive access to the stage (RUNNING, or COMPLETE and the
    /// output is the caller's).
    pub(super) unsafe fn drop_future_or_output(&self) {
        /// Writes `Consumed` over the dropped stage, also when its Drop panics, so the
        /// stage is consistent whatever happens.
        struct SetConsumed<T: Future>(*mut Stage<T>);
        impl<T: Future> Drop for SetConsumed<T> {
            fn drop(&mut self) {
                // SAFETY: the stage was just dropped in place (or its Drop unwound):
                // writing over it drops nothing.
                unsafe { std::ptr::write(self.0, Stage::Consumed) };
            }
        }
        // The future is dropped *in place*: it is pinned, and a pinned value must not
        // move before its Drop runs (an async fn's state may point into itself; moving
        // it out first, as this did with `ptr::replace`, is undefined behaviour that
        // miri reports under Tree Borrows in `task::local_set::tests`, and a Notify waiter
        // still linked in such a future pointed at freed stack memory: a segfault at
        // shutdown, `runtime/tests/pinned_drop.rs`).
        self.stage.with_mut(|ptr| {
            let _consumed = SetConsumed(ptr);
            // SAFETY: exclusive access per the caller's contract; the guard rewrites
            // the slot after the drop.
            unsafe { std::ptr::drop_in_place(ptr) };
        });
    }

    /// # Safety
    /// As for `drop_future_or_output`; the stage is `Consumed`.
    pub(super) unsafe fn store_output(&self, out: Result<T::Output, JoinError>) {
        let stage = match out {
            Ok(value) => Stage::Finished(value),
            Err(e) => match e.try_into_panic() {
                Ok(payload) => Stage::Panicked(payload),
                Err(_cancelled) => Stage::Cancelled,
            },
        };
        // SAFETY: exclusive access per the caller's contract; the old stage is
        // `Consumed`, so overwriting it drops nothing.
        self.stage
            .with_mut(|ptr| unsafe { std::ptr::write(ptr, stage) });
    }

    /// The panic message of a stored panicked output, if that is what the stage holds.
    ///
    /// # Safety
    /// The caller has exclusive (or read-only shared) access to the stage.
    pub(super) unsafe fn panic_message(&self) -> Option<String> {
        // SAFETY: per the caller's contract nobody writes the stage meanwhile.
        self.stage.with(|ptr| match unsafe { &*ptr } {
            Stage::Panicked(payload) => Some(
                super::error::payload_message(&**payload)
                    .unwrap_or("<non-string payload>")
                    .to_string(),
            ),
            _ => None,
        })
    }

    /// # Safety
    /// COMPLETE is set and the caller is the `JoinHandle`, which owns the output.
    pub(super) unsafe fn take_output(&self, id: Id) -> Result<T::Output, JoinError> {
        // SAFETY: per the caller's contract nobody else touches the stage.
        self.stage.with_mut(
            |ptr| match unsafe { std::ptr::replace(ptr, Stage::Consumed) } {
                Stage::Finished(out) => Ok(out),
                Stage::Cancelled => Err(JoinError::cancelled(id)),
                Stage::Panicked(payload) => Err(JoinError::panic(id, payload)),
                _ => panic!("JoinHandle polled after it returned its output"),
            },
        )
    }
}

impl Trailer {
    /// # Safety
    /// The caller owns the waker slot (see JOIN_WAKER in state.rs).
    pub(super) unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: the caller owns the slot.
        self.waker.with_mut(|ptr| unsafe { *ptr = waker });
    }

    /// # Safety
    /// The slot is readable: JOIN_WAKER is set (the handle may read it) or the caller
    /// owns it.
    pub(super) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        // SAFETY: JOIN_WAKER set makes the slot read-only for everyone, so a shared read
        // is sound.
        self.waker.with(|ptr| match unsafe { &*ptr } {
            Some(w) => w.will_wake(waker),
            None => false,
        })
    }

    /// # Safety
    /// COMPLETE and JOIN_WAKER are set: the runtime side may read the slot.
    pub(super) unsafe fn wake_join(&self) {
        self.waker.with(|ptr| {
            // SAFETY: with JOIN_WAKER set the handle no longer writes the slot.
            if let Some(w) = unsafe { &*ptr } {
                w.wake_by_ref();
            }
        });
    }
}
