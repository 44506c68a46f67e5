//! Unix pipes and FIFOs (tokio's `tokio::net::unix::pipe`): [`pipe`] makes an anonymous
//! pipe, [`OpenOptions`] opens a named pipe (FIFO) as a [`Sender`] or [`Receiver`].
//!
//! Both ends are registered with the driver for their one direction and go through the
//! one I/O path (`PollEvented`), like sockets: the futures (`readable`, `writable`,
//! `ready`) wait as waiter-list entries, the `poll_*` methods keep one waker.

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::task::{Context, Poll};

use crate::driver::Handle;
use crate::interest::Interest;
use crate::registration::PollEvented;
use crate::scheduled_io::{Direction, Ready};

/// A new anonymous pipe, both ends registered with the current driver.
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let handle = Handle::current()?;
    let (tx, rx) = mio::unix::pipe::new()?;
    Ok((
        Sender {
            io: PollEvented::with_interest(tx, &handle, mio::Interest::WRITABLE)?,
        },
        Receiver {
            io: PollEvented::with_interest(rx, &handle, mio::Interest::READABLE)?,
        },
    ))
}

/// Options for opening a FIFO as a [`Sender`] or [`Receiver`].
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read_write: bool,
    unchecked: bool,
}

impl OpenOptions {
    /// Default options: open for one direction only, check that the file is a FIFO.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Opens the FIFO read-write (Linux): a sender then opens even with no reader, and
    /// a receiver never sees end-of-file when the last writer closes.
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the file is a FIFO.
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    fn open(&self, path: &Path, write: bool) -> io::Result<File> {
        let mut options = std::fs::OpenOptions::new();
        options
            .read(!write || self.read_write)
            .write(write || self.read_write)
            .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK);
        let file = options.open(path)?;
        if !self.unchecked && !file.metadata()?.file_type().is_fifo() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a pipe (FIFO)",
            ));
        }
        Ok(file)
    }

    /// Opens the FIFO at `path` for reading. It opens even when no writer exists yet.
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        Handle::current()?;
        Receiver::from_file_unchecked(self.open(path.as_ref(), false)?)
    }

    /// Opens the FIFO at `path` for writing. Without `read_write`, fails with `ENXIO`
    /// while no reader has it open (the kernel's rule for non-blocking FIFOs).
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        Handle::current()?;
        Sender::from_file_unchecked(self.open(path.as_ref(), true)?)
    }
}

fn nonblocking_pipe_fd(file: File) -> io::Result<OwnedFd> {
    let fd = OwnedFd::from(file);
    // SAFETY: `fd` is an open descriptor owned by this function; F_GETFL/F_SETFL only
    // read and change its status flags.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(fd)
}

/// The writing end of a pipe or FIFO: an `AsyncWrite`.
#[derive(Debug)]
pub struct Sender {
    pub(crate) io: PollEvented<mio::unix::pipe::Sender>,
}

/// The reading end of a pipe or FIFO: an `AsyncRead`.
#[derive(Debug)]
pub struct Receiver {
    pub(crate) io: PollEvented<mio::unix::pipe::Receiver>,
}

impl Sender {
    /// Wraps an open FIFO (checked to be one; switched to non-blocking mode).
    pub fn from_file(file: File) -> io::Result<Sender> {
        if !file.metadata()?.file_type().is_fifo() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a pipe (FIFO)",
            ));
        }
        Sender::from_file_unchecked(file)
    }

    /// Wraps an open pipe without checking its type (switched to non-blocking mode).
    pub fn from_file_unchecked(file: File) -> io::Result<Sender> {
        let tx = mio::unix::pipe::Sender::from(nonblocking_pipe_fd(file)?);
        Ok(Sender {
            io: PollEvented::with_interest(tx, &Handle::current()?, mio::Interest::WRITABLE)?,
        })
    }

    /// Waits until writable (any number of tasks may wait).
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Waits until ready in `interest` (only writability is ever reported).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready_interest(interest).await
    }

    /// Polls for write readiness (the most recent call's waker is kept).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Writes what fits without waiting: `WouldBlock` when nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Vectored [`try_write`](Self::try_write).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Deregisters and returns the descriptor (still non-blocking).
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        Ok(OwnedFd::from(self.io.into_inner()))
    }
}

impl Receiver {
    /// Wraps an open FIFO (checked to be one; switched to non-blocking mode).
    pub fn from_file(file: File) -> io::Result<Receiver> {
        if !file.metadata()?.file_type().is_fifo() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a pipe (FIFO)",
            ));
        }
        Receiver::from_file_unchecked(file)
    }

    /// Wraps an open pipe without checking its type (switched to non-blocking mode).
    pub fn from_file_unchecked(file: File) -> io::Result<Receiver> {
        let rx = mio::unix::pipe::Receiver::from(nonblocking_pipe_fd(file)?);
        Ok(Receiver {
            io: PollEvented::with_interest(rx, &Handle::current()?, mio::Interest::READABLE)?,
        })
    }

    /// Waits until readable (any number of tasks may wait).
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until ready in `interest` (only readability is ever reported).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready_interest(interest).await
    }

    /// Polls for read readiness (the most recent call's waker is kept).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Reads what is available without waiting: `WouldBlock` when nothing is, `0` once
    /// every writer closed.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Vectored [`try_read`](Self::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Deregisters and returns the descriptor (still non-blocking).
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        Ok(OwnedFd::from(self.io.into_inner()))
    }
}

impl AsRawFd for Sender {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for Receiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
