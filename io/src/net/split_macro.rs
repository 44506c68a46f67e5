//! The futures-io trait impls and the split halves, shared by `TcpStream` and
//! `UnixStream` (same shape, different socket types).
//!
//! The stream type must have `poll_read_priv`, `poll_write_priv`,
//! `poll_write_vectored_priv` (all `&self`), and `shutdown_std(Shutdown)`.

macro_rules! stream_impls {
    ($stream:ident) => {
        impl $stream {
            /// Reads into memory that may be uninitialised (a fresh buffer from
            /// `Vec::with_capacity`, `BytesMut`, hyper's read buffer): no zeroing first,
            /// which futures-io's `poll_read(&mut [u8])` would force. On
            /// `Ready(Ok(n))` the first `n` elements of `buf` are initialised; `0` is
            /// end of stream (or an empty `buf`). Spends coop budget and registers the
            /// waker like `poll_read`.
            pub fn poll_read_uninit(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let len = buf.len();
                let ptr = buf.as_mut_ptr().cast::<libc::c_void>();
                self.io.poll_io_len(cx, Direction::Read, len, |s| {
                    let fd = std::os::fd::AsRawFd::as_raw_fd(s);
                    // SAFETY: `ptr`/`len` describe `buf`, which is exclusively borrowed
                    // for this call and valid for writes of `len` bytes; read(2) only
                    // writes (never reads) at most `len` bytes there. `fd` is the open
                    // socket owned by `s`, alive for the call.
                    let n = unsafe { libc::read(fd, ptr, len) };
                    if n < 0 {
                        Err(std::io::Error::last_os_error())
                    } else {
                        Ok(n as usize)
                    }
                })
            }
        }

        impl futures_io::AsyncRead for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts the write side down (the peer reads EOF).
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown_std(std::net::Shutdown::Write))
            }
        }

        /// The read half of a borrowed split ([`split`]($stream::split)).
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        /// The write half of a borrowed split ([`split`]($stream::split)).
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        /// The owned read half ([`into_split`]($stream::into_split)).
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: std::sync::Arc<$stream>,
        }

        /// The owned write half ([`into_split`]($stream::into_split)). Dropping it shuts
        /// the write side down (the peer reads EOF), as tokio's does.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: std::sync::Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The error of [`OwnedReadHalf::reunite`]: the halves came from different
        /// streams. Holds them so nothing is lost.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        impl $stream {
            /// Splits the stream into a read half and a write half that borrow it; each
            /// can be used from a different task (one reader, one writer) at once.
            pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
                (ReadHalf(&*self), WriteHalf(&*self))
            }

            /// Splits the stream into owned halves (an `Arc` inside) that can move to
            /// different tasks.
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                let inner = std::sync::Arc::new(self);
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
        }

        impl OwnedReadHalf {
            /// Puts the stream back together; fails if `other` came from another stream.
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if std::sync::Arc::ptr_eq(&self.inner, &other.inner) {
                    let mut other = other;
                    other.shutdown_on_drop = false;
                    drop(other);
                    Ok(std::sync::Arc::try_unwrap(self.inner)
                        .expect("the two halves held the only references"))
                } else {
                    Err(ReuniteError(self, other))
                }
            }
        }

        impl OwnedWriteHalf {
            /// See [`OwnedReadHalf::reunite`].
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                other.reunite(self)
            }

            /// Drops the half without shutting the write side down.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    let _ = self.inner.shutdown_std(std::net::Shutdown::Write);
                }
            }
        }

        impl AsRef<$stream> for ReadHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }
        impl AsRef<$stream> for WriteHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }
        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }
        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        $crate::net::split_macro::half_read!(ReadHalf<'_>, |s| s.0);
        $crate::net::split_macro::half_read!(OwnedReadHalf, |s| &*s.inner);
        $crate::net::split_macro::half_write!(WriteHalf<'_>, |s| s.0);
        $crate::net::split_macro::half_write!(OwnedWriteHalf, |s| &*s.inner);
    };
}

macro_rules! half_read {
    ($half:ty, |$s:ident| $inner:expr) => {
        impl futures_io::AsyncRead for $half {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_read_vectored_priv(cx, bufs)
            }
        }
    };
}

macro_rules! half_write {
    ($half:ty, |$s:ident| $inner:expr) => {
        impl futures_io::AsyncWrite for $half {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $inner.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($inner.shutdown_std(std::net::Shutdown::Write))
            }
        }
    };
}

pub(crate) use {half_read, half_write, stream_impls};
