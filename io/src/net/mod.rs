//! Networking types: TCP, UDP and Unix-domain sockets, and `lookup_host`.
//!
//! Names and signatures follow tokio's `tokio::net`.

mod addr;
pub mod split;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
