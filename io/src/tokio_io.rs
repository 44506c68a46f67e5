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

fn read_stream<S: SplitStream>(
    s: &S,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    poll_read_buf(buf, |b| s.io().poll_read_uninit(cx, b))
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read_stream(&*self, cx, buf)
    }
}

impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read_stream(&*self, cx, buf)
    }
}

impl<S: SplitStream> AsyncRead for ReadHalf<'_, S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read_stream(self.get_mut().as_ref(), cx, buf)
    }
}

impl<S: SplitStream> AsyncRead for OwnedReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read_stream(self.get_mut().as_ref(), cx, buf)
    }
}

/// The write side of a stream, for the four writers below.
trait StreamWriter {
    type S: SplitStream;
    fn stream(&self) -> &Self::S;
}

impl StreamWriter for TcpStream {
    type S = TcpStream;
    fn stream(&self) -> &TcpStream {
        self
    }
}

impl StreamWriter for UnixStream {
    type S = UnixStream;
    fn stream(&self) -> &UnixStream {
        self
    }
}

impl<S: SplitStream> StreamWriter for WriteHalf<'_, S> {
    type S = S;
    fn stream(&self) -> &S {
        self.as_ref()
    }
}

impl<S: SplitStream> StreamWriter for OwnedWriteHalf<S> {
    type S = S;
    fn stream(&self) -> &S {
        self.as_ref()
    }
}

fn write_impl<W: StreamWriter>(w: &W, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    w.stream().io().poll_write(cx, buf)
}

fn write_vectored_impl<W: StreamWriter>(
    w: &W,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    w.stream().io().poll_write_vectored(cx, bufs)
}

fn shutdown_impl<W: StreamWriter>(w: &W) -> Poll<io::Result<()>> {
    Poll::Ready(w.stream().shutdown_write())
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write_impl(&*self, cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored_impl(&*self, cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown_impl(&*self)
    }
}

impl AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write_impl(&*self, cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored_impl(&*self, cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown_impl(&*self)
    }
}

impl<S: SplitStream> AsyncWrite for WriteHalf<'_, S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write_impl(&*self, cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored_impl(&*self, cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown_impl(&*self)
    }
}

impl<S: SplitStream> AsyncWrite for OwnedWriteHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write_impl(&*self, cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_vectored_impl(&*self, cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown_impl(&*self)
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(buf, |b| self.io.poll_read_uninit(cx, b))
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(buf, |b| self.io.poll_read_uninit(cx, b))
    }
}

impl AsyncRead for pipe::Receiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(buf, |b| self.io.poll_read_uninit(cx, b))
    }
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

impl AsyncWrite for pipe::Sender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    /// A pipe's write side closes when the `Sender` is dropped (as tokio's).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
