//! The contract between the scheduler and the drivers it parks on.
//!
//! The runtime composes its drivers as a stack: a worker with nothing to run parks on the
//! time driver, which parks on the I/O driver (`mio::Poll::poll` with the next timer
//! deadline as its timeout), or on a plain condvar when I/O is disabled. Each layer
//! implements [`Park`] over the layer below it, and hands out an [`Unpark`] that
//! interrupts a blocked `park` from any thread. Drivers do not know the scheduler; the
//! scheduler knows drivers only through these two traits.

use std::sync::Arc;
use std::time::Duration;

/// Interrupts a thread blocked in [`Park::park`] (or makes its next `park` return at
/// once: an unpark is never lost).
pub trait Unpark: Send + Sync + 'static {
    /// Wakes the parked thread, or arranges for its next park to return immediately.
    fn unpark(&self);
}

/// A driver a thread can block on while it waits for events.
pub trait Park: Send + 'static {
    /// Blocks until an event arrives or [`Unpark::unpark`] is called. Spurious returns
    /// are allowed.
    fn park(&mut self);

    /// Like [`Park::park`] but returns after at most `duration`. A zero duration polls
    /// for ready events without blocking.
    fn park_timeout(&mut self, duration: Duration);

    /// A handle that interrupts this driver's `park` from another thread.
    fn unparker(&self) -> Arc<dyn Unpark>;

    /// Called once when the runtime shuts down: wake every waiter of this driver (their
    /// resources now report "runtime shut down").
    fn shutdown(&mut self);
}

/// The bottom of the driver stack when I/O is disabled: a condvar.
#[derive(Debug)]
pub struct CondvarPark {
    inner: Arc<CondvarInner>,
}

#[derive(Debug, Default)]
struct CondvarInner {
    notified: std::sync::Mutex<bool>,
    condvar: std::sync::Condvar,
}

impl CondvarPark {
    /// A parker with no pending unpark.
    pub fn new() -> CondvarPark {
        CondvarPark {
            inner: Arc::new(CondvarInner::default()),
        }
    }

    fn park_inner(&self, timeout: Option<Duration>) {
        let mut notified = self
            .inner
            .notified
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !*notified {
            match timeout {
                Some(d) if d.is_zero() => {}
                Some(d) => {
                    notified = self
                        .inner
                        .condvar
                        .wait_timeout(notified, d)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                None => {
                    while !*notified {
                        notified = self
                            .inner
                            .condvar
                            .wait(notified)
                            .unwrap_or_else(|e| e.into_inner());
                    }
                }
            }
        }
        *notified = false;
    }
}

impl Default for CondvarPark {
    fn default() -> Self {
        Self::new()
    }
}

impl Unpark for CondvarInner {
    fn unpark(&self) {
        *self.notified.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.condvar.notify_one();
    }
}

impl Park for CondvarPark {
    fn park(&mut self) {
        self.park_inner(None);
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.park_inner(Some(duration));
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.inner.clone()
    }

    fn shutdown(&mut self) {
        self.inner.unpark();
    }
}

impl<P: Park + ?Sized> Park for Box<P> {
    fn park(&mut self) {
        (**self).park();
    }

    fn park_timeout(&mut self, duration: Duration) {
        (**self).park_timeout(duration);
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        (**self).unparker()
    }

    fn shutdown(&mut self) {
        (**self).shutdown();
    }
}
