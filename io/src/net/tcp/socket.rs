//! `TcpSocket`: a socket configured before it connects or listens.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::keepalive::{self, Keepalive};

use crate::net::{TcpListener, TcpStream};

/// A TCP socket not yet connected or listening: set options, then
/// [`connect`](Self::connect) or [`listen`](Self::listen).
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket (`SOCK_CLOEXEC`, non-blocking).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// An IPv6 TCP socket (`SOCK_CLOEXEC`, non-blocking).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let inner = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        inner.set_nonblocking(true)?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Reads `SO_REUSEADDR`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// Reads `SO_REUSEPORT`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_SNDBUF`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// Reads `SO_SNDBUF`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|s| s as u32)
    }

    /// Sets `SO_RCVBUF`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// Reads `SO_RCVBUF`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|s| s as u32)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Sets `SO_KEEPALIVE` (tokio's `TcpSocket::set_keepalive`).
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Reads `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Turns keepalive on with the given idle time, probe interval and probe count; the
    /// stream made by [`connect`](Self::connect) keeps them.
    ///
    /// ```
    /// use magpie_io::net::{tcp::Keepalive, TcpSocket};
    /// use std::time::Duration;
    ///
    /// let socket = TcpSocket::new_v4()?;
    /// let ka = Keepalive::new()
    ///     .with_time(Duration::from_secs(30))
    ///     .with_interval(Duration::from_secs(5))
    ///     .with_retries(4);
    /// socket.set_keepalive_params(&ka)?;
    /// assert!(socket.keepalive()?);
    /// assert_eq!(socket.keepalive_params()?, ka);
    /// # std::io::Result::Ok(())
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` for a zero time, interval or count; the OS's error otherwise.
    pub fn set_keepalive_params(&self, params: &Keepalive) -> io::Result<()> {
        keepalive::set_params(SockRef::from(&self.inner), params)
    }

    /// The keepalive idle time, interval and probe count in force.
    pub fn keepalive_params(&self) -> io::Result<Keepalive> {
        keepalive::params(SockRef::from(&self.inner))
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket address"))
    }

    /// Listens with the given backlog and returns the listener.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        crate::driver::Handle::current()?;
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        let std: std::net::TcpListener = self.inner.into();
        TcpListener::new(mio::net::TcpListener::from_std(std))
    }

    /// Connects to `addr` and returns the stream once connected.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        crate::driver::Handle::current()?;
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let std: std::net::TcpStream = self.inner.into();
        TcpStream::connected(mio::net::TcpStream::from_std(std)).await
    }

    /// Wraps a std stream's socket (to set options on an existing socket).
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket {
            inner: Socket::from(stream),
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::os::fd::AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}
