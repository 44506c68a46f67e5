//! The task state word: one `AtomicUsize` per task, changed only by single atomic
//! read-modify-write operations.
//!
//! # Bit layout
//!
//! ```text
//!  usize::BITS-1 ...        6   5            4              3          2         1          0
//! +--------------------------+-----------+---------------+-----------+---------+----------+---------+
//! | reference count          | JOIN_WAKER| JOIN_INTEREST | CANCELLED | NOTIFIED| COMPLETE | RUNNING |
//! +--------------------------+-----------+---------------+-----------+---------+----------+---------+
//! ```
//!
//! * `RUNNING`: a thread owns the future and is polling (or cancelling) it. Only the
//!   owner of `RUNNING` may touch the future/output stage.
//! * `COMPLETE`: the future is gone and the output (or a `JoinError`) is stored. Once set
//!   it never clears, and `RUNNING` is clear.
//! * `NOTIFIED`: the task has been woken since it was last polled. When the task is
//!   idle, exactly one `Notified` handle for it sits in some run queue; while it runs,
//!   the bit asks the runner to schedule it again when the poll returns.
//! * `CANCELLED`: `abort()` or runtime shutdown asked for cancellation. The next thread
//!   that owns `RUNNING` drops the future instead of polling it.
//! * `JOIN_INTEREST`: the `JoinHandle` is alive; when it is clear, the output is dropped
//!   by whoever completes the task.
//! * `JOIN_WAKER`: the join waker slot in the trailer holds a waker that belongs to the
//!   runtime side. While it is clear (and the task is not complete) the slot belongs to
//!   the `JoinHandle`, which may write it; while it is set, the `JoinHandle` may only
//!   read it. After completion the runtime wakes it and clears the bit, handing the slot
//!   back to the handle (or dropping the waker itself if the handle is gone).
//! * reference count: one for each `Task`/`Notified` handle, the `JoinHandle`, each
//!   `AbortHandle` and each `Waker`. The allocation is freed when it reaches zero.
//!
//! A new task starts as `NOTIFIED | JOIN_INTEREST` with three references: the owned-task
//! list's, the first `Notified`'s (it is queued at spawn) and the `JoinHandle`'s.
//!
//! # Transitions
//!
//! | transition              | from                       | to                                          |
//! |-------------------------|----------------------------|---------------------------------------------|
//! | `transition_to_running` | NOTIFIED, idle             | RUNNING, NOTIFIED cleared ("Cancelled" if CANCELLED) |
//! |                         | running or complete        | drop the `Notified` ref ("Failed"/"Dealloc") |
//! | `transition_to_idle`    | RUNNING, not CANCELLED     | RUNNING cleared; if NOTIFIED keep the ref (reschedule) and +1 ref for the runner, else drop it |
//! |                         | RUNNING, CANCELLED         | unchanged: the runner cancels the future     |
//! | `transition_to_complete`| RUNNING                    | COMPLETE (RUNNING cleared)                  |
//! | `notified_by_ref`       | idle, not NOTIFIED         | NOTIFIED, +1 ref, submit a `Notified`       |
//! |                         | RUNNING                    | NOTIFIED (runner reschedules)               |
//! |                         | NOTIFIED or COMPLETE       | unchanged                                   |
//! | `notified_by_val`       | as by_ref (the waker's ref is dropped after submitting, or at once) |
//!
//! Whoever submits a `Notified` holds a reference of its own until the scheduler call
//! returns (the queue may run and free the task at once): by_ref's caller has the
//! waker's, by_val and `transition_to_idle` add one that the caller drops afterwards.
//! | `notified_and_cancel`   | idle, not NOTIFIED         | NOTIFIED + CANCELLED, +1 ref, submit        |
//! |                         | RUNNING or NOTIFIED        | CANCELLED                                   |
//! | `transition_to_shutdown`| idle                       | RUNNING + CANCELLED: caller cancels now     |
//! |                         | running / complete         | CANCELLED (running: runner cancels)         |
//! | `join_handle_dropped`   | JOIN_INTEREST              | JOIN_INTEREST cleared (+JOIN_WAKER if not complete) |
//!
//! The protocol follows the one tokio documents for its task state (one word, the
//! JOIN_WAKER ownership hand-off); the code is magpie's own.

use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::fmt;

const RUNNING: usize = 0b00_0001;
const COMPLETE: usize = 0b00_0010;
const NOTIFIED: usize = 0b00_0100;
const CANCELLED: usize = 0b00_1000;
const JOIN_INTEREST: usize = 0b01_0000;
const JOIN_WAKER: usize = 0b10_0000;
const LIFECYCLE: usize = RUNNING | COMPLETE;
const REF_SHIFT: u32 = 6;
const REF_ONE: usize = 1 << REF_SHIFT;
const REF_MASK: usize = !(REF_ONE - 1);

/// Three refs (list, first `Notified`, `JoinHandle`), queued, joinable.
const INITIAL: usize = (3 * REF_ONE) | JOIN_INTEREST | NOTIFIED;
/// Unowned tasks (the blocking pool's) have no list ref.
const INITIAL_UNOWNED: usize = (2 * REF_ONE) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

#[must_use]
pub(crate) enum ToRunning {
    Success,
    Cancelled,
    Failed,
    Dealloc,
}

#[must_use]
pub(crate) enum ToIdle {
    Ok,
    OkNotified,
    OkDealloc,
    Cancelled,
}

#[must_use]
pub(crate) enum ToNotifiedByVal {
    DoNothing,
    Submit,
    Dealloc,
}

#[must_use]
pub(crate) enum ToNotifiedByRef {
    DoNothing,
    Submit,
}

