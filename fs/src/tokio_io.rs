//! tokio's I/O traits on [`File`] (feature `tokio-io`): the same read, write and seek
//! paths as the futures-io impls in `file.rs`, only the buffer types differ.
//!
//! * `AsyncRead`: bytes go from the read-ahead straight into `ReadBuf`'s unfilled part
//!   (`put_slice`), so the caller's buffer is never zeroed first.
//! * `AsyncWrite`: `poll_shutdown` is a flush (a file has no write side to close).
//! * `AsyncSeek`: `start_seek` records the target; `poll_complete` drives the seek (and
//!   any write or read-ahead in flight before it). With no seek started, `poll_complete`
//!   reports the current logical position, as tokio documents.

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use crate::File;

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let want = dst.remaining();
        ready!(self.get_mut().poll_read_with(cx, want, |buf| {
            let bytes = buf.consume(want);
            dst.put_slice(bytes);
            bytes.len()
        }))?;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, src)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }
}

impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if this.seek.is_some() {
            return Err(io::Error::other(
                "other file operation is pending, call poll_complete before start_seek",
            ));
        }
        this.seek = Some(pos);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let pos = this.seek.unwrap_or(SeekFrom::Current(0));
        let r = ready!(this.poll_seek_inner(cx, pos));
        this.seek = None;
        Poll::Ready(r)
    }
}
