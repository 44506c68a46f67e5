//! Extension traits and helpers over futures-io's traits: [`AsyncReadExt`],
//! [`AsyncWriteExt`], [`copy`], [`split`].
//!
//! The methods follow tokio's names (`read`, `read_exact`, `read_to_end`,
//! `read_to_string`, `write`, `write_all`, `flush`, `shutdown`). Each returns a named
//! future, so the traits need no boxing. `futures::AsyncReadExt` works on every magpie
//! stream as well; import one of the two traits, not both, to avoid ambiguous calls.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

/// Seeking helpers on any [`AsyncSeek`] (a `magpie::fs::File`, say).
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the cursor; returns the new position from the start. `SeekFrom::Current(0)`
    /// asks for the position.
    fn seek(&mut self, pos: io::SeekFrom) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        Seek { s: self, pos }
    }

    /// The cursor's position from the start (`seek(SeekFrom::Current(0))`).
    fn stream_position(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(io::SeekFrom::Current(0))
    }

    /// Moves the cursor to the start.
    fn rewind(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(io::SeekFrom::Start(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// The future of [`AsyncSeekExt::seek`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Seek<'a, S: ?Sized> {
    s: &'a mut S,
    pos: io::SeekFrom,
}

impl<S: AsyncSeek + Unpin + ?Sized> Future for Seek<'_, S> {
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        Pin::new(&mut *this.s).poll_seek(cx, this.pos)
    }
}

/// Reading helpers on any [`AsyncRead`].
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; `Ok(0)` at EOF (or for an empty `buf`).
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { r: self, buf }
    }

    /// Fills `buf` exactly; `UnexpectedEof` if the stream ends first.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            r: self,
            buf,
            pos: 0,
        }
    }

    /// Reads until EOF, appending to `buf`; returns the number of bytes read.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start = buf.len();
        ReadToEnd {
            r: self,
            buf,
            start,
        }
    }

    /// Reads until EOF, appending UTF-8 to `buf` (`InvalidData` if it is not UTF-8, and
    /// then `buf` is left unchanged).
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString {
            r: self,
            buf,
            bytes: Vec::new(),
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// Writing helpers on any [`AsyncWrite`].
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `buf`; returns how much.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { w: self, buf }
    }

    /// Writes all of `buf`.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { w: self, buf }
    }

    /// Flushes buffered data.
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { w: self }
    }

    /// Shuts the write side down (for sockets: the peer reads EOF). futures-io calls
    /// this `poll_close`.
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { w: self }
    }

    /// Same as [`shutdown`](Self::shutdown) (futures' name).
    fn close(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { w: self }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

macro_rules! future_struct {
    ($(#[$m:meta])* $name:ident<$lt:lifetime, $t:ident: $bound:ident> { $($f:ident: $ty:ty),* }) => {
        $(#[$m])*
        #[derive(Debug)]
        #[must_use = "futures do nothing unless polled"]
        pub struct $name<$lt, $t: ?Sized> {
            $($f: $ty),*
        }
        impl<$t: ?Sized> Unpin for $name<'_, $t> {}
    };
}

future_struct!(
    /// Future of [`AsyncReadExt::read`].
    Read<'a, R: AsyncRead> { r: &'a mut R, buf: &'a mut [u8] }
);
future_struct!(
    /// Future of [`AsyncReadExt::read_exact`].
    ReadExact<'a, R: AsyncRead> { r: &'a mut R, buf: &'a mut [u8], pos: usize }
);
future_struct!(
    /// Future of [`AsyncReadExt::read_to_end`].
    ReadToEnd<'a, R: AsyncRead> { r: &'a mut R, buf: &'a mut Vec<u8>, start: usize }
);
future_struct!(
    /// Future of [`AsyncReadExt::read_to_string`].
    ReadToString<'a, R: AsyncRead> { r: &'a mut R, buf: &'a mut String, bytes: Vec<u8> }
);
future_struct!(
    /// Future of [`AsyncWriteExt::write`].
    Write<'a, W: AsyncWrite> { w: &'a mut W, buf: &'a [u8] }
);
future_struct!(
    /// Future of [`AsyncWriteExt::write_all`].
    WriteAll<'a, W: AsyncWrite> { w: &'a mut W, buf: &'a [u8] }
);
future_struct!(
    /// Future of [`AsyncWriteExt::flush`].
    Flush<'a, W: AsyncWrite> { w: &'a mut W }
);
future_struct!(
    /// Future of [`AsyncWriteExt::shutdown`].
    Shutdown<'a, W: AsyncWrite> { w: &'a mut W }
);

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Pin::new(&mut *this.r).poll_read(cx, this.buf)
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while this.pos < this.buf.len() {
            let n = ready!(Pin::new(&mut *this.r).poll_read(cx, &mut this.buf[this.pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            this.pos += n;
        }
        Poll::Ready(Ok(()))
    }
}

pub(crate) fn poll_read_to_end<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    loop {
        if buf.capacity() - buf.len() < 32 {
            buf.reserve(buf.capacity().max(4096));
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        buf.resize(len + spare, 0);
        let res = Pin::new(&mut *r).poll_read(cx, &mut buf[len..]);
        match res {
            Poll::Ready(Ok(0)) => {
                buf.truncate(len);
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok(n)) => buf.truncate(len + n),
            Poll::Ready(Err(e)) => {
                buf.truncate(len);
                return Poll::Ready(Err(e));
            }
            Poll::Pending => {
                buf.truncate(len);
                return Poll::Pending;
            }
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(poll_read_to_end(this.r, cx, this.buf))?;
        Poll::Ready(Ok(this.buf.len() - this.start))
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(poll_read_to_end(this.r, cx, &mut this.bytes))?;
        let bytes = std::mem::take(&mut this.bytes);
        match String::from_utf8(bytes) {
            Ok(s) => {
                this.buf.push_str(&s);
                Poll::Ready(Ok(s.len()))
            }
            Err(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))),
        }
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Pin::new(&mut *this.w).poll_write(cx, this.buf)
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            let n = ready!(Pin::new(&mut *this.w).poll_write(cx, this.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.buf = &this.buf[n..];
        }
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().w).poll_flush(cx)
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().w).poll_close(cx)
    }
}

/// Copies everything `reader` produces into `writer` until EOF, then flushes; returns
/// the number of bytes copied. Uses one 8 KiB buffer.
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; 8 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            writer.flush().await?;
            return Ok(total);
        }
        writer.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Splits any `AsyncRead + AsyncWrite` into halves usable from two tasks (a mutex
/// inside, held only for the duration of one poll). Sockets have cheaper, lock-free
/// splits: `TcpStream::split`/`into_split`.
pub fn split<T: AsyncRead + AsyncWrite + Unpin>(io: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let inner = Arc::new(Mutex::new(io));
    (
        ReadHalf {
            inner: inner.clone(),
        },
        WriteHalf { inner },
    )
}

/// The read half of [`split`].
#[derive(Debug)]
pub struct ReadHalf<T> {
    inner: Arc<Mutex<T>>,
}

/// The write half of [`split`].
#[derive(Debug)]
pub struct WriteHalf<T> {
    inner: Arc<Mutex<T>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_close(cx)
    }
}
