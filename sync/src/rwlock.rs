//! An async reader-writer lock, fair and write-preferring.

use crate::batch_semaphore as ll;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

pub use crate::mutex::TryLockError;

/// Readers share the lock, a writer holds it alone; guards may be held across `.await`.
///
/// Built on the FIFO semaphore core: a reader takes 1 of `max_readers` permits, a writer
/// takes all of them. Because the queue is FIFO and a writer at its head is assigned
/// released permits first, a waiting writer blocks readers that arrive after it
/// (write-preferring: writers are not starved), and readers queued behind a writer are
/// admitted together once it is done.
///
/// # Examples
///
/// ```
/// use magpie_sync::RwLock;
/// # magpie_sync::__block_on(async {
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await;
///     assert_eq!(*r1 + *r2, 10);
///     assert!(lock.try_write().is_err());
/// }
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 6);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    max_readers: u32,
    s: ll::Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: a writer gets `&mut T` (needs `T: Send` to be used from another thread) and
// readers share `&T` across threads (needs `T: Sync`), as for `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

const MAX_READS: u32 = u32::MAX >> 3;

/// Shared access; releases on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _p: PhantomData<&'a T>,
}

/// Exclusive access; releases on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _p: PhantomData<&'a mut T>,
}

/// Shared access to an `Arc<RwLock<T>>`; releases on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    _p: PhantomData<T>,
}

/// Exclusive access to an `Arc<RwLock<T>>`; releases on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    _p: PhantomData<T>,
}

impl<T> RwLock<T> {
    /// Creates an unlocked lock.
    pub fn new(value: T) -> Self {
        Self::with_max_readers(value, MAX_READS)
    }

    /// Creates a lock admitting at most `max_reads` concurrent readers.
    ///
    /// # Panics
    ///
    /// If `max_reads` is 0 or above `u32::MAX >> 3`.
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> Self {
        assert!(
            max_reads > 0 && max_reads <= MAX_READS,
            "max_reads must be in 1..={MAX_READS}"
        );
        RwLock {
            max_readers: max_reads,
            s: ll::Semaphore::new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    async fn acquire(&self, n: u32) {
        if self.s.acquire(n as usize).await.is_err() {
            unreachable!("rwlock semaphore closed")
        }
    }

    /// Waits for shared access. Cancel-safe (never leaves the lock held; loses the
    /// place in the queue).
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard {
            lock: self,
            _p: PhantomData,
        }
    }

    /// Waits for exclusive access. Cancel-safe as [`RwLock::read`]; a writer dropped
    /// after being partly admitted gives back the read slots it had collected.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.max_readers).await;
        RwLockWriteGuard {
            lock: self,
            _p: PhantomData,
        }
    }

    /// Shared access now, or an error if a writer holds or awaits the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.s
            .try_acquire(1)
            .map(|()| RwLockReadGuard {
                lock: self,
                _p: PhantomData,
            })
            .map_err(|_| TryLockError::new())
    }

    /// Exclusive access now, or an error.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.s
            .try_acquire(self.max_readers as usize)
            .map(|()| RwLockWriteGuard {
                lock: self,
                _p: PhantomData,
            })
            .map_err(|_| TryLockError::new())
    }

    /// [`RwLock::read`] returning an owned guard. Cancel-safe.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard {
            lock: self,
            _p: PhantomData,
        }
    }

    /// [`RwLock::write`] returning an owned guard. Cancel-safe.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.max_readers).await;
        OwnedRwLockWriteGuard {
            lock: self,
            _p: PhantomData,
        }
    }

    /// [`RwLock::try_read`] returning an owned guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedRwLockReadGuard {
                lock: self,
                _p: PhantomData,
            }),
            Err(_) => Err(TryLockError::new()),
        }
    }

    /// [`RwLock::try_write`] returning an owned guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.s.try_acquire(self.max_readers as usize) {
            Ok(()) => Ok(OwnedRwLockWriteGuard {
                lock: self,
                _p: PhantomData,
            }),
            Err(_) => Err(TryLockError::new()),
        }
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Shared access from synchronous code, blocking the thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a magpie runtime (it would block the tasks of
    /// that thread): use `read().await` there, or call it from `spawn_blocking`.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        crate::util::assert_not_in_runtime("blocking_read");
        crate::util::block_on::block_on(self.read())
    }

    /// Exclusive access from synchronous code, blocking the thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a magpie runtime (it would block the tasks of
    /// that thread): use `write().await` there, or call it from `spawn_blocking`.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        crate::util::assert_not_in_runtime("blocking_write");
        crate::util::block_on::block_on(self.write())
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns exclusive access into shared access without letting a writer in between.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.s.release(lock.max_readers as usize - 1);
        RwLockReadGuard {
            lock,
            _p: PhantomData,
        }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Turns exclusive access into shared access without letting a writer in between.
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the Arc is moved out exactly once.
        let lock = unsafe { std::ptr::read(&this.lock) };
        lock.s.release(lock.max_readers as usize - 1);
        OwnedRwLockReadGuard {
            lock,
            _p: PhantomData,
        }
    }
}

macro_rules! guard_impls {
    ($guard:ident, $($lt:lifetime)?, $permits:expr, mut: $m:tt) => {
        impl<$($lt,)? T: ?Sized> Deref for $guard<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds read or write permits, which exclude writers
                // other than itself.
                unsafe { &*self.lock.data.get() }
            }
        }

        impl<$($lt,)? T: ?Sized> Drop for $guard<$($lt,)? T> {
            fn drop(&mut self) {
                #[allow(clippy::redundant_closure_call)]
                let n = ($permits)(&*self.lock);
                self.lock.s.release(n);
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        guard_impls!(@mut $m, $guard, $($lt)?);
    };
    (@mut yes, $guard:ident, $($lt:lifetime)?) => {
        impl<$($lt,)? T: ?Sized> DerefMut for $guard<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: the guard holds every permit: it is the only accessor.
                unsafe { &mut *self.lock.data.get() }
            }
        }
    };
    (@mut no, $guard:ident, $($lt:lifetime)?) => {};
}

fn one<T: ?Sized>(_: &RwLock<T>) -> usize {
    1
}

fn all<T: ?Sized>(l: &RwLock<T>) -> usize {
    l.max_readers as usize
}

guard_impls!(RwLockReadGuard, 'a, one, mut: no);
guard_impls!(RwLockWriteGuard, 'a, all, mut: yes);
guard_impls!(OwnedRwLockReadGuard, , one, mut: no);
guard_impls!(OwnedRwLockWriteGuard, , all, mut: yes);
