//! `SetOnce`: a cell set at most once, that tasks can wait on until it is set (tokio
//! 1.47's `SetOnce`).
//!
//! `value_set` (atomic) says the value is written; it is set (release) after the write,
//! under a short blocking lock that makes concurrent `set` calls take turns, and then
//! `notify_waiters` wakes every waiting task. A waiter creates its `Notified` before it
//! checks the flag, so a `set` after the check always reaches it.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::notify::Notify;
use std::error::Error;
use std::fmt;
use std::mem::MaybeUninit;

/// A thread-safe cell that is set at most once, with an async [`wait`](SetOnce::wait)
/// for the value.
///
/// Unlike [`OnceCell`](crate::OnceCell), nobody initialises it on demand: one party
/// [`set`](SetOnce::set)s it, the others wait for it.
///
/// # Examples
///
/// ```
/// use magpie_sync::SetOnce;
/// use std::sync::Arc;
/// # magpie_sync::__block_on(async {
/// let cell = Arc::new(SetOnce::new());
/// let c = cell.clone();
/// std::thread::spawn(move || c.set(42).unwrap());
/// assert_eq!(*cell.wait().await, 42);
/// assert!(cell.set(1).is_err());
/// # });
/// ```
pub struct SetOnce<T> {
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    /// Serialises `set` calls (held only to check, write and publish).
    set_lock: Mutex<()>,
    notify: Notify,
}

// SAFETY: the value is written once, under `set_lock`, before `value_set` is published,
// and only read (shared) afterwards: sharing needs `T: Sync`, and `T: Send` because the
// writer may be another thread.
unsafe impl<T: Sync + Send> Sync for SetOnce<T> {}
// SAFETY: moving the cell moves the value.
unsafe impl<T: Send> Send for SetOnce<T> {}

/// [`SetOnce::set`] failed: the cell was already set. The value is handed back.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnce already set")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}

impl<T> SetOnce<T> {
    /// An empty cell.
    pub fn new() -> Self {
        SetOnce {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            set_lock: Mutex::new(()),
            notify: Notify::new(),
        }
    }

    /// An empty cell in a `const` context (for `static`s).
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        SetOnce {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            set_lock: Mutex::new(()),
            notify: Notify::const_new(),
        }
    }

    /// A cell holding `value` if it is `Some`.
    pub fn new_with(value: Option<T>) -> Self {
        let cell = SetOnce::new();
        if let Some(v) = value {
            let _ = cell.set(v);
        }
        cell
    }

    /// A cell already holding `value`, in a `const` context.
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> Self {
        SetOnce {
            value_set: AtomicBool::new(true),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            set_lock: Mutex::new(()),
            notify: Notify::const_new(),
        }
    }

    /// Whether the cell is set.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Acquire)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if !self.initialized() {
            return None;
        }
        // SAFETY: `value_set` (acquire) says the value is written; it is never written
        // again while `&self` borrows exist.
        Some(self.value.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// Sets the value and wakes every task in [`wait`](SetOnce::wait); fails (handing
    /// the value back) if the cell is already set.
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        if self.initialized() {
            return Err(SetOnceError(value));
        }
        {
            let _guard = self.set_lock.lock();
            if self.initialized() {
                return Err(SetOnceError(value));
            }
            // SAFETY: under `set_lock` with `value_set` false: no reader (they check the
            // flag first) and no other writer.
            self.value.with_mut(|p| unsafe { (*p).write(value) });
            self.value_set.store(true, Release);
        }
        self.notify.notify_waiters();
        Ok(())
    }

    /// Waits until the cell is set (returns at once if it is) and borrows the value.
    ///
    /// Cancel-safe.
    pub async fn wait(&self) -> &T {
        crate::util::cooperative(async {
            loop {
                // Created before the check: a `set` after it reaches this future.
                let notified = self.notify.notified_unbudgeted();
                if let Some(v) = self.get() {
                    return v;
                }
                notified.await;
            }
        })
        .await
    }

    /// The value, if set.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    fn take(&mut self) -> Option<T> {
        if !self.value_set.load(Acquire) {
            return None;
        }
        self.value_set.store(false, Relaxed);
        // SAFETY: set, and `&mut self` is exclusive; the flag is cleared so the value
        // is read out only once.
        Some(self.value.with_mut(|p| unsafe { (*p).assume_init_read() }))
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl<T> Default for SetOnce<T> {
    fn default() -> Self {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> Self {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> Self {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}
