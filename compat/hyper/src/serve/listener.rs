//! [`Listener`]: what [`serve`](crate::serve) accepts connections from, and the accept
//! loop's handling of resource errors (log, back off, retry).

use std::fmt;
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use magpie_io::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A source of connections for [`serve`](crate::serve): magpie's [`TcpListener`] and
/// [`UnixListener`] implement it. Implement it for anything else that accepts streams
/// (a TLS acceptor wrapping a listener, say): the stream needs tokio's
/// `AsyncRead`/`AsyncWrite`, which every magpie stream has.
pub trait Listener: Send + 'static {
    /// The accepted stream.
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    /// The peer's address.
    type Addr: Send + fmt::Debug + 'static;

    /// Accepts the next connection, or says why it could not. Errors about one
    /// connection or a resource limit (`EMFILE`, `ECONNABORTED`, ...) are retried by
    /// `serve` after a pause; any other error ends it.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Io, Self::Addr)>>;

    /// The address the listener is bound to.
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

impl Listener for TcpListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    /// Accepts and sets `TCP_NODELAY` (a response is written in one go; waiting for
    /// an ACK before sending its tail only adds latency).
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, Self::Addr)>> {
        let (stream, addr) = std::task::ready!(TcpListener::poll_accept(self, cx))?;
        // Best effort: a socket that refuses the option still serves.
        let _ = stream.set_nodelay(true);
        Poll::Ready(Ok((stream, addr)))
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        TcpListener::local_addr(self)
    }
}

impl Listener for UnixListener {
    type Io = UnixStream;
    type Addr = std::os::unix::net::SocketAddr;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, Self::Addr)>> {
        UnixListener::poll_accept(self, cx)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        UnixListener::local_addr(self)
    }
}

/// Accept errors that concern one connection or a momentary resource limit: the
/// listener is fine, accepting again later will work.
pub(crate) fn is_transient(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory
    ) {
        return true;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for descriptors or memory to come back.
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::ECONNABORTED)
    )
}

/// The pause after a transient accept error: 10 ms, doubling up to 1 s while errors
/// continue, back to 10 ms after an accept succeeds. (Retrying at once would spin: the
/// listener stays readable while the descriptor table is full.)
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub(crate) fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    /// An accept succeeded.
    pub(crate) fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// The pause after error `e`, reported on stderr (one line per pause, so at most
    /// one per second while the condition lasts).
    pub(crate) fn pause_after(&mut self, e: &io::Error) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        eprintln!("magpie::hyper::serve: accept failed: {e}; retrying in {pause:?}");
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::new();
        let e = io::Error::from_raw_os_error(libc::EMFILE);
        let pauses: Vec<u64> = (0..9)
            .map(|_| b.pause_after(&e).as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.pause_after(&e), Duration::from_millis(10));
    }

    #[test]
    fn resource_errors_are_transient_others_are_not() {
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ECONNABORTED,
            libc::ENOBUFS,
        ] {
            assert!(is_transient(&io::Error::from_raw_os_error(code)), "{code}");
        }
        assert!(!is_transient(&io::Error::from_raw_os_error(libc::EBADF)));
        assert!(!is_transient(&io::Error::from_raw_os_error(libc::EINVAL)));
    }
}
