//! `shield`: await a task's result without cancelling it when the awaiting side goes
//! away (asyncio's `asyncio.shield`).

use super::{Id, JoinError, JoinHandle};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns `future` as its own task and returns a [`Shield`] to await its output: if the
/// code awaiting the shield is cancelled (its future dropped, a `select!` branch lost, a
/// timeout fired), the task keeps running to completion (asyncio's `shield(aw)`).
///
/// To shield a task you already spawned, use `Shield::from(handle)`.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use magpie_runtime::task::shield;
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// let shielded = shield(async move {
///     magpie_runtime::task::yield_now().await;
///     tx.send("saved").unwrap();
/// });
/// drop(shielded); // the awaiting side gives up...
/// magpie_runtime::task::yield_now().await;
/// magpie_runtime::task::yield_now().await;
/// assert_eq!(rx.try_recv(), Ok("saved")); // ...but the work still completed
/// # });
/// ```
///
/// # Panics
/// Outside a runtime.
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Shield {
        handle: crate::spawn(future),
    }
}

/// A task's output, awaited without the power to cancel the task; see [`shield`].
///
/// Dropping it leaves the task running. It has no `abort`;
/// [`into_handle`](Shield::into_handle) gives the `JoinHandle` back when cancelling is
/// wanted after all.
#[must_use = "futures do nothing unless polled"]
pub struct Shield<T> {
    handle: JoinHandle<T>,
}

impl<T> Shield<T> {
    /// The shielded task's id.
    pub fn id(&self) -> Id {
        self.handle.id()
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// The task's `JoinHandle`.
    pub fn into_handle(self) -> JoinHandle<T> {
        self.handle
    }
}

impl<T> From<JoinHandle<T>> for Shield<T> {
    fn from(handle: JoinHandle<T>) -> Self {
        Shield { handle }
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle).poll(cx)
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield")
            .field("handle", &self.handle)
            .finish()
    }
}
