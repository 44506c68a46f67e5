//! `TaskGroup`: asyncio 3.11's structured concurrency. Tasks spawned into a group are
//! awaited together; the first failure (an `Err` or a panic) cancels the rest, and the
//! group's error carries every failure, never swallowing one.

use super::join_set::JoinSet;
use super::{AbortHandle, Id, JoinError};
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A group of tasks awaited together (asyncio's `async with TaskGroup() as tg`).
///
/// Every task yields `Result<T, E>`. Awaiting the group gives `Ok` with every task's
/// value **in spawn order**, or, as soon as one task fails (returns `Err` or panics),
/// aborts the others and gives a [`GroupError`] listing every failure: the first, and
/// any that happened before the others were cancelled. Tasks cancelled by the group are
/// not failures; a task cancelled from outside (through its `AbortHandle`) is.
///
/// Dropping the group, or the future awaiting it, aborts every task in it.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use magpie_runtime::task::TaskGroup;
///
/// let mut group = TaskGroup::new();
/// for i in 1..=3 {
///     group.spawn(async move { Ok::<_, String>(i * 2) });
/// }
/// assert_eq!(group.await.unwrap(), vec![2, 4, 6]);
///
/// let mut group = TaskGroup::<u32, String>::new();
/// group.spawn(async { Err("bad input".to_string()) });
/// group.spawn(std::future::pending()); // cancelled when the first task fails
/// let err = group.await.unwrap_err();
/// assert_eq!(err.errors().collect::<Vec<_>>(), vec!["bad input"]);
/// # });
/// ```
pub struct TaskGroup<T, E> {
    set: JoinSet<Result<T, E>>,
    index: HashMap<Id, usize>,
    spawned: usize,
}

impl<T, E> TaskGroup<T, E> {
    /// An empty group.
    pub fn new() -> Self {
        TaskGroup {
            set: JoinSet::new(),
            index: HashMap::new(),
            spawned: 0,
        }
    }

    /// How many tasks were spawned into the group.
    pub fn len(&self) -> usize {
        self.spawned
    }

    /// Whether no task was spawned into the group.
    pub fn is_empty(&self) -> bool {
        self.spawned == 0
    }

    /// Cancels every task in the group (awaiting the group then reports those that
    /// had not finished as cancelled failures).
    pub fn abort_all(&mut self) {
        self.set.abort_all();
    }
}

impl<T: Send + 'static, E: Send + 'static> TaskGroup<T, E> {
    /// Spawns `task` on the current runtime into the group (asyncio's
    /// `tg.create_task(coro)`); its output is the group's `spawn`-order slot.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let abort = self.set.spawn(task);
        self.index.insert(abort.id(), self.spawned);
        self.spawned += 1;
        abort
    }
}

impl<T, E> Default for TaskGroup<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("spawned", &self.spawned)
            .field("running", &self.set.len())
            .finish()
    }
}

impl<T: 'static, E: 'static> IntoFuture for TaskGroup<T, E> {
    type Output = Result<Vec<T>, GroupError<E>>;
    type IntoFuture = GroupJoin<T, E>;

    fn into_future(self) -> GroupJoin<T, E> {
        let mut results = Vec::with_capacity(self.spawned);
        results.resize_with(self.spawned, || None);
        GroupJoin {
            group: self,
            results,
            failures: Vec::new(),
            cancelling: false,
        }
    }
}

/// The future that awaits a [`TaskGroup`] (its `IntoFuture`).
#[must_use = "futures do nothing unless polled"]
pub struct GroupJoin<T, E> {
    group: TaskGroup<T, E>,
    results: Vec<Option<T>>,
    failures: Vec<TaskFailure<E>>,
    cancelling: bool,
}

impl<T, E> Unpin for GroupJoin<T, E> {}

impl<T, E> fmt::Debug for GroupJoin<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupJoin")
            .field("group", &self.group)
            .field("failures", &self.failures.len())
            .finish()
    }
}

