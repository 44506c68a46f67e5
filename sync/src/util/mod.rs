//! Building blocks shared by the primitives: the intrusive waiter list, a batch of
//! wakers to fire outside a lock, an atomic waker cell, a tiny blocking executor, and the
//! budget wrapper for futures that may complete without waiting.

pub(crate) mod atomic_waker;
pub(crate) mod block_on;
pub(crate) mod linked_list;
#[allow(unused_imports)]
pub(crate) mod rwlock;
pub(crate) mod wake_list;

use magpie_base::coop;
use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// Drops `v`; if its `Drop` panics, keeps the first panic in `panic` (to be resumed once
/// the caller has dropped everything else) instead of unwinding now.
pub(crate) fn drop_catching<T>(v: T, panic: &mut Option<Box<dyn Any + Send>>) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(v))) {
        panic.get_or_insert(p);
    }
}

/// Wraps a future so that each poll spends one unit of the cooperative budget, kept
/// only when the future completes: an operation that is always ready (a `changed()`
/// on a watch that keeps changing) still yields once the task's budget is spent.
pub(crate) fn cooperative<F: Future>(fut: F) -> Cooperative<F> {
    Cooperative { fut }
}

/// Future of [`cooperative`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Cooperative<F> {
    fut: F,
}

impl<F: Future> Future for Cooperative<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut coop = ready!(coop::poll_proceed(cx));
        // SAFETY: `fut` is structurally pinned: never moved out of the pinned wrapper.
        let fut = unsafe { self.map_unchecked_mut(|s| &mut s.fut) };
        let out = ready!(fut.poll(cx));
        coop.made_progress();
        Poll::Ready(out)
    }
}

/// Panics, with advice, when a `blocking_*` method is called on a thread that drives a
/// magpie runtime (blocking it would stall every task of that thread, and deadlock if
/// the awaited event depends on one of them).
#[track_caller]
pub(crate) fn assert_not_in_runtime(what: &str) {
    if magpie_base::context::in_runtime() {
        panic!(
            "`{what}` was called from inside an asynchronous runtime: it would block the \
             thread that drives the runtime's tasks (and deadlock if the event it waits \
             for depends on one of them). Use the async version with `.await` instead, \
             or call it from a thread outside the runtime (`spawn_blocking`, \
             `block_in_place`, or a plain `std::thread`)."
        );
    }
}
