//! The local scheduler: the `S` of every task a `LocalSet` owns.
//!
//! A local task is an ordinary task cell (`task/core.rs`: one allocation, the same state
//! word, the same harness); only its scheduler differs. The scheduler's `Shared` is the
//! part that any thread may reach (through a task's waker or `AbortHandle`), so it is
//! `Send + Sync`; the future itself is polled and dropped only on the set's thread.
//!
//! ```text
//!   the set's thread                               any thread
//!   ----------------                               ----------
//!   tick (inside run_until / the set's poll):      wake / abort -> schedule():
//!     lock remote: store the poller's waker,          CURRENT is this set on this
//!       append the remote queue to the local one        thread? push to the local
//!     run up to MAX_TASKS_PER_TICK local tasks          queue (and, when entered
//!     more left? wake own waker                          with `enter()`, wake the
//!                                                        poller too)
//!                                                     else lock remote:
//!                                                       closed? drop the Notified
//!                                                       else push, take the waker
//!                                                     unlock, wake the waker
//! ```
//!
//! State, and who may touch it:
//!
//! * `local`: the local run queue. Touched only on the set's thread: by the tick and
//!   drop (both reached through `&LocalSet`, which is `!Send`), and by `schedule` when
//!   the thread-local `CURRENT` names this set, which only code holding `&LocalSet`
//!   sets, on its own thread. Every access is one short closure; none overlaps
//!   another (a task is popped, then run outside the closure).
//! * `remote`: queue + the poller's waker + `closed`, under one mutex. A remote push
//!   takes the waker (the next tick stores it again, under the same lock, before it
//!   drains), so a wake that lands after a drain always finds a waker to fire, and a
//!   push that finds none knows a wake is already pending. `closed` is set by the
//!   set's drop after every task was shut down: a later push drops its `Notified` on
//!   the spot. That task is complete by then, so dropping the reference never runs
//!   its future's `Drop` on a foreign thread.
//!
//! tokio's `LocalSet` has the same split (a local queue, a remote queue, an
//! `AtomicWaker`); here the waker shares the remote queue's lock.

use crate::context;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::obs::{Observer, TaskMeta};
use crate::scheduler;
use crate::task::list::OwnedTasks;
use crate::task::{self, Schedule, Task};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::task::Waker;

pub(super) type Notified = task::Notified<Arc<Shared>>;

/// Tasks run per tick before the set yields to whoever polls it (so timers, I/O and
/// the runtime's other tasks run while local tasks keep waking each other).
pub(super) const MAX_TASKS_PER_TICK: usize = 61;

pub(crate) struct Shared {
    pub(super) owned: OwnedTasks<Arc<Shared>>,
    local: UnsafeCell<VecDeque<Notified>>,
    remote: Mutex<Remote>,
    /// `UnhandledPanic::ShutdownRuntime` for this set.
    pub(super) shutdown_on_panic: AtomicBool,
    /// A task panicked under `shutdown_on_panic`: the set fails its poller.
    pub(super) panicked: AtomicBool,
    /// A tick is running (set's thread only): driving the set again from inside one of
    /// its own tasks would replace the poller's waker with the task's and strand it.
    /// (A std atomic even under loom: it is no part of the wake protocol.)
    pub(super) ticking: std::sync::atomic::AtomicBool,
    /// The runtime the set first ran in: its observer (hooks, debug mode, the panic
    /// report sink), and the context entered while the set drops its tasks.
    pub(super) rt: OnceLock<scheduler::Handle>,
}

struct Remote {
    queue: VecDeque<Notified>,
    waker: Option<Waker>,
    closed: bool,
}

// SAFETY: `local` is the only field that is not Sync on its own; it is touched only on
// the set's thread (see the module comment), or by whoever drops the last `Arc`, which
// the `Arc`'s counter orders after every other access.
unsafe impl Sync for Shared {}
// SAFETY: as above; every other field is Send.
unsafe impl Send for Shared {}

impl Shared {
    pub(super) fn new() -> Shared {
        Shared {
            owned: OwnedTasks::new(1),
            local: UnsafeCell::new(VecDeque::with_capacity(64)),
            remote: Mutex::new(Remote {
                queue: VecDeque::new(),
                waker: None,
                closed: false,
            }),
            shutdown_on_panic: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            ticking: std::sync::atomic::AtomicBool::new(false),
            rt: OnceLock::new(),
        }
    }

    /// Stores `waker` as the poller's and moves remotely woken tasks to the local
    /// queue. Called on the set's thread, at the start of each tick.
    pub(super) fn register_and_drain(&self, waker: &Waker) {
        // Cloned before the lock, and the replaced waker dropped after it: a waker's
        // clone or drop is user code, which may wake a task of this very set.
        let new = waker.clone();
        let mut remote = self.remote.lock();
        let old = match &remote.waker {
            Some(w) if w.will_wake(waker) => Some(new),
            _ => remote.waker.replace(new),
        };
        if !remote.queue.is_empty() {
            // SAFETY: on the set's thread (the caller holds `&LocalSet`); no other
            // access to the local queue is live.
            self.local
                .with_mut(|q| unsafe { (*q).append(&mut remote.queue) });
        }
        drop(remote);
        drop(old);
    }

    /// The next local task. On the set's thread only.
    pub(super) fn pop_local(&self) -> Option<Notified> {
        // SAFETY: on the set's thread (the caller holds `&LocalSet`); the access ends
        // before the task runs.
        self.local.with_mut(|q| unsafe { (*q).pop_front() })
    }

