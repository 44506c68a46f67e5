//! Cooperative scheduling budget.
//!
//! Rust futures are cooperative: a task that keeps finding its resources ready (a
//! channel that always has a message, a socket that always has bytes) would never return
//! `Pending`, and would hold its worker forever. The scheduler therefore gives each task
//! poll a budget of [`INITIAL_BUDGET`] operations. Every resource operation that could
//! have waited spends one unit through [`poll_proceed`]; once the budget is spent the
//! operation wakes the task and returns `Pending`, so the task goes to the back of the
//! run queue and the others get their turn. (The idea is the one tokio describes in its
//! "coop" module and blog post on preemption; this is our own implementation.)
//!
//! Outside a runtime (or inside [`with_unconstrained`]) the budget is unconstrained and
//! nothing ever yields for it, which is what makes magpie-sync usable under any executor.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations a task may perform in one poll before it is forced to yield.
pub const INITIAL_BUDGET: u8 = 128;

/// The budget of the current task poll: `None` means unconstrained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget(Option<u8>);

impl Budget {
    /// A fresh budget for one task poll.
    pub const fn initial() -> Budget {
        Budget(Some(INITIAL_BUDGET))
    }

    /// No limit at all.
    pub const fn unconstrained() -> Budget {
        Budget(None)
    }

    /// Units left, or `None` when unconstrained.
    pub const fn remaining(self) -> Option<u8> {
        self.0
    }
}

#[cfg(not(loom))]
thread_local! {
    static CURRENT: Cell<Budget> = const { Cell::new(Budget::unconstrained()) };
}

// loom's model threads share one OS thread: each needs its own budget.
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: Cell<Budget> = Cell::new(Budget::unconstrained());
}

struct ResetGuard(Budget);

impl Drop for ResetGuard {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// Runs `f` (one task poll) with a fresh budget, restoring the previous one afterwards,
/// also when `f` panics.
#[inline]
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::initial(), f)
}

/// Runs `f` with no budget limit.
#[inline]
pub fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::unconstrained(), f)
}

#[inline]
fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    let prev = CURRENT
        .try_with(|c| c.replace(budget))
        .unwrap_or(Budget::unconstrained());
    let _guard = ResetGuard(prev);
    f()
}

/// The budget left to the current poll.
#[inline]
pub fn current() -> Budget {
    CURRENT
        .try_with(|c| c.get())
        .unwrap_or(Budget::unconstrained())
}

/// Whether the current poll may still perform an operation.
#[inline]
pub fn has_budget_remaining() -> bool {
    current().0 != Some(0)
}

/// Spends one unit of budget for an operation about to be attempted.
///
/// Returns `Pending` (after waking the task, so it is polled again soon) when the budget
/// is spent. Otherwise returns a guard: if the operation then turns out not to be ready,
/// dropping the guard gives the unit back; call [`RestoreOnPending::made_progress`] when
/// it completed.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let budget = current();
    match budget.0 {
        None => Poll::Ready(RestoreOnPending(Budget::unconstrained())),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            let _ = CURRENT.try_with(|c| c.set(Budget(Some(n - 1))));
            Poll::Ready(RestoreOnPending(budget))
        }
    }
}

/// Returned by [`poll_proceed`]: gives the spent unit back unless the operation made
/// progress.
#[derive(Debug)]
#[must_use = "dropping the guard at once gives the unit back"]
pub struct RestoreOnPending(Budget);

impl RestoreOnPending {
    /// The operation completed: keep the unit spent.
    #[inline]
    pub fn made_progress(&mut self) {
        self.0 = Budget::unconstrained();
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if let Budget(Some(_)) = self.0 {
            let prev = self.0;
            let _ = CURRENT.try_with(|c| c.set(prev));
        }
    }
}

/// A future that spends one unit of budget, yielding first if the budget is spent.
///
/// Use it in loops that do a lot of work without touching a magpie resource, so that
/// they still give other tasks a turn. Outside a runtime it completes at once.
pub fn consume_budget() -> ConsumeBudget {
    ConsumeBudget { _priv: () }
}

/// Future returned by [`consume_budget`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct ConsumeBudget {
    _priv: (),
}

impl Future for ConsumeBudget {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match poll_proceed(cx) {
            Poll::Ready(mut restore) => {
                restore.made_progress();
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn unconstrained_outside_runtime() {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            assert!(poll_proceed(&mut cx).is_ready());
        }
    }

    #[test]
    fn budget_runs_out_and_is_restored() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..INITIAL_BUDGET {
                let Poll::Ready(mut r) = poll_proceed(&mut cx) else {
                    panic!("budget ran out early")
                };
                r.made_progress();
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
        });
        assert_eq!(current(), Budget::unconstrained());
    }

    #[test]
    fn pending_gives_unit_back() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..1000 {
                let r = poll_proceed(&mut cx);
                assert!(r.is_ready());
                drop(r); // no progress: unit returned
            }
            assert_eq!(current().remaining(), Some(INITIAL_BUDGET));
        });
    }
}
