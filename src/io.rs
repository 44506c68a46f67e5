//! Async I/O: tokio's traits and helpers (feature `tokio-io`, on by default), the
//! futures-io family in [`futures`], readiness types, and [`unix::AsyncFd`].
//!
//! # Which `AsyncRead` is `magpie::io::AsyncRead`?
//!
//! With the default feature `tokio-io`, the names at this level are **tokio's**:
//! [`AsyncRead`] (reads into a [`ReadBuf`], which may be uninitialised), [`AsyncWrite`]
//! (with `poll_shutdown` and vectored writes), [`AsyncBufRead`], [`AsyncSeek`], their
//! extension traits ([`AsyncReadExt`]`::read_u32`, [`AsyncBufReadExt`]`::lines`, ...)
//! and the helpers ([`BufReader`], [`copy_bidirectional`], [`duplex`], ...). The reason:
//! a server's stack (tokio-util codecs, tokio-rustls, tokio-postgres, redis, hyper-util,
//! tungstenite, tonic) is written against tokio's traits, and tokio code then compiles
//! on magpie after changing `tokio::io` to `magpie::io`. Every magpie I/O type
//! (`TcpStream`, `UnixStream`, their halves, child stdio, pipes, `fs::File`)
//! implements these traits natively: a read lands in the `ReadBuf`'s unfilled part
//! without zeroing it, and vectored writes reach `writev`.
//!
//! The helpers are tokio's own `io-util` module, which needs no tokio runtime (the
//! dependency is `tokio` with `default-features = false, features = ["io-util"]`; no
//! `rt`, `net` or `time`). Their I/O goes through the magpie types, so reads and writes
//! still spend magpie's cooperative budget; the in-memory types ([`duplex`],
//! [`simplex`], [`empty`], [`repeat`], [`sink`]) spend none.
//!
//! The same types also implement **futures-io**'s traits, in [`futures`] with magpie's
//! extension traits for them, so the futures ecosystem (`futures::io`, async-tungstenite,
//! futures-rustls) works unchanged. Without the `tokio-io` feature only [`futures`] and
//! the readiness types are here.
//!
//! ```
//! # #[cfg(feature = "tokio-io")]
//! # magpie::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use magpie::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
//!
//! let (client, server) = magpie::io::duplex(64);
//! let (mut rd, mut wr) = magpie::io::split(client);
//! let echo = magpie::spawn(async move {
//!     let (r, mut w) = magpie::io::split(server);
//!     let mut lines = BufReader::new(r).lines();
//!     while let Some(line) = lines.next_line().await? {
//!         w.write_all(format!("{}\n", line.len()).as_bytes()).await?;
//!     }
//!     std::io::Result::Ok(())
//! });
//! wr.write_all(b"hello\nmagpie!\n").await?;
//! wr.shutdown().await?;
//! let mut out = String::new();
//! rd.read_to_string(&mut out).await?;
//! assert_eq!(out, "5\n7\n");
//! echo.await.unwrap()?;
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

pub use magpie_io::{Interest, Ready};
pub use std::io::{Error, ErrorKind, Result, SeekFrom};

#[cfg(feature = "tokio-io")]
pub use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, BufReader, BufStream, BufWriter, Chain, DuplexStream, Empty, Join, Lines,
    ReadBuf, ReadHalf, Repeat, SimplexStream, Sink, Split, Take, WriteHalf, copy,
    copy_bidirectional, copy_bidirectional_with_sizes, copy_buf, duplex, empty, join, repeat,
    simplex, sink, split,
};

/// futures-io's traits ([`AsyncRead`](futures::AsyncRead), ...), which every magpie I/O
/// type also implements, with magpie's extension traits for them and their
/// [`copy`](futures::copy)/[`split`](futures::split). Use these with the futures
/// ecosystem (`futures::io`, futures-rustls, async-tungstenite).
///
/// ```
/// # magpie::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use magpie::io::futures::{AsyncReadExt, AsyncWriteExt};
///
/// let (mut a, mut b) = magpie::net::UnixStream::pair()?;
/// a.write_all(b"ping").await?;
/// let mut buf = [0; 4];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub mod futures {
    pub use magpie_io::{
        AsyncBufRead, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite, AsyncWriteExt,
        ReadHalf, WriteHalf, copy, split,
    };
}

/// Unix-specific I/O: [`AsyncFd`](unix::AsyncFd), readiness for a file descriptor you
/// own (tokio's `tokio::io::unix`).
pub mod unix {
    pub use magpie_io::unix::*;
}
