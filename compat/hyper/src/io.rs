//! [`MagpieIo`]: I/O between hyper's `rt` traits and tokio's / futures-io's, and
//! [`FuturesIo`] for streams that only speak futures-io.
//!
//! hyper → stream: `MagpieIo<T>` implements `hyper::rt::Read`/`Write` for any `T` with
//! tokio's `AsyncRead`/`AsyncWrite` (magpie implements them natively on every I/O type,
//! feature `tokio-io` of magpie-io, which this crate turns on; tokio is used for its
//! traits only, no runtime). Those traits carry both fast paths that futures-io lacks:
//! reads into uninitialised memory (`ReadBuf`) and `is_write_vectored`. So whatever
//! `T` is, `MagpieIo::new(t)` reads and writes the way `T` itself can, with no flag to
//! set and no slower constructor. (An earlier version bounded on futures-io and had to
//! guess both; `MagpieIo::new` silently zeroed every read buffer and flattened every
//! response into one copy.) The idea of bridging through tokio's `ReadBuf` is
//! hyper-util's `TokioIo`; the bridge here also checks that the reader did not swap the
//! buffer (see `poll_read`).
//!
//! stream → hyper (the reverse): `MagpieIo<T>` with `T: hyper::rt::Read + Write`
//! (hyper's `upgrade::Upgraded`) implements futures-io's traits.

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

pin_project! {
    /// Adapts I/O between hyper's `rt` traits and the stream traits magpie uses, in
    /// both directions:
    ///
    /// * `MagpieIo<T>` where `T: tokio::io::AsyncRead + AsyncWrite` (a magpie
    ///   `TcpStream` or `UnixStream`, a split half, a tokio-rustls stream, ...)
    ///   implements [`hyper::rt::Read`] and [`hyper::rt::Write`]: hand it to hyper's
    ///   `serve_connection` or client `handshake`. Reads go into hyper's uninitialised
    ///   buffer without zeroing it, and `is_write_vectored` is `T`'s own, so for
    ///   magpie's streams hyper writes a response's head and body with one `writev`.
    ///   For a stream that has only futures-io's traits, wrap it in [`FuturesIo`]
    ///   first.
    /// * `MagpieIo<T>` where `T: hyper::rt::Read + Write` (hyper's
    ///   `upgrade::Upgraded`, for example) implements futures-io's `AsyncRead` and
    ///   `AsyncWrite`, so magpie's `AsyncReadExt`/`AsyncWriteExt`/`copy` work on it.
    ///
    /// `poll_shutdown` is `T`'s (for magpie's streams, `shutdown(Write)`: the peer
    /// reads EOF).
    #[derive(Debug)]
    pub struct MagpieIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> MagpieIo<T> {
    /// Wraps `inner`. Nothing to configure: both fast paths follow `inner`'s traits.
    pub fn new(inner: T) -> MagpieIo<T> {
        MagpieIo { inner }
    }

    /// The wrapped I/O object.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped I/O object, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped I/O object, pinned.
    pub fn inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the I/O object.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl From<magpie_io::net::TcpStream> for MagpieIo<magpie_io::net::TcpStream> {
    /// The same as [`MagpieIo::new`].
    fn from(stream: magpie_io::net::TcpStream) -> Self {
        MagpieIo::new(stream)
    }
}

impl From<magpie_io::net::UnixStream> for MagpieIo<magpie_io::net::UnixStream> {
    /// The same as [`MagpieIo::new`].
    fn from(stream: magpie_io::net::UnixStream) -> Self {
        MagpieIo::new(stream)
    }
}

// tokio's traits -> hyper

impl<T: tokio::io::AsyncRead> hyper::rt::Read for MagpieIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let n = {
            // SAFETY: the slice is lent to a `tokio::io::ReadBuf`, whose contract is
            // that readers only ever initialise its bytes (safe code can only write
            // initialised data; `unfilled_mut` is unsafe with that very condition), so
            // nothing hyper had initialised is de-initialised.
            let dst: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
            let start = dst.as_ptr();
            let mut rb = tokio::io::ReadBuf::uninit(dst);
            ready!(self.project().inner.poll_read(cx, &mut rb))?;
            // A reader may (in safe code) replace the `ReadBuf` it was lent with one
            // over other memory; then `filled` says nothing about hyper's buffer.
            if rb.filled().as_ptr() != start.cast::<u8>() {
                return Poll::Ready(Err(io::Error::other(
                    "AsyncRead::poll_read replaced the ReadBuf it was given",
                )));
            }
            rb.filled().len()
        };
        // SAFETY: the `ReadBuf` over hyper's unfilled part reports its first `n` bytes
        // filled, so initialised (ReadBuf's invariant), and it is still that buffer
        // (checked above).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: tokio::io::AsyncWrite> hyper::rt::Write for MagpieIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}

// hyper -> futures-io

impl<T: hyper::rt::Read> futures_io::AsyncRead for MagpieIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = hyper::rt::ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, rb.unfilled()))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

impl<T: hyper::rt::Write> futures_io::AsyncWrite for MagpieIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

pin_project! {
    /// tokio's `AsyncRead`/`AsyncWrite` over a stream that only has futures-io's (a
    /// futures-rustls stream, say), so that [`MagpieIo`] can carry it to hyper:
    /// `MagpieIo::new(FuturesIo::new(stream))`.
    ///
    /// futures-io cannot say what the stream could do faster, so this is the one slow
    /// path, and it is explicit: each read zeroes the unfilled part of hyper's buffer
    /// first (`poll_read` takes `&mut [u8]`), and `is_write_vectored` is `false` (hyper
    /// then flattens a response into one buffer: right for the many futures-io streams
    /// whose `poll_write_vectored` writes only the first buffer) unless
    /// [`FuturesIo::with_vectored_writes`] says otherwise. magpie's own streams do not
    /// need this wrapper.
    #[derive(Debug)]
    pub struct FuturesIo<T> {
        #[pin]
        inner: T,
        vectored: bool,
    }
}

impl<T> FuturesIo<T> {
    /// Wraps `inner`; `is_write_vectored` is `false`.
    pub fn new(inner: T) -> FuturesIo<T> {
        FuturesIo::with_vectored_writes(inner, false)
    }

    /// Wraps `inner`, with `is_write_vectored` reporting `vectored`: pass `true` when
    /// `inner`'s `poll_write_vectored` really writes several buffers at once.
    pub fn with_vectored_writes(inner: T, vectored: bool) -> FuturesIo<T> {
        FuturesIo { inner, vectored }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: futures_io::AsyncRead> tokio::io::AsyncRead for FuturesIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Zero what is not initialised yet, so it can be lent out as `&mut [u8]`.
        let dst = buf.initialize_unfilled();
        let n = ready!(self.project().inner.poll_read(cx, dst))?;
        if n > dst.len() {
            return Poll::Ready(Err(io::Error::other(
                "AsyncRead::poll_read reported more bytes than it was given",
            )));
        }
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite> tokio::io::AsyncWrite for FuturesIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}
