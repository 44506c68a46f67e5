//! An async mutex (asyncio's `Lock`) with fair FIFO handoff.

use crate::batch_semaphore as ll;
use std::cell::UnsafeCell;
use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// An async mutual-exclusion lock whose guard may be held across `.await`.
///
/// Fair: when the lock is released while tasks wait, it is handed directly to the
/// longest-waiting task (FIFO), and a newly arriving `lock()` does not barge past them.
/// The uncontended `lock`/unlock pair is two atomic compare-and-swaps and no allocation.
///
/// Prefer a blocking mutex (`std`'s or `parking_lot`'s) for data only touched in short
/// sections that never `.await`; use this one when the guard must live across an await.
///
/// # Examples
///
/// ```
/// use magpie_sync::Mutex;
/// # magpie_sync::__block_on(async {
/// let m = Mutex::new(1);
/// {
///     let mut g = m.lock().await;
///     *g += 1;
/// }
/// assert_eq!(*m.lock().await, 2);
/// assert!(m.try_lock().is_ok());
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    s: ll::Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time, possibly on another
// thread, so it is `Send`/`Sync` exactly when `T: Send` (like `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Exclusive access to a [`Mutex`]'s value; unlocks on drop.
#[must_use = "the mutex is unlocked at once if the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// Auto traits as for `&mut T`: `Sync` only when `T: Sync`.
    _p: PhantomData<&'a mut T>,
}

/// Exclusive access to the value of an `Arc<Mutex<T>>`; unlocks on drop.
#[must_use = "the mutex is unlocked at once if the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
    /// Sharing the guard shares `&T`: `Sync` only when `T: Sync`.
    _p: PhantomData<T>,
}

/// [`Mutex::try_lock`] failed: the mutex is held (or others are queued for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl Error for TryLockError {}

impl TryLockError {
    pub(crate) fn new() -> Self {
        TryLockError(())
    }
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            s: ll::Semaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Creates a mutex in a `const` context (for `static`s).
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Self {
        Mutex {
            s: ll::Semaphore::const_new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning its value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting (in FIFO order) while it is held.
    ///
    /// Cancel-safe: dropping the future before it completes never leaves the mutex
    /// locked (a handoff to a dropped waiter is passed on); the task loses its place in
    /// the queue.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard {
            lock: self,
            _p: PhantomData,
        }
    }

    async fn acquire(&self) {
        // The semaphore of a mutex is never closed.
        if self.s.acquire(1).await.is_err() {
            unreachable!("mutex semaphore closed")
        }
    }

    /// Locks the mutex from synchronous code, blocking the thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a magpie runtime (it would block the tasks of
    /// that thread): use `lock().await` there, or call it from `spawn_blocking`.
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        crate::util::assert_not_in_runtime("blocking_lock");
        crate::util::block_on::block_on(self.lock())
    }

    /// Locks the mutex if it is free now (and nobody is queued).
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(MutexGuard {
                lock: self,
                _p: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks an `Arc`-held mutex, returning a guard that keeps it alive (`'static` when
    /// `T: 'static`, so it can move into spawned tasks). Cancel-safe as [`Mutex::lock`].
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard {
            lock: self,
            _p: PhantomData,
        }
    }

    /// [`Mutex::try_lock`] for an `Arc`-held mutex.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard {
                lock: self,
                _p: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking: the `&mut` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit: no other access exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
