//! The driver stack, composed in one place (as tokio's `runtime/driver.rs` does):
//!
//! ```text
//!   process::driver::Driver   reaps orphaned children when SIGCHLD fired
//!     └─ signal::driver::Driver   drains the self-pipe, wakes signal listeners
//!          └─ driver::Driver          the mio reactor (epoll): sockets, pipes, pidfds
//! ```
//!
//! Each layer parks on the one below and then does its own work; none calls up. The
//! runtime puts the time driver on top (`runtime/src/driver.rs`).

use std::io;

use crate::driver::{self, Handle};

/// The whole I/O stack: what the runtime parks on.
pub type Stack = crate::process::driver::Driver;

/// Builds the stack: the reactor, the signal layer over it, the process layer on top.
/// Returns it with the reactor's handle (what resources register with).
pub fn new() -> io::Result<(Stack, Handle)> {
    let (io, handle) = driver::Driver::new()?;
    let signal = crate::signal::driver::Driver::new(io, &handle)?;
    Ok((crate::process::driver::Driver::new(signal), handle))
}
