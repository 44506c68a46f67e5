//! The split halves of a byte stream, generic over the stream type.
//!
//! [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream) both
//! implement the sealed trait [`SplitStream`], which hands out the stream's registration
//! (the one I/O path, `PollEvented`) and its write-side `shutdown(2)`. The halves here
//! are written once against that trait; `net::tcp::{ReadHalf, ...}` and
//! `net::unix::{ReadHalf, ...}` are aliases of them, so tokio's names keep working.
//!
//! Borrowed halves (`split(&mut self)`) hold `&S`; owned halves (`into_split(self)`)
//! share an `Arc<S>`. Reads go through the read direction's waker slot and writes
//! through the write direction's, so one reader task and one writer task can use the
//! two halves at once.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::task::{Context, Poll};

pub(crate) mod sealed {
    use std::io::{self, IoSlice, IoSliceMut};
    use std::mem::MaybeUninit;
    use std::task::{Context, Poll};

    /// The byte I/O of a registration (implemented for every `PollEvented<E>` whose
    /// `&E` reads and writes).
    pub trait StreamIo {
        fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
        fn poll_read_uninit(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [MaybeUninit<u8>],
        ) -> Poll<io::Result<usize>>;
        fn poll_read_vectored(
            &self,
            cx: &mut Context<'_>,
            bufs: &mut [IoSliceMut<'_>],
        ) -> Poll<io::Result<usize>>;
        fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
        fn poll_write_vectored(
            &self,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>>;
    }

    /// What a splittable stream provides; sealed (only magpie's streams implement it).
    pub trait Sealed {
        /// The registration type.
        type Io: StreamIo;
        /// The stream's registration.
        fn io(&self) -> &Self::Io;
        /// `shutdown(2)` of the write side (the peer reads EOF).
        fn shutdown_write(&self) -> io::Result<()>;
    }
}

use sealed::StreamIo;

impl<E> StreamIo for crate::registration::PollEvented<E>
where
    E: mio::event::Source + std::os::fd::AsRawFd,
    for<'a> &'a E: io::Read + io::Write,
{
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_read(cx, buf)
    }
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_uninit(cx, buf)
    }
    fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_vectored(cx, bufs)
    }
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write(cx, buf)
    }
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, bufs)
    }
}

/// A byte stream that [`split`](crate::net::TcpStream::split) and
/// [`into_split`](crate::net::TcpStream::into_split) work on: magpie's `TcpStream` and
/// `UnixStream` (sealed).
pub trait SplitStream: sealed::Sealed {}

impl<S: sealed::Sealed> SplitStream for S {}

/// The read half of a borrowed split (`split(&mut self)`).
pub struct ReadHalf<'a, S>(&'a S);

/// The write half of a borrowed split (`split(&mut self)`).
pub struct WriteHalf<'a, S>(&'a S);

/// The owned read half (`into_split(self)`).
pub struct OwnedReadHalf<S> {
    inner: Arc<S>,
}

/// The owned write half (`into_split(self)`). Dropping it shuts the write side down (the
/// peer reads EOF), as tokio's does.
pub struct OwnedWriteHalf<S: SplitStream> {
    inner: Arc<S>,
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from different streams.
/// Holds them so nothing is lost.
pub struct ReuniteError<S: SplitStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

/// Splits `stream` into halves that borrow it.
pub(crate) fn split<S: SplitStream>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(&*stream), WriteHalf(&*stream))
}

/// Splits `stream` into owned halves sharing an `Arc`.
pub(crate) fn into_split<S: SplitStream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let inner = Arc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

impl<S: SplitStream> OwnedReadHalf<S> {
    /// Puts the stream back together; fails if `other` came from another stream.
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if Arc::ptr_eq(&self.inner, &other.inner) {
            let mut other = other;
            other.shutdown_on_drop = false;
            drop(other);
            match Arc::try_unwrap(self.inner) {
                Ok(stream) => Ok(stream),
                Err(_) => unreachable!("the two halves held the only references"),
            }
        } else {
            Err(ReuniteError(self, other))
        }
    }

    /// Reads into memory that may be uninitialised (see `TcpStream::poll_read_uninit`).
    pub fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.inner.io().poll_read_uninit(cx, buf)
    }
}

impl<S: SplitStream> OwnedWriteHalf<S> {
    /// See [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        other.reunite(self)
    }

    /// Drops the half without shutting the write side down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl<S: SplitStream> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown_write();
        }
    }
}

impl<S: SplitStream> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl<S: SplitStream + fmt::Debug> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl<S: SplitStream + fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S: fmt::Debug> fmt::Debug for ReadHalf<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadHalf").field(self.0).finish()
    }
}

impl<S: fmt::Debug> fmt::Debug for WriteHalf<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteHalf").field(self.0).finish()
    }
}

impl<S: fmt::Debug> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("stream", &self.inner)
            .finish()
    }
}

impl<S: SplitStream + fmt::Debug> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("stream", &self.inner)
            .finish()
    }
}

impl<S> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

impl<S> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

impl<S> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: SplitStream> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        &self.inner
    }
}
