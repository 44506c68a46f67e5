//! `OnceCell`: a value initialised at most once, possibly by an async function.
//!
//! States: `value_set == false` (empty, or being initialised by the holder of the
//! semaphore's single permit) and `value_set == true` (the value is written and never
//! changes until `&mut` access). The initialiser writes the value, then sets the flag
//! (release), then closes the semaphore, which fails every queued initialiser; they then
//! read the value (acquire on the flag). A cancelled initialiser releases its permit, so
//! the next queued one runs its own initialisation (FIFO).

use crate::batch_semaphore::{self as ll, TryAcquireError};
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

/// A thread-safe cell written once, with async initialisation.
///
/// # Examples
///
/// ```
/// use magpie_sync::OnceCell;
/// # magpie_sync::__block_on(async {
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
/// let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
/// assert_eq!(v, "loaded");
/// assert_eq!(CONFIG.get().map(String::as_str), Some("loaded"));
/// # });
/// ```
pub struct OnceCell<T> {
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    semaphore: ll::Semaphore,
}

// SAFETY: the value is written once (by the permit holder) before `value_set` is
// published, and only read (shared) afterwards: `Sync` needs `T: Sync` for the sharing
// and `T: Send` because the writer may be another thread.
unsafe impl<T: Sync + Send> Sync for OnceCell<T> {}
// SAFETY: moving the cell moves the value.
unsafe impl<T: Send> Send for OnceCell<T> {}

/// Why [`OnceCell::set`] failed; the value is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another task is initialising the cell right now.
    InitializingError(T),
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("cell already initialized"),
            SetError::InitializingError(_) => f.write_str("cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> Error for SetError<T> {}

/// Returns the initialisation permit unless disarmed (the initialiser was cancelled or
/// failed).
struct InitGuard<'a>(&'a ll::Semaphore, bool);

impl Drop for InitGuard<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.release(1);
        }
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> Self {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: ll::Semaphore::new(1),
        }
    }

    /// An empty cell in a `const` context (for `static`s).
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: ll::Semaphore::const_new(1),
        }
    }

    /// A cell holding `value` if it is `Some`.
    pub fn new_with(value: Option<T>) -> Self {
        let cell = OnceCell::new();
        if let Some(v) = value {
            let _ = cell.set(v);
        }
        cell
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Acquire)
    }

    fn get_unchecked(&self) -> &T {
        // SAFETY: callers checked `value_set` (acquire): the value is written and never
        // written again while `&self` borrows exist.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }

    /// The value, if initialised.
    pub fn get(&self) -> Option<&T> {
        self.initialized().then(|| self.get_unchecked())
    }

    /// Mutable access to the value, if initialised.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: initialised, and `&mut self` is exclusive.
            Some(self.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
        } else {
            None
        }
    }

    /// Writes the value while holding the permit, then publishes it.
    fn publish(&self, value: T) -> &T {
        // SAFETY: we hold the only permit and `value_set` is false: nobody reads or
        // writes the cell.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        self.value_set.store(true, Release);
        // Fails every queued initialiser; they read the value instead. The permit is
        // never returned.
        self.semaphore.close();
        self.get_unchecked()
    }

    /// Sets the value if the cell is empty and nobody is initialising it.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire(1) {
            Ok(()) => {
                self.publish(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// The value, initialising it with `f().await` first if the cell is empty. Only one
    /// task runs its initialiser at a time; the others wait for its result.
    ///
    /// Cancel-safe: if the initialising task is cancelled, the next waiting task runs
    /// its own initialiser.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) })
            .await
        {
            Ok(v) => v,
            Err(e) => match e {},
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init) with a fallible initialiser; on
    /// error the cell stays empty and the next waiting task tries. Cancel-safe.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.initialized() {
            // Completing without waiting still spends budget (the acquire below spends
            // it on the other path).
            magpie_base::coop::consume_budget().await;
            return Ok(self.get_unchecked());
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                let mut guard = InitGuard(&self.semaphore, true);
                if self.initialized() {
                    return Ok(self.get_unchecked());
                }
                let value = f().await?;
                guard.1 = false;
                Ok(self.publish(value))
            }
            Err(_) => {
                debug_assert!(self.initialized());
                Ok(self.get_unchecked())
            }
        }
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }

    /// Consumes the cell, returning the value if initialised.
    pub fn into_inner(self) -> Option<T> {
        let this = std::mem::ManuallyDrop::new(self);
        if this.initialized() {
            // SAFETY: initialised; `this` is never dropped, so the value is moved once.
            Some(this.value.with(|p| unsafe { (*p).assume_init_read() }))
        } else {
            None
        }
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: initialised, and being dropped: dropped exactly once here.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
