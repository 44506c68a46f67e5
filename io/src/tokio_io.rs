//! tokio's I/O traits, implemented natively (feature `tokio-io`): `tokio::io::AsyncRead`
//! and `AsyncWrite` on `TcpStream`, `UnixStream`, their borrowed and owned halves, the
//! child's stdio and `net::unix::pipe`'s ends.
//!
//! Reads go through the one I/O path's `poll_read_uninit`: straight into `ReadBuf`'s
//! unfilled (possibly uninitialised) part, with no zeroing. Vectored writes are
//! forwarded to `writev` (`is_write_vectored` is `true`). `poll_shutdown` shuts the
//! write side down (the peer reads EOF); for a child's stdin and a pipe sender it
//! closes the pipe.
//!
//! Only tokio's traits are used (`tokio` with `default-features = false`: no runtime,
//! no `net`, no `time`).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::split::sealed::{Sealed, StreamIo};
use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, SplitStream, WriteHalf};
use crate::net::unix::pipe;
use crate::net::{TcpStream, UnixStream};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};

/// Reads into `buf`'s unfilled part with `read_uninit`, then marks the bytes filled.
fn poll_read_buf(
    buf: &mut ReadBuf<'_>,
    read_uninit: impl FnOnce(&mut [std::mem::MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `unfilled_mut` hands out the unfilled part, which `read_uninit` only
    // writes to (read(2) never de-initialises memory), so the initialised prefix stays
    // initialised.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = ready!(read_uninit(unfilled))?;
    // SAFETY: `read_uninit` returned `Ok(n)`: read(2) wrote the first `n` bytes of the
    // unfilled part (n <= its length), so they are initialised.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// tokio's `AsyncRead` for each type: `|s| io` names the one I/O path of `s: &Self`.
/// (Implementing a foreign trait for every stream-like type cannot be one blanket
/// impl; the bodies are the same, so they are written once here.)
macro_rules! tokio_read {
    ($([$($g:tt)*] $ty:ty => |$s:ident| $io:expr;)*) => {$(
        impl<$($g)*> AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let $s = &*self;
                poll_read_buf(buf, |b| $io.poll_read_uninit(cx, b))
            }
        }
    )*};
}

/// tokio's `AsyncWrite` for each type: `|s| io` names its I/O path, `shutdown` what
/// `poll_shutdown` does. Vectored writes are forwarded (`writev`); nothing is
/// buffered, so `poll_flush` is ready at once.
macro_rules! tokio_write {
    ($([$($g:tt)*] $ty:ty => |$s:ident| $io:expr, shutdown: $shut:expr;)*) => {$(
        impl<$($g)*> AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $io.poll_write(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $io.poll_write_vectored(cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = &*self;
                Poll::Ready($shut)
            }
        }
    )*};
}

tokio_read! {
    [] TcpStream => |s| s.io();
    [] UnixStream => |s| s.io();
    ['a, S: SplitStream] ReadHalf<'a, S> => |s| s.as_ref().io();
    [S: SplitStream] OwnedReadHalf<S> => |s| s.as_ref().io();
    [] ChildStdout => |s| s.io;
    [] ChildStderr => |s| s.io;
    [] pipe::Receiver => |s| s.io;
}

tokio_write! {
    // Shuts the write side down: the peer reads end-of-file.
    [] TcpStream => |s| s.io(), shutdown: s.shutdown_write();
    [] UnixStream => |s| s.io(), shutdown: s.shutdown_write();
    ['a, S: SplitStream] WriteHalf<'a, S> => |s| s.as_ref().io(),
        shutdown: s.as_ref().shutdown_write();
    [S: SplitStream] OwnedWriteHalf<S> => |s| s.as_ref().io(),
        shutdown: s.as_ref().shutdown_write();
    // A pipe's write side closes when the `Sender` is dropped (as tokio's).
    [] pipe::Sender => |s| s.io, shutdown: { let _ = s; Ok(()) };
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(self, cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    /// Closes the pipe: the child reads end-of-file.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(self, cx)
    }
}