impl<T: 'static, E: 'static> GroupJoin<T, E> {
    fn fail(&mut self, failure: TaskFailure<E>) {
        self.failures.push(failure);
        if !self.cancelling {
            self.cancelling = true;
            self.group.set.abort_all();
        }
    }
}

impl<T: 'static, E: 'static> Future for GroupJoin<T, E> {
    type Output = Result<Vec<T>, GroupError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let next = match this.group.set.poll_join_next_with_id(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(next) => next,
            };
            match next {
                Some(Ok((id, Ok(value)))) => {
                    let i = this.group.index[&id];
                    this.results[i] = Some(value);
                }
                Some(Ok((id, Err(error)))) => {
                    let index = this.group.index[&id];
                    this.fail(TaskFailure::Error { index, error });
                }
                Some(Err(e)) => {
                    let index = this.group.index[&e.id()];
                    if e.is_panic() {
                        this.fail(TaskFailure::Panic { index, error: e });
                    } else if !this.cancelling {
                        this.fail(TaskFailure::Cancelled { index, error: e });
                    }
                }
                None => break,
            }
        }
        if this.failures.is_empty() {
            let values = std::mem::take(&mut this.results)
                .into_iter()
                .map(|v| v.expect("TaskGroup polled after completion"))
                .collect();
            Poll::Ready(Ok(values))
        } else {
            Poll::Ready(Err(GroupError {
                failures: std::mem::take(&mut this.failures),
            }))
        }
    }
}

/// One failed task of a [`TaskGroup`].
#[derive(Debug)]
pub enum TaskFailure<E> {
    /// The task returned `Err(error)`.
    Error {
        /// The task's position in spawn order.
        index: usize,
        /// What it returned.
        error: E,
    },
    /// The task panicked (`error.is_panic()`; `error.into_panic()` has the payload).
    Panic {
        /// The task's position in spawn order.
        index: usize,
        /// The join error holding the panic.
        error: JoinError,
    },
    /// The task was cancelled from outside the group before any failure.
    Cancelled {
        /// The task's position in spawn order.
        index: usize,
        /// The cancellation.
        error: JoinError,
    },
}

impl<E> TaskFailure<E> {
    /// The failed task's position in spawn order.
    pub fn index(&self) -> usize {
        match self {
            TaskFailure::Error { index, .. }
            | TaskFailure::Panic { index, .. }
            | TaskFailure::Cancelled { index, .. } => *index,
        }
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskFailure::Panic { .. })
    }
}

impl<E: fmt::Display> fmt::Display for TaskFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Error { index, error } => write!(f, "task #{index} failed: {error}"),
            TaskFailure::Panic { index, error } | TaskFailure::Cancelled { index, error } => {
                write!(f, "task #{index}: {error}")
            }
        }
    }
}

/// Every failure of a [`TaskGroup`] (asyncio's `ExceptionGroup`), in the order they
/// were observed; the first one caused the others to be cancelled.
#[derive(Debug)]
pub struct GroupError<E> {
    failures: Vec<TaskFailure<E>>,
}

impl<E> GroupError<E> {
    /// The failures, first one first (never empty).
    pub fn failures(&self) -> &[TaskFailure<E>] {
        &self.failures
    }

    /// The failures, by value.
    pub fn into_failures(self) -> Vec<TaskFailure<E>> {
        self.failures
    }

    /// The failure that made the group cancel the others.
    pub fn first(&self) -> &TaskFailure<E> {
        &self.failures[0]
    }

    /// The `Err` values returned by tasks (panics and cancellations left out).
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.failures.iter().filter_map(|f| match f {
            TaskFailure::Error { error, .. } => Some(error),
            _ => None,
        })
    }

    /// The join errors of the tasks that panicked.
    pub fn panics(&self) -> impl Iterator<Item = &JoinError> {
        self.failures.iter().filter_map(|f| match f {
            TaskFailure::Panic { error, .. } => Some(error),
            _ => None,
        })
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} task(s) of the group failed", self.failures.len())?;
        for failure in &self.failures {
            write!(f, "; {failure}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}