impl State {
    pub(crate) fn new(owned: bool) -> State {
        State {
            val: AtomicUsize::new(if owned { INITIAL } else { INITIAL_UNOWNED }),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Runs `f` in a CAS loop; `f` returns the value to report and the next state
    /// (`None`: leave the word unchanged).
    #[inline]
    fn fetch_update<R>(&self, mut f: impl FnMut(Snapshot) -> (R, Option<Snapshot>)) -> R {
        let mut cur = self.load();
        loop {
            let (ret, next) = f(cur);
            let Some(next) = next else { return ret };
            match self
                .val
                .compare_exchange_weak(cur.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return ret,
                Err(actual) => cur = Snapshot(actual),
            }
        }
    }

    /// A queued `Notified` is about to be run.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_notified());
            if !s.is_idle() {
                // Running or complete (shutdown got there first): drop this ref.
                s.ref_dec();
                let r = if s.ref_count() == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Failed
                };
                return (r, Some(s));
            }
            s.0 = (s.0 | RUNNING) & !NOTIFIED;
            let r = if s.is_cancelled() {
                ToRunning::Cancelled
            } else {
                ToRunning::Success
            };
            (r, Some(s))
        })
    }

    /// The poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.fetch_update(|mut s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (ToIdle::Cancelled, None);
            }
            s.0 &= !RUNNING;
            let r = if s.is_notified() {
                // The running `Notified`'s ref becomes the rescheduled one's, and one
                // more keeps the cell alive while the runner queues it.
                s.ref_inc();
                ToIdle::OkNotified
            } else {
                s.ref_dec();
                if s.ref_count() == 0 {
                    ToIdle::OkDealloc
                } else {
                    ToIdle::Ok
                }
            };
            (r, Some(s))
        })
    }

    /// The future finished (or was cancelled): RUNNING -> COMPLETE. Returns the new state.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(LIFECYCLE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ LIFECYCLE)
    }

    /// Drops `count` references after completion. Returns true when the task must be
    /// deallocated.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= count);
        prev.ref_count() == count
    }

    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotifiedByVal {
        self.fetch_update(|mut s| {
            if s.is_running() {
                s.0 |= NOTIFIED;
                s.ref_dec();
                debug_assert!(s.ref_count() > 0);
                (ToNotifiedByVal::DoNothing, Some(s))
            } else if s.is_complete() || s.is_notified() {
                s.ref_dec();
                let r = if s.ref_count() == 0 {
                    ToNotifiedByVal::Dealloc
                } else {
                    ToNotifiedByVal::DoNothing
                };
                (r, Some(s))
            } else {
                // A ref for the `Notified`; the waker keeps its own until the task is
                // queued (the queue may run and free it at once), then drops it.
                s.0 |= NOTIFIED;
                s.ref_inc();
                (ToNotifiedByVal::Submit, Some(s))
            }
        })
    }

    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotifiedByRef {
        self.fetch_update(|mut s| {
            if s.is_complete() || s.is_notified() {
                (ToNotifiedByRef::DoNothing, None)
            } else if s.is_running() {
                s.0 |= NOTIFIED;
                (ToNotifiedByRef::DoNothing, Some(s))
            } else {
                s.0 |= NOTIFIED;
                s.ref_inc();
                (ToNotifiedByRef::Submit, Some(s))
            }
        })
    }

    /// `abort()`. Returns true when the caller must submit a new `Notified` (a ref was
    /// added for it).
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update(|mut s| {
            if s.is_cancelled() || s.is_complete() {
                (false, None)
            } else if s.is_running() || s.is_notified() {
                // The runner, or whoever pops the queued `Notified`, sees CANCELLED.
                s.0 |= CANCELLED;
                (false, Some(s))
            } else {
                s.0 |= CANCELLED | NOTIFIED;
                s.ref_inc();
                (true, Some(s))
            }
        })
    }

    /// Runtime shutdown. Returns true when the caller now owns the (idle) future and must
    /// cancel it.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update(|mut s| {
            let idle = s.is_idle();
            if idle {
                s.0 |= RUNNING;
            }
            s.0 |= CANCELLED;
            (idle, Some(s))
        })
    }

    /// Fast path of dropping a `JoinHandle` of a task that never ran.
    pub(crate) fn drop_join_handle_fast(&self) -> Result<(), ()> {
        self.val
            .compare_exchange(
                INITIAL,
                (INITIAL - REF_ONE) & !JOIN_INTEREST,
                AcqRel,
                Relaxed,
            )
            .map(|_| ())
            .map_err(|_| ())
    }

    /// Clears JOIN_INTEREST, and JOIN_WAKER too unless the task is complete (then the
    /// runtime may still be using the waker). Returns (previous, next).
    pub(crate) fn transition_to_join_handle_dropped(&self) -> (Snapshot, Snapshot) {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested());
            let mut next = Snapshot(s.0 & !JOIN_INTEREST);
            if !s.is_complete() {
                next.0 &= !JOIN_WAKER;
            }
            ((s, next), Some(next))
        })
    }

    /// Hands the join waker slot to the runtime. Fails if the task completed.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            let next = Snapshot(s.0 | JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// Takes the join waker slot back from the runtime. Fails if the task completed.
    pub(crate) fn unset_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                return (Err(s), None);
            }
            let next = Snapshot(s.0 & !JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// After waking the join waker, the runtime gives the slot back. Returns the new state.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        // A count this large means refs are leaking in a loop; stop before it wraps.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Returns true when this was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1);
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE == 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        (self.0 & REF_MASK) >> REF_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}