    /// Whether the local queue is empty. On the set's thread only.
    pub(super) fn local_is_empty(&self) -> bool {
        // SAFETY: as for `pop_local`.
        self.local.with(|q| unsafe { (*q).is_empty() })
    }

    /// Shuts the queues: drops every queued `Notified` (after the owned list was shut
    /// down, so each task is complete), closes the remote queue so later wakes drop
    /// theirs at once, and drops the poller's waker. On the set's thread only.
    pub(super) fn close_queues(&self) {
        while let Some(task) = self.pop_local() {
            drop(task);
        }
        let (queue, waker) = {
            let mut remote = self.remote.lock();
            remote.closed = true;
            (std::mem::take(&mut remote.queue), remote.waker.take())
        };
        // Outside the lock: dropping a task reference may free its cell.
        drop(queue);
        drop(waker);
    }

    /// Wakes whoever polls the set (its `run_until`, or the set as a future).
    fn wake_poller(&self) {
        let waker = self.remote.lock().waker.take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn push_remote(&self, task: Notified) {
        let mut remote = self.remote.lock();
        if remote.closed {
            drop(remote);
            // The set is gone and the task with it (complete): only a reference drop.
            drop(task);
            return;
        }
        remote.queue.push_back(task);
        let waker = remote.waker.take();
        drop(remote);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn push_local(&self, task: Notified) {
        // SAFETY: called only when `CURRENT` names this set on this thread, which means
        // the set's thread (module comment); no other access is live.
        self.local.with_mut(|q| unsafe { (*q).push_back(task) });
    }

    /// Reports a panic nobody will read: to the runtime's sink, or stderr.
    fn report_unretrieved(&self, meta: &TaskMeta, msg: &str) {
        match self.rt.get() {
            Some(h) => h.observer().report_unretrieved(meta, msg),
            None => crate::obs::report_unretrieved_default(meta, msg),
        }
    }
}

impl Schedule for Arc<Shared> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified) {
        match current_mode(self) {
            Some(wake_poller) => {
                self.push_local(task);
                if wake_poller {
                    // Entered with `enter()`, maybe outside any poll of the set: make
                    // sure a poll comes.
                    self.wake_poller();
                }
            }
            None => self.push_remote(task),
        }
    }

    fn observer(&self) -> Option<&Observer> {
        self.rt.get().and_then(|h| h.observer().active())
    }

    fn task_panicked(&self, meta: &TaskMeta, msg: &str, unretrieved: bool) {
        if unretrieved {
            self.report_unretrieved(meta, msg);
        }
        if self.shutdown_on_panic.load(Ordering::Relaxed) {
            self.panicked.store(true, Ordering::Relaxed);
        }
    }

    fn panic_dropped(&self, meta: &TaskMeta, msg: &str) {
        self.report_unretrieved(meta, msg);
    }
}

// ---- the thread-local "current local set" ----

struct Current {
    /// The set entered on this thread (a strong reference, so a guard dropped out of
    /// order, or leaked, leaves a stale but live set, never a dangling one).
    set: RefCell<Option<Arc<Shared>>>,
    /// Entered with `enter()`: a local schedule also wakes the poller.
    wake_poller: Cell<bool>,
}

impl Current {
    #[cfg(not(loom))]
    const fn new() -> Current {
        Current {
            set: RefCell::new(None),
            wake_poller: Cell::new(false),
        }
    }
    #[cfg(loom)]
    fn new() -> Current {
        Current {
            set: RefCell::new(None),
            wake_poller: Cell::new(false),
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    static CURRENT: Current = const { Current::new() };
}

// loom runs its threads as coroutines on one OS thread (see context.rs).
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: Current = Current::new();
}

/// `Some(wake_poller)` when `shared` is the set entered on this thread.
fn current_mode(shared: &Arc<Shared>) -> Option<bool> {
    CURRENT
        .try_with(|c| match &*c.set.borrow() {
            Some(s) if Arc::ptr_eq(s, shared) => Some(c.wake_poller.get()),
            _ => None,
        })
        .ok()
        .flatten()
}

/// The set entered on this thread, if any.
pub(super) fn current() -> Option<Arc<Shared>> {
    CURRENT.try_with(|c| c.set.borrow().clone()).ok().flatten()
}

/// Restores the previously entered set on drop.
pub(super) struct EnterGuard {
    prev: Option<Arc<Shared>>,
    prev_wake: bool,
}

/// Makes `shared` the set entered on this thread. The caller holds the `&LocalSet`
/// that owns `shared`: this is the set's thread.
pub(super) fn enter(shared: &Arc<Shared>, wake_poller: bool) -> EnterGuard {
    let (prev, prev_wake) = CURRENT
        .try_with(|c| {
            let prev = c.set.borrow_mut().replace(shared.clone());
            (prev, c.wake_poller.replace(wake_poller))
        })
        .unwrap_or((None, false));
    EnterGuard { prev, prev_wake }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let wake = self.prev_wake;
        let old = CURRENT
            .try_with(|c| {
                c.wake_poller.set(wake);
                c.set.replace(prev)
            })
            .ok()
            .flatten();
        // Outside the borrow: this may be the last reference to a set.
        drop(old);
    }
}

/// The runtime current on this thread, remembered by the set the first time it runs.
pub(super) fn remember_runtime(shared: &Shared) {
    if shared.rt.get().is_none() {
        if let Ok(h) = context::with_current(|h| h.clone()) {
            let _ = shared.rt.set(h);
        }
    }
}
