//! magpie-io: the I/O driver (one mio reactor per runtime, shared by all workers) and
//! the networking types built on it.
//!
//! * [`stack`]: the driver stack the runtime parks on (process over signal over the
//!   reactor), built by [`stack::new`].
//! * [`driver`]: the reactor, [`Driver`](driver::Driver) (implements
//!   `magpie_base::park::Park`: parking is `mio::Poll::poll`) and its
//!   [`Handle`](driver::Handle), which resources find through a thread-local "current
//!   handle" ([`Handle::enter`](driver::Handle::enter)).
//! * [`net`]: `TcpListener`, `TcpStream`, `TcpSocket`, `UdpSocket`, `UnixListener`,
//!   `UnixStream`, `UnixDatagram`, `lookup_host` (tokio's names and signatures).
//! * [`signal`]: `ctrl_c()` and Unix signal listeners ([`signal::unix::signal`]), through
//!   a process-wide self-pipe that the signal layer of every driver stack watches.
//! * [`process`]: `Command`/`Child` with async `wait` (pidfd, or SIGCHLD where pidfds are
//!   missing) and async stdio pipes; dropped children are reaped, never left as zombies.
//! * [`unix`]: [`AsyncFd`](unix::AsyncFd), readiness for a file descriptor you own.
//! * The async I/O traits are futures-io's ([`AsyncRead`], [`AsyncWrite`],
//!   [`AsyncBufRead`], [`AsyncSeek`]), so the futures ecosystem works unchanged; magpie
//!   adds tokio-style extension traits ([`AsyncReadExt`], [`AsyncWriteExt`]) and
//!   [`copy`]/[`split`].
//!
//! A resource used outside a runtime with I/O enabled fails with an `io::Error` that
//! says how to fix it; after the driver shuts down, operations fail with "runtime shut
//! down". Every read, write, accept, send and receive spends one unit of the task's
//! cooperative budget (`magpie_base::coop`).
#![warn(missing_docs)]

pub mod driver;
mod ext;
mod interest;
mod io_traits;
pub mod net;
pub mod process;
mod registration;
#[doc(hidden)]
pub mod scheduled_io;
pub mod signal;
pub mod stack;
#[cfg(feature = "tokio-io")]
mod tokio_io;
pub mod unix;

pub use ext::{
    AsyncReadExt, AsyncSeekExt, AsyncWriteExt, Flush, Read, ReadExact, ReadHalf, ReadToEnd,
    ReadToString, Seek, Shutdown, Write, WriteAll, WriteHalf, copy, split,
};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use interest::Interest;
pub use scheduled_io::Ready;
