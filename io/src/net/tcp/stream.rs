//! `TcpStream`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use socket2::SockRef;

use super::keepalive::{self, Keepalive};
use crate::interest::Interest;
use crate::net::addr::{ToSocketAddrs, each_addr};
use crate::net::split;
use crate::registration::PollEvented;
use crate::scheduled_io::{Direction, Ready};

/// A TCP connection registered with the magpie I/O driver.
///
/// Implements futures-io's `AsyncRead`/`AsyncWrite` (so `futures::AsyncReadExt` works
/// on it directly) and magpie's own extension traits.
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each resolved address in turn.
    ///
    /// A closed port gives `ErrorKind::ConnectionRefused`.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = mio::net::TcpStream::connect(addr)?;
        TcpStream::connected(stream).await
    }

    /// Waits for a non-blocking connect on `stream` to finish.
    pub(crate) async fn connected(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::new(stream)?;
        stream.io.ready(Direction::Write).await?;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        // Writable without an error: connected (or the peer already hung up, which
        // `peer_addr` reports as NotConnected).
        stream.io.get_ref().peer_addr()?;
        Ok(stream)
    }

    pub(crate) fn new(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(stream)?,
        })
    }

    /// Wraps a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters the stream and returns the std stream (still in non-blocking mode).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner().into())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Turns TCP keepalive probes (`SO_KEEPALIVE`) on or off, with the system's timing;
    /// [`set_keepalive_params`](Self::set_keepalive_params) also sets the timing.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_keepalive(keepalive)
    }

    /// Reads `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.io.get_ref()).keepalive()
    }

    /// Turns keepalive on with the given idle time, probe interval and probe count
    /// (example at [`TcpSocket::set_keepalive_params`](super::TcpSocket::set_keepalive_params)).
    ///
    /// # Errors
    /// `InvalidInput` for a zero time, interval or count; the OS's error otherwise.
    pub fn set_keepalive_params(&self, params: &Keepalive) -> io::Result<()> {
        keepalive::set_params(SockRef::from(self.io.get_ref()), params)
    }

    /// The keepalive idle time, interval and probe count in force (whether or not
    /// keepalive is on).
    pub fn keepalive_params(&self) -> io::Result<Keepalive> {
        keepalive::params(SockRef::from(self.io.get_ref()))
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read, write or both halves (`shutdown(2)`), at once. After
    /// `Shutdown::Write` the peer reads EOF.
    ///
    /// (tokio's `shutdown` is `AsyncWriteExt::shutdown`, also available here.)
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.check_shutdown()?;
        self.io.get_ref().shutdown(how)
    }

    /// Receives data without removing it from the queue, waiting until some arrives.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Read, |s| s.peek(buf)).await
    }

    /// [`peek`](Self::peek) as a poll function.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))
    }

    /// Waits until the stream is ready in any direction of `interest`; returns what is.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.io.ready_interest(interest).await
    }

    /// Waits until the stream is readable (a `try_read` may then succeed; it may also
    /// return `WouldBlock`, after which wait again).
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until the stream is writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Polls for read readiness. Only the waker of the most recent call is kept (as in
    /// tokio); use [`readable`](Self::readable) when several tasks wait.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness (the most recent call's waker is kept; see
    /// [`poll_read_ready`](Self::poll_read_ready)).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads what is available without waiting: `WouldBlock` when nothing is.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Vectored [`try_read`](Self::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Writes what fits without waiting: `WouldBlock` when nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Vectored [`try_write`](Self::try_write).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Runs `f` (a non-blocking operation on the raw socket, e.g. through `AsRawFd`) if
    /// the driver reported the stream ready in `interest`, else returns `WouldBlock`
    /// without calling it. If `f` returns `WouldBlock`, the readiness is cleared, so the
    /// next [`ready`](Self::ready) waits for a new event (tokio's `try_io`).
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.try_io(interest, |_| f())
    }

    /// Waits for readiness in `interest` and runs `f`, again after each `WouldBlock`
    /// (which clears the readiness), until it returns anything else (tokio's
    /// `async_io`). Any number of tasks may wait at once.
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

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

/// The read half of [`TcpStream::split`].
pub type ReadHalf<'a> = split::ReadHalf<'a, TcpStream>;
/// The write half of [`TcpStream::split`].
pub type WriteHalf<'a> = split::WriteHalf<'a, TcpStream>;
/// The owned read half of [`TcpStream::into_split`].
pub type OwnedReadHalf = split::OwnedReadHalf<TcpStream>;
/// The owned write half of [`TcpStream::into_split`]; dropping it shuts the write side
/// down (the peer reads EOF).
pub type OwnedWriteHalf = split::OwnedWriteHalf<TcpStream>;
/// The error of `OwnedReadHalf::reunite` with halves of different streams.
pub type ReuniteError = split::ReuniteError<TcpStream>;

impl split::sealed::Sealed for TcpStream {
    type Io = PollEvented<mio::net::TcpStream>;
    fn io(&self) -> &Self::Io {
        &self.io
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown_std(Shutdown::Write)
    }
}
