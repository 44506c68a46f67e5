//! The signal layer of the driver stack (io → **signal** → process, see `crate::stack`).
//!
//! It owns this runtime's `dup` of the process-wide self-pipe (`registry`), registered
//! with the reactor below as an ordinary read-only resource. After every park of the
//! reactor it looks at that resource's readiness; when the pipe is readable it drains
//! it and broadcasts the pending signals to their listeners (in every runtime), and
//! remembers which signals fired for the layer above (`take_fired`). The reactor knows
//! nothing about signals, and the registry calls nothing above it.
//!
//! The readiness is cleared through `try_io` with the event seen before the drain, so
//! a signal that arrives after the drain (a new edge, a new tick) is seen on the next
//! park and never lost.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use magpie_base::park::{Park, Unpark};

use crate::driver::Handle;
use crate::registration::{FdSource, PollEvented};
use crate::scheduled_io::Direction;
use crate::signal::registry;

/// The signal layer: parks on the reactor `P`, then dispatches signals.
pub struct Driver<P: Park = crate::driver::Driver> {
    lower: P,
    // Declared before `fd`: deregistered before the fd is closed.
    pipe: PollEvented<FdSource>,
    fd: OwnedFd,
    fired: u128,
    wakers: Vec<std::task::Waker>,
}

impl<P: Park> Driver<P> {
    /// Registers a duplicate of the self-pipe with `handle` (the reactor under
    /// `lower`). Creates the process-wide pipe on first use; installs no OS handler
    /// (`signal()` and `Command::spawn` do that).
    pub fn new(lower: P, handle: &Handle) -> io::Result<Driver<P>> {
        let fd = registry::dup_receiver()?;
        let pipe =
            PollEvented::with_interest(FdSource(fd.as_raw_fd()), handle, mio::Interest::READABLE)?;
        Ok(Driver {
            lower,
            pipe,
            fd,
            fired: 0,
            wakers: Vec::new(),
        })
    }

    /// The layer below (for tests that drive the reactor step by step).
    #[doc(hidden)]
    pub fn lower_mut(&mut self) -> &mut P {
        &mut self.lower
    }

    /// The signals dispatched since the last call (bit `n` = signal `n`).
    pub fn take_fired(&mut self) -> u128 {
        std::mem::take(&mut self.fired)
    }

    fn dispatch(&mut self) {
        // After almost every park the pipe did not fire: one load, then back to the
        // scheduler (measured with benches' `echo_cost`: the full path below cost ~130
        // instructions per park, an `io::Error` and an empty drain).
        if !self.pipe.is_ready(Direction::Read) {
            return;
        }
        let fd = self.fd.as_raw_fd();
        let (wakers, fired) = (&mut self.wakers, &mut self.fired);
        // `Err(WouldBlock)` after draining: `try_io` clears the readiness it saw.
        let _ = self.pipe.try_io(Direction::Read, |_| {
            *fired |= registry::dispatch(fd, wakers);
            Err::<(), _>(io::ErrorKind::WouldBlock.into())
        });
        for w in self.wakers.drain(..) {
            w.wake();
        }
    }
}

impl<P: Park> Park for Driver<P> {
    fn park(&mut self) {
        self.lower.park();
        self.dispatch();
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.lower.park_timeout(duration);
        self.dispatch();
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.lower.unparker()
    }

    fn shutdown(&mut self) {
        self.lower.shutdown();
        // Listeners of this runtime end (`recv` returns `None`): wake them to see it.
        registry::wake_all_listeners();
    }
}

impl<P: Park> Drop for Driver<P> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<P: Park> std::fmt::Debug for Driver<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("signal::Driver")
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}
