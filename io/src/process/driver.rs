//! The process layer of the driver stack (io → signal → **process**, see
//! `crate::stack`): after every park of the signal layer, if SIGCHLD fired, it reaps
//! the orphaned children (`reap::reap_orphans`). This is the hook that used to be a call
//! from the signal registry up into `process`: the registry now only reports which
//! signals fired, and this layer acts on them.

use std::sync::Arc;
use std::time::Duration;

use magpie_base::park::{Park, Unpark};

use crate::process::reap::reap_orphans;
use crate::signal::driver::Driver as SignalDriver;

/// The process layer: parks on the signal layer, then reaps orphans on SIGCHLD.
#[derive(Debug)]
pub struct Driver {
    signal: SignalDriver,
}

impl Driver {
    /// Wraps the signal layer.
    pub fn new(signal: SignalDriver) -> Driver {
        Driver { signal }
    }

    /// The reactor at the bottom (for tests that drive it step by step).
    #[doc(hidden)]
    pub fn reactor_mut(&mut self) -> &mut crate::driver::Driver {
        self.signal.lower_mut()
    }

    fn after_park(&mut self) {
        if self.signal.take_fired() & (1u128 << libc::SIGCHLD) != 0 {
            reap_orphans();
        }
    }
}

impl Park for Driver {
    fn park(&mut self) {
        self.signal.park();
        self.after_park();
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.signal.park_timeout(duration);
        self.after_park();
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.signal.unparker()
    }

    fn shutdown(&mut self) {
        self.signal.shutdown();
    }
}
