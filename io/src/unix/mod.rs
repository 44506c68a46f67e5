//! Unix-specific I/O: [`AsyncFd`], readiness for a file descriptor you own (tokio's
//! `tokio::io::unix`).

mod async_fd;

pub use async_fd::{
    AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, TryIoError,
};
