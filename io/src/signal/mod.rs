//! Asynchronous Unix signal handling (tokio's `tokio::signal` names).
//!
//! [`ctrl_c`] waits for one SIGINT; [`unix::signal`] creates a [`unix::Signal`] listener
//! for any signal that may be handled. Every listener of a signal sees every delivery
//! that happens after it was created (several deliveries between two `recv`s coalesce
//! into one), in whichever runtime it lives.
//!
//! ```no_run
//! # async fn doc() -> std::io::Result<()> {
//! use magpie_io::signal::unix::{signal, SignalKind};
//!
//! let mut hangups = signal(SignalKind::hangup())?;
//! while hangups.recv().await.is_some() {
//!     println!("reloading the configuration");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! The first listener of a signal number installs a process-wide handler for it (through
//! `signal-hook-registry`, which chains to a handler installed before). The handler only
//! sets an atomic flag and writes a byte into a self-pipe; each I/O driver with a
//! listener watches its own duplicate of the pipe, and whichever driver wakes first
//! wakes every listener of the signals that arrived. See `docs/process.md`.
//!
//! # Caveats
//!
//! * Handlers are never removed: once a listener for SIGINT was created, Ctrl-C no
//!   longer terminates the process by default, even after the listener is dropped (as
//!   with tokio). Handle it, or exit yourself.
//! * SIGKILL, SIGSTOP, SIGILL, SIGFPE and SIGSEGV cannot be listened for: [`unix::signal`]
//!   returns an `InvalidInput` error.
//! * A listener is tied to the runtime it was created in: when that runtime shuts down,
//!   `recv` returns `None`.

use std::io;

#[doc(hidden)]
pub mod driver;
pub mod registry;
pub mod unix;

/// Waits for the next SIGINT (Ctrl-C in a terminal) delivered after this call started.
///
/// The first call installs a SIGINT handler for the rest of the process's life, so
/// Ctrl-C stops terminating the process by default (see the [module docs](self)).
///
/// # Errors
/// Outside a runtime with I/O enabled; when the runtime shuts down while waiting; when
/// the handler cannot be installed.
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// magpie_io::signal::ctrl_c().await?;
/// println!("shutting down");
/// # Ok(())
/// # }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut sigint = unix::signal(unix::SignalKind::interrupt())?;
    match sigint.recv().await {
        Some(()) => Ok(()),
        None => Err(crate::driver::shut_down()),
    }
}
