//! `Event`: asyncio's `Event`, a flag tasks can wait on.

use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::notify::Notify;
use std::fmt;

/// A settable flag: [`wait`](Event::wait) returns once the flag is set. Like asyncio's
/// `Event`: `set` wakes every waiting task, the flag stays set until `clear`.
///
/// # Examples
///
/// ```
/// use magpie_sync::Event;
/// # magpie_sync::__block_on(async {
/// let ev = Event::new();
/// assert!(!ev.is_set());
/// ev.set();
/// ev.wait().await; // returns at once: the flag is set
/// ev.clear();
/// assert!(!ev.is_set());
/// # });
/// ```
pub struct Event {
    flag: AtomicBool,
    notify: Notify,
}

impl Event {
    /// Creates an event whose flag is clear.
    pub fn new() -> Self {
        Event {
            flag: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    /// Sets the flag and wakes every task waiting in [`wait`](Event::wait).
    pub fn set(&self) {
        self.flag.store(true, SeqCst);
        self.notify.notify_waiters();
    }

    /// Clears the flag; later `wait` calls wait for the next `set`.
    pub fn clear(&self) {
        self.flag.store(false, SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(SeqCst)
    }

    /// Waits until the flag is set (returns at once if it is). A `set` that happens
    /// while a task waits releases it even if the flag is cleared again before the task
    /// runs, as in asyncio.
    ///
    /// Cancel-safe.
    pub async fn wait(&self) {
        crate::util::cooperative(async {
            // Created before the check, so a `set` after the check is never missed.
            let notified = self.notify.notified_unbudgeted();
            if self.is_set() {
                return;
            }
            notified.await;
        })
        .await
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}
