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
