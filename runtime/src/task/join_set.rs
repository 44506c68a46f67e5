//! `JoinSet`: a set of spawned tasks, joined in completion order (tokio's `JoinSet`).
//!
//! The handles live in a `magpie_sync` `FutureSet`, whose per-child wakers make
//! `join_next` cost one handle poll per finished task, not one poll per task in the set
//! (the design and its atomic protocol are documented in `sync/src/combinators/set.rs`).

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::runtime::Handle;
use magpie_sync::__private::FutureSet;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A handle that also reports its task's id with the output.
pub(crate) struct WithId<T>(pub(crate) JoinHandle<T>);

impl<T> Future for WithId<T> {
    type Output = (Id, Result<T, JoinError>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.0.id();
        Pin::new(&mut self.0).poll(cx).map(|r| (id, r))
    }
}

/// A collection of spawned tasks, awaited in the order they finish.
///
/// Dropping the set **aborts** every task still in it (use
/// [`detach_all`](JoinSet::detach_all) to let them run on). All tasks must have the
/// same output type.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use magpie_runtime::task::JoinSet;
///
/// let mut set = JoinSet::new();
/// for i in 0..3 {
///     set.spawn(async move { i * 10 });
/// }
/// let mut outputs = Vec::new();
/// while let Some(res) = set.join_next().await {
///     outputs.push(res.unwrap());
/// }
/// outputs.sort();
/// assert_eq!(outputs, vec![0, 10, 20]);
/// # });
/// ```
pub struct JoinSet<T> {
    set: FutureSet<WithId<T>>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        JoinSet {
            set: FutureSet::new(),
        }
    }

    /// How many tasks are in the set (finished ones count until they are joined).
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.set.push(WithId(handle));
        abort
    }

    /// Aborts every task in the set. They stay in the set: join them to see them
    /// finish (as cancelled, unless they had already finished).
    pub fn abort_all(&mut self) {
        for (_, h) in self.set.iter() {
            h.0.abort();
        }
    }

    /// Removes every task from the set without aborting it: they keep running, their
    /// outputs are dropped.
    pub fn detach_all(&mut self) {
        drop(self.set.drain());
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `task` on the current runtime and adds it to the set.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(crate::spawn(task))
    }

    /// Spawns `task` on the runtime behind `handle` and adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(task))
    }

    /// Spawns a `!Send` task on the [`LocalSet`](crate::task::LocalSet) (or local
    /// runtime) driving this thread, and adds it to the set.
    ///
    /// # Panics
    /// Outside a `LocalSet` or local runtime (see [`spawn_local`](crate::task::spawn_local)).
    ///
    /// ```
    /// use std::rc::Rc;
    /// let rt = magpie_runtime::runtime::Builder::new_current_thread().build_local().unwrap();
    /// rt.block_on(async {
    ///     let mut set = magpie_runtime::task::JoinSet::new();
    ///     let base = Rc::new(10);
    ///     for i in 0..3 {
    ///         let base = base.clone();
    ///         set.spawn_local(async move { *base + i });
    ///     }
    ///     let mut sum = 0;
    ///     while let Some(r) = set.join_next().await {
    ///         sum += r.unwrap();
    ///     }
    ///     assert_eq!(sum, 33);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::task::spawn_local(task))
    }

    /// Spawns a `!Send` task on `local` and adds it to the set; it runs when `local`
    /// is driven.
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, task: F, local: &crate::task::LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local.spawn_local(task))
    }

    /// Runs `f` on the blocking pool and adds it to the set (aborting it only works
    /// before it starts).
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(crate::task::spawn_blocking(f))
    }

    /// Waits for the next task to finish and returns its output, or `None` when the
    /// set is empty. Cancel-safe: dropping the future loses no output.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Like [`join_next`](Self::join_next), with the finished task's id.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that has already finished, if any, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|r| r.map(|(_, t)| t))
    }

    /// Like [`try_join_next`](Self::try_join_next), with the finished task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        // Not an async operation: the sweep never consults the coop budget (it used
        // to stop after ~128 finished tasks once the caller's budget was spent).
        self.set.try_next().map(|(_, (id, r))| r.map(|t| (id, t)))
    }

    /// Polls for the next finished task: `Ready(None)` when the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|o| o.map(|r| r.map(|(_, t)| t)))
    }

    /// Polls for the next finished task, with its id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        self.set
            .poll_next(cx)
            .map(|o| o.map(|(_, (id, r))| r.map(|t| (id, t))))
    }

    /// Aborts every task and waits until all have finished; the set is then empty.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    /// When a task panicked (the panic is resumed here; the other tasks are aborted)
    /// or was cancelled.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(t) => out.push(t),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("JoinSet::join_all: {e}"),
            }
        }
        out
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns every future into the set.
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.spawn(f);
        }
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns every future into a new set.
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}
