//! The parent's ends of a child's stdio pipes, registered with the driver.

use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use mio::unix::pipe::{Receiver, Sender};

use crate::driver::Handle;
use crate::registration::PollEvented;

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
}

/// The writing end of a child's stdin (`Stdio::piped()`), an [`AsyncWrite`](futures_io::AsyncWrite).
///
/// [`close`](crate::AsyncWriteExt::close) (or dropping it) closes the pipe, so the child
/// reads end-of-file.
pub struct ChildStdin {
    pub(crate) io: Option<PollEvented<Sender>>,
}

/// The reading end of a child's stdout (`Stdio::piped()`), an [`AsyncRead`](futures_io::AsyncRead).
pub struct ChildStdout {
    pub(crate) io: PollEvented<Receiver>,
}

/// The reading end of a child's stderr (`Stdio::piped()`), an [`AsyncRead`](futures_io::AsyncRead).
pub struct ChildStderr {
    pub(crate) io: PollEvented<Receiver>,
}

impl ChildStdin {
    pub(crate) fn new(std: std::process::ChildStdin, handle: &Handle) -> io::Result<ChildStdin> {
        let sender = Sender::from(std);
        sender.set_nonblocking(true)?;
        Ok(ChildStdin {
            io: Some(PollEvented::with_interest(
                sender,
                handle,
                mio::Interest::WRITABLE,
            )?),
        })
    }

    /// Wraps a std `ChildStdin` (switching it to non-blocking mode) in the current
    /// runtime.
    pub fn from_std(std: std::process::ChildStdin) -> io::Result<ChildStdin> {
        ChildStdin::new(std, &Handle::current()?)
    }
}

impl ChildStdout {
    pub(crate) fn new(std: std::process::ChildStdout, handle: &Handle) -> io::Result<ChildStdout> {
        Ok(ChildStdout {
            io: register_receiver(Receiver::from(std), handle)?,
        })
    }

    /// Wraps a std `ChildStdout` (switching it to non-blocking mode) in the current
    /// runtime.
    pub fn from_std(std: std::process::ChildStdout) -> io::Result<ChildStdout> {
        ChildStdout::new(std, &Handle::current()?)
    }
}

impl ChildStderr {
    pub(crate) fn new(std: std::process::ChildStderr, handle: &Handle) -> io::Result<ChildStderr> {
        Ok(ChildStderr {
            io: register_receiver(Receiver::from(std), handle)?,
        })
    }

    /// Wraps a std `ChildStderr` (switching it to non-blocking mode) in the current
    /// runtime.
    pub fn from_std(std: std::process::ChildStderr) -> io::Result<ChildStderr> {
        ChildStderr::new(std, &Handle::current()?)
    }
}

fn register_receiver(r: Receiver, handle: &Handle) -> io::Result<PollEvented<Receiver>> {
    r.set_nonblocking(true)?;
    PollEvented::with_interest(r, handle, mio::Interest::READABLE)
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &self.io {
            Some(io) => io.poll_write(cx, buf),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &self.io {
            Some(io) => io.poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe has no user-space buffer.
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Deregisters and closes the pipe: the child reads end-of-file.
        drop(self.io.take());
        Poll::Ready(Ok(()))
    }
}

macro_rules! fd_impls {
    ($name:ident, $($field:tt)+) => {
        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.$($field)+.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.$($field)+.as_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    };
}

fd_impls!(ChildStdout, io.get_ref());
fd_impls!(ChildStderr, io.get_ref());

impl ChildStdin {
    /// The pipe's descriptor, or `None` after [`close`](crate::AsyncWriteExt::close).
    pub fn as_raw_fd_opt(&self) -> Option<RawFd> {
        self.io.as_ref().map(|io| io.get_ref().as_raw_fd())
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("fd", &self.as_raw_fd_opt())
            .finish()
    }
}
