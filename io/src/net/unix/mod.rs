//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (and its split halves),
//! [`UnixDatagram`].
//!
//! Every `path` argument may be an abstract name on Linux: a path that starts with a NUL
//! byte (`"\0name"`).

mod datagram;
mod listener;
pub mod pipe;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, UnixStream, WriteHalf};

/// `path` as a socket address. On Linux a leading NUL byte (`"\0name"`) names an
/// abstract socket (no file is created; the name vanishes with the last socket).
pub(crate) fn socket_addr(path: &std::path::Path) -> std::io::Result<SocketAddr> {
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;
        if let Some((&0, name)) = path.as_os_str().as_bytes().split_first() {
            return SocketAddr::from_abstract_name(name);
        }
    }
    SocketAddr::from_pathname(path)
}

/// `path` as a socket2 address (which takes a leading NUL as an abstract name itself).
pub(crate) fn sock_addr(path: &std::path::Path) -> std::io::Result<socket2::SockAddr> {
    socket2::SockAddr::unix(path)
}
