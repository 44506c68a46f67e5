//! futures-io's `AsyncRead` / `AsyncWrite` for every magpie I/O type, written once:
//! each type names its one I/O path (the registration's `poll_read`, `poll_write`
//! and their vectored forms) and what closing does. A foreign trait cannot get one
//! blanket impl over these types, and the bodies are the same, so two macros stamp
//! them. tokio's traits are done the same way in `tokio_io.rs`; `ChildStdin`, whose
//! close drops the pipe, keeps its own impl in `process/pipes.rs`.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::net::split::sealed::{Sealed, StreamIo};
use crate::net::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, SplitStream, WriteHalf};
use crate::net::unix::pipe;
use crate::net::{TcpStream, UnixStream};
use crate::process::{ChildStderr, ChildStdout};

/// `AsyncRead` for each type: `|s| io` names the I/O path of `s: &Self`.
macro_rules! futures_read {
    ($([$($g:tt)*] $ty:ty => |$s:ident| $io:expr;)*) => {$(
        impl<$($g)*> AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $io.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $io.poll_read_vectored(cx, bufs)
            }
        }
    )*};
}

/// `AsyncWrite` for each type: `|s| io` names its I/O path, `close` what `poll_close`
/// does. Nothing is buffered, so `poll_flush` is ready at once.
macro_rules! futures_write {
    ($([$($g:tt)*] $ty:ty => |$s:ident| $io:expr, close: $close:expr;)*) => {$(
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

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = &*self;
                Poll::Ready($close)
            }
        }
    )*};
}

futures_read! {
    [] TcpStream => |s| s.io();
    [] UnixStream => |s| s.io();
    ['a, S: SplitStream] ReadHalf<'a, S> => |s| s.as_ref().io();
    [S: SplitStream] OwnedReadHalf<S> => |s| s.as_ref().io();
    [] ChildStdout => |s| s.io;
    [] ChildStderr => |s| s.io;
    [] pipe::Receiver => |s| s.io;
}

futures_write! {
    // Closing shuts the write side down: the peer reads end-of-file.
    [] TcpStream => |s| s.io(), close: s.shutdown_write();
    [] UnixStream => |s| s.io(), close: s.shutdown_write();
    ['a, S: SplitStream] WriteHalf<'a, S> => |s| s.as_ref().io(),
        close: s.as_ref().shutdown_write();
    [S: SplitStream] OwnedWriteHalf<S> => |s| s.as_ref().io(),
        close: s.as_ref().shutdown_write();
    // A pipe's write side closes when the `Sender` is dropped; closing is a no-op.
    [] pipe::Sender => |s| s.io, close: { let _ = s; Ok(()) };
}
