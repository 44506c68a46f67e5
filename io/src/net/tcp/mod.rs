//! TCP: [`TcpListener`], [`TcpStream`] (and its split halves), [`TcpSocket`].

mod keepalive;
mod listener;
mod socket;
mod stream;

pub use keepalive::Keepalive;
pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpStream, WriteHalf};
