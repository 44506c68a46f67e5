//! Task-local values (tokio's `task_local!`; asyncio's `contextvars`).
//!
//! A task-local is a thread-local slot that holds a value only while a *scope* runs:
//! [`LocalKey::scope`] wraps a future and, around each of its polls, swaps the scope's
//! value into the slot and back out, so the value follows the future wherever it is
//! polled and is invisible to every other task on the thread. Scopes nest (an inner
//! scope shadows the outer one and restores it on exit). Values are inherited
//! explicitly, not implicitly: a spawned task does not see its parent's task-locals
//! unless it is spawned inside its own `scope`.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;

/// Declares task-local keys: `static NAME: Type;`, each a [`LocalKey`](crate::task::LocalKey).
///
/// ```
/// magpie_runtime::task_local! {
///     /// The id of the request being served.
///     pub static REQUEST_ID: u64;
/// }
///
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// REQUEST_ID.scope(7, async {
///     assert_eq!(REQUEST_ID.get(), 7);
/// }).await;
/// assert!(REQUEST_ID.try_with(|_| ()).is_err());
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __KEY: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { inner: __KEY }
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub inner: thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    /// Runs `future` with the task-local set to `value` (asyncio: a context in which
    /// the variable is set). The value is dropped with the returned future.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            local: self,
            slot: Some(value),
            future: Some(future),
            _pinned: PhantomPinned,
        }
    }

    /// Runs the closure `f` with the task-local set to `value`.
    ///
    /// ```
    /// magpie_runtime::task_local! { static DEPTH: u32; }
    /// let d = DEPTH.sync_scope(3, || DEPTH.get());
    /// assert_eq!(d, 3);
    /// ```
    ///
    /// # Panics
    /// When the task-local is borrowed by an enclosing [`with`](Self::with).
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut slot = Some(value);
        match self.scope_inner(&mut slot, f) {
            Ok(r) => r,
            Err(e) => e.panic(),
        }
    }

    fn scope_inner<F: FnOnce() -> R, R>(
        &'static self,
        slot: &mut Option<T>,
        f: F,
    ) -> Result<R, ScopeInnerErr> {
        struct Guard<'a, T: 'static> {
            local: &'static LocalKey<T>,
            slot: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Guard<'_, T> {
            fn drop(&mut self) {
                // The borrow cannot fail: `with` borrows end before the scope does.
                self.local.inner.with(|inner| {
                    let mut r = inner.borrow_mut();
                    std::mem::swap(self.slot, &mut *r);
                });
            }
        }

        self.inner.try_with(|inner| {
            inner
                .try_borrow_mut()
                .map(|mut r| std::mem::swap(slot, &mut *r))
        })??;
        let _guard = Guard { local: self, slot };
        Ok(f())
    }

    /// Runs `f` with a reference to the task-local's value.
    ///
    /// # Panics
    /// Outside a scope of this key. Use [`try_with`](Self::try_with) for a `Result`.
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "cannot access a task-local value outside of its scope: \
                 run the code inside `KEY.scope(value, future)`"
            ),
        }
    }

    /// Runs `f` with a reference to the task-local's value, or returns an error
    /// outside a scope of this key.
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        let r = self.inner.try_with(|v| {
            let v = v.borrow();
            v.as_ref().map(f)
        });
        match r {
            Ok(Some(r)) => Ok(r),
            _ => Err(AccessError { _p: () }),
        }
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A copy of the task-local's value.
    ///
    /// # Panics
    /// Outside a scope of this key.
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(|v| v.clone())
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// The error of [`LocalKey::try_with`] outside a scope.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _p: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}

enum ScopeInnerErr {
    Borrow,
    Access,
}

impl ScopeInnerErr {
    #[track_caller]
    fn panic(&self) -> ! {
        match self {
            ScopeInnerErr::Borrow => {
                panic!("cannot enter a task-local scope while the task-local is borrowed by `with`")
            }
            ScopeInnerErr::Access => {
                panic!("cannot enter a task-local scope during or after thread-local destruction")
            }
        }
    }
}

impl From<std::cell::BorrowMutError> for ScopeInnerErr {
    fn from(_: std::cell::BorrowMutError) -> Self {
        ScopeInnerErr::Borrow
    }
}

impl From<thread::AccessError> for ScopeInnerErr {
    fn from(_: thread::AccessError) -> Self {
        ScopeInnerErr::Access
    }
}

/// A future run inside a task-local scope; see [`LocalKey::scope`].
#[must_use = "futures do nothing unless polled"]
pub struct TaskLocalFuture<T: 'static, F> {
    local: &'static LocalKey<T>,
    slot: Option<T>,
    future: Option<F>,
    _pinned: PhantomPinned,
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// The value of the scope, when the future is not being polled (`None` once it
    /// completed).
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        // SAFETY: `slot` is not structurally pinned; only `future` is.
        let this = unsafe { self.get_unchecked_mut() };
        this.slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out, only polled in
        // place and dropped in place (set to `None`); `slot` and `local` are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let local = this.local;
        let future = &mut this.future;
        let res = local.scope_inner(&mut this.slot, || match future.as_mut() {
            Some(f) => {
                // SAFETY: see above; the future stays where it is until dropped.
                let f = unsafe { Pin::new_unchecked(f) };
                let r = f.poll(cx);
                if r.is_ready() {
                    *future = None;
                }
                Some(r)
            }
            None => None,
        });
        match res {
            Ok(Some(r)) => r,
            Ok(None) => panic!("`TaskLocalFuture` polled after completion"),
            Err(e) => e.panic(),
        }
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        // Drop the future inside the scope, so its destructors can read the value.
        if self.future.is_some() {
            let future = &mut self.future;
            let _ = self.local.scope_inner(&mut self.slot, || *future = None);
            // Outside the scope (the slot is borrowed, or TLS is gone): drop it plainly.
            self.future = None;
        }
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.slot)
            .finish()
    }
}
