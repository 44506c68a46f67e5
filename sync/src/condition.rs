//! `Condition`: asyncio's `Condition`, an async condition variable used with a
//! [`Mutex`](crate::Mutex).
//!
//! Built on [`Notify`]: `wait` queues its `Notified` (with `enable`) *before* it releases
//! the lock, so a notifier that takes the lock after that, changes the state and calls
//! `notify_one`/`notify_all`, always reaches it. `notify_one` wakes one queued waiter and
//! stores nothing when none waits (a condition variable has no memory); `notify_all` is
//! `notify_waiters`. A waiter cancelled after it was picked by `notify_one` passes the
//! notification on (`Notified`'s drop), so no wakeup is lost.

use crate::mutex::MutexGuard;
use crate::notify::Notify;
use std::fmt;
use std::pin::pin;

/// An async condition variable (asyncio's `Condition`, `std::sync::Condvar`'s
/// semantics) used with a [`Mutex`](crate::Mutex).
///
/// [`wait`](Condition::wait) atomically releases the guard and waits for a
/// notification, then re-locks. Wake-ups can be spurious (a notification meant for
/// another condition, or one passed on by a cancelled waiter): check the condition in a
/// loop, or use [`wait_while`](Condition::wait_while).
///
/// # Examples
///
/// ```
/// use magpie_sync::{Condition, Mutex};
/// use std::sync::Arc;
/// # magpie_sync::__block_on(async {
/// let pair = Arc::new((Mutex::new(false), Condition::new()));
/// let p = pair.clone();
/// std::thread::spawn(move || {
///     let (lock, cond) = &*p;
///     *lock.blocking_lock() = true;
///     cond.notify_one();
/// });
/// let (lock, cond) = &*pair;
/// let ready = cond.wait_while(lock.lock().await, |ready| !*ready).await;
/// assert!(*ready);
/// # });
/// ```
pub struct Condition {
    notify: Notify,
}

impl Condition {
    /// A condition with no waiter.
    pub fn new() -> Self {
        Condition {
            notify: Notify::new(),
        }
    }

    /// A condition in a `const` context (for `static`s).
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        Condition {
            notify: Notify::const_new(),
        }
    }

    /// Releases `guard`, waits for [`notify_one`](Condition::notify_one) or
    /// [`notify_all`](Condition::notify_all), and locks the mutex again.
    ///
    /// Cancel-safe for notifications (a `notify_one` handed to a dropped `wait` goes to
    /// another waiter), but the guard is gone once the future was polled: the caller must
    /// lock again.
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::mutex(&guard);
        let mut notified = pin!(self.notify.notified_unbudgeted());
        // Queued before the unlock: a notification after it is not missed.
        notified.as_mut().enable();
        drop(guard);
        notified.await;
        mutex.lock().await
    }

    /// Waits while `condition` returns `true` (it is checked first, with the lock held),
    /// and returns the guard once it returns `false`.
    pub async fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes one task waiting in [`wait`](Condition::wait) (the longest-waiting one), if
    /// any. Nothing is remembered when none waits.
    pub fn notify_one(&self) {
        self.notify.notify_one_waiter();
    }

    /// Wakes every task waiting in [`wait`](Condition::wait) now.
    pub fn notify_all(&self) {
        self.notify.notify_waiters();
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").finish_non_exhaustive()
    }
}
