use super::{Id, JoinError, RawTask};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned permission to await a spawned task's output (asyncio's `Task`).
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] when the task panicked or was
/// cancelled. Dropping it *detaches* the task: it keeps running, and its output is
/// dropped when it finishes. [`abort`](JoinHandle::abort) cancels it.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = magpie_runtime::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
///
/// let forever = magpie_runtime::spawn(std::future::pending::<()>());
/// forever.abort();
/// assert!(forever.await.unwrap_err().is_cancelled());
/// # });
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _p: PhantomData<T>,
}

// SAFETY: the handle only gives access to a `T` by value (the output), so it may move
// between threads when `T: Send`; `&JoinHandle` exposes no `T` at all.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for JoinHandle<T> {}
impl<T> UnwindSafe for JoinHandle<T> {}
impl<T> RefUnwindSafe for JoinHandle<T> {}
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose output type is `T`, and the caller transfers the join
    /// reference.
    pub(crate) unsafe fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _p: PhantomData,
        }
    }

    /// Cancels the task (asyncio's `Task.cancel()`).
    ///
    /// An idle task has its future dropped promptly on a runtime thread; a running task
    /// is cancelled when its current poll returns. Awaiting the handle afterwards gives
    /// `Err(JoinError::is_cancelled())`, unless the task had already finished.
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has finished: returned, panicked or been cancelled (asyncio's
    /// `done()`). Awaiting a finished task's handle completes at once.
    pub fn is_finished(&self) -> bool {
        self.raw.is_complete()
    }

    /// A handle that can abort the task without owning its output.
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut coop = std::task::ready!(magpie_base::coop::poll_proceed(cx));
        let mut ret: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `ret` has the task's output type, and we are its `JoinHandle`.
        unsafe {
            self.raw
                .try_read_output(&mut ret as *mut _ as *mut (), cx.waker())
        };
        if ret.is_ready() {
            coop.made_progress();
        }
        ret
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: we own the join reference.
        unsafe { self.raw.drop_join_handle() }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Cancels a task without owning its output; cloneable, and dropping it does nothing
/// to the task.
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: an `AbortHandle` reaches only the task's atomic state, never its future or
// output.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}
impl UnwindSafe for AbortHandle {}
impl RefUnwindSafe for AbortHandle {}

impl AbortHandle {
    /// Cancels the task; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.raw.is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { self.raw.drop_reference() }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
