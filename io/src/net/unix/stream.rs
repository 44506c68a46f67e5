//! `UnixStream`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use crate::interest::Interest;
use crate::net::split;
use crate::registration::PollEvented;
use crate::scheduled_io::{Direction, Ready};

/// A Unix-domain stream socket registered with the magpie I/O driver.
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path` (on Linux, `"\0name"` is an abstract name).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        crate::driver::Handle::current()?;
        let addr = super::socket_addr(path.as_ref())?;
        let stream = UnixStream::new(mio::net::UnixStream::connect_addr(&addr)?)?;
        stream.io.ready(Direction::Write).await?;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A connected pair.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        crate::driver::Handle::current()?;
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::new(a)?, UnixStream::new(b)?))
    }

    pub(crate) fn new(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(s)?,
        })
    }

    /// Wraps a std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::new(mio::net::UnixStream::from_std(stream))
    }

    /// Deregisters and returns the std stream (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let s = self.io.into_inner();
        // mio has no `From<UnixStream>` for the std type: go through the fd.
        Ok(std::os::unix::net::UnixStream::from(
            std::os::fd::OwnedFd::from(s),
        ))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the pending socket error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read, write or both halves at once (see
    /// [`TcpStream::shutdown_std`](crate::net::TcpStream::shutdown_std)).
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.check_shutdown()?;
        self.io.get_ref().shutdown(how)
    }

    /// Waits until ready in any direction of `interest`.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready_interest(interest).await
    }

    /// Waits until readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Reads without waiting.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Vectored [`try_read`](Self::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Writes without waiting.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Vectored [`try_write`](Self::try_write).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Polls for read readiness. Only the waker of the most recent call is kept (as in
    /// tokio); use [`readable`](Self::readable) when several tasks wait.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness (the most recent call's waker is kept).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Runs `f` if the driver reported the stream ready in `interest`, else returns
    /// `WouldBlock`; a `WouldBlock` from `f` clears the readiness (tokio's `try_io`).
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io(interest, |_| f())
    }

    /// Waits for readiness in `interest` and runs `f` until it does not return
    /// `WouldBlock` (tokio's `async_io`).
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.async_io(interest, |_| f()).await
    }

    /// Reads into memory that may be uninitialised (a fresh buffer from
    /// `Vec::with_capacity`, `BytesMut`, hyper's read buffer): no zeroing first, which
    /// futures-io's `poll_read(&mut [u8])` would force. On `Ready(Ok(n))` the first `n`
    /// elements of `buf` are initialised; `0` is end of stream (or an empty `buf`).
    /// Spends coop budget and registers the waker like `poll_read`.
    pub fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_uninit(cx, buf)
    }

    /// Splits the stream into a read half and a write half that borrow it; one reader
    /// task and one writer task can use them at once.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves (an `Arc` inside) that can move to
    /// different tasks. Dropping the write half shuts the write side down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }

    #[doc(hidden)]
    pub fn __token(&self) -> usize {
        self.io.token()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl std::os::fd::AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

/// The read half of [`UnixStream::split`].
pub type ReadHalf<'a> = split::ReadHalf<'a, UnixStream>;
/// The write half of [`UnixStream::split`].
pub type WriteHalf<'a> = split::WriteHalf<'a, UnixStream>;
/// The owned read half of [`UnixStream::into_split`].
pub type OwnedReadHalf = split::OwnedReadHalf<UnixStream>;
/// The owned write half of [`UnixStream::into_split`]; dropping it shuts the write side
/// down (the peer reads EOF).
pub type OwnedWriteHalf = split::OwnedWriteHalf<UnixStream>;
/// The error of `OwnedReadHalf::reunite` with halves of different streams.
pub type ReuniteError = split::ReuniteError<UnixStream>;

impl split::sealed::Sealed for UnixStream {
    type Io = PollEvented<mio::net::UnixStream>;
    fn io(&self) -> &Self::Io {
        &self.io
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown_std(Shutdown::Write)
    }
}

impl std::os::fd::AsFd for UnixStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
