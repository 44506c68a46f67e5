//! `TcpListener`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use crate::net::TcpStream;
use crate::net::addr::{ToSocketAddrs, each_addr};
use crate::registration::PollEvented;
use crate::scheduled_io::Direction;

/// A TCP listening socket registered with the magpie I/O driver.
///
/// Accepting uses `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)` (one syscall per connection)
/// and allocates only the new stream's registration. Errors such as `EMFILE` (out of
/// file descriptors) are returned to the caller; the listener stays registered and
/// usable, and the driver does not spin (the pending connection stays in the backlog,
/// and the listener's readiness is kept, so the next `accept` tries again at once).
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (with `SO_REUSEADDR`, backlog 1024) and listens, trying each
    /// resolved address in turn. A port in use gives `ErrorKind::AddrInUse`.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { TcpListener::bind_addr(a) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        // Check first so that no socket is created outside a runtime.
        crate::driver::Handle::current()?;
        TcpListener::new(mio::net::TcpListener::bind(addr)?)
    }

    pub(crate) fn new(l: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new(l)?,
        })
    }

    /// Wraps a listening std socket (switching it to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Deregisters the listener and returns the std one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner().into())
    }

    /// Waits for a connection. Any number of tasks may wait at once (each is woken by
    /// a new connection; one of them gets it); cancellation safe.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.io.async_io(Direction::Read, |l| l.accept()).await?;
        Ok((TcpStream::new(stream)?, addr))
    }

    /// [`accept`](Self::accept) as a poll function. Only the waker of the most recent
    /// call is kept (as with tokio's `poll_accept`): one task drives it.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) =
            std::task::ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(Ok((TcpStream::new(stream)?, addr)))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// Reads `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
