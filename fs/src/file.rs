//! `File`: a `std::fs::File` driven from the blocking pool, with read-ahead and
//! write-behind buffers so that small reads and writes do not each cost a pool round
//! trip.
//!
//! # State machine
//!
//! ```text
//!            start_read / start_write / start_seek / start_sync...
//!   Idle(buf) ───────────────────────────────────────────────▶ Busy(JoinHandle<(Op, Buf)>)
//!       ▲                                                             │
//!       └──────────────── the blocking op finished: Idle(buf) ◀───────┘
//! ```
//!
//! At most one blocking operation is in flight per `File` (so operations reach the OS in
//! the order the user issued them). The one buffer travels with the operation and comes
//! back with its result.
//!
//! Invariants:
//!
//! * In `Idle(buf)`, `buf.data[buf.pos..buf.end]` is read-ahead: bytes read from the OS
//!   but not yet given to the user. The OS file offset is `buf.end - buf.pos` bytes
//!   *ahead* of the user's logical position. Any operation that depends on the offset
//!   (write, seek, set_len, into_std) first moves the OS offset back by that amount,
//!   inside the same blocking call.
//! * `pending` holds bytes accepted by `poll_write` while a write was in flight; they are
//!   written, in order, by the next operation of any kind before it does anything else.
//!   So `pending` is non-empty only in `Busy`, or in `Idle` with no read-ahead.
//! * Writes are batched into `pending` only while the operation in flight is a write
//!   (`writing`); batching behind a read or a seek would reorder the file's I/O.
//! * A background write's error is returned by the next poll of any kind (the write
//!   that failed had already returned `Ok`); `pending` is discarded then, because the
//!   file's offset after a failed write is unknown.
//!
//! The read-ahead size starts at [`MIN_READ`] and doubles on every sequential read up to
//! `max_buf_size` (a window like the kernel's own readahead); a seek resets it.
//!
//! Design notes: tokio's `File` (one in-flight op, errors reported on the next call) is
//! the model for the state machine; read-ahead that grows and write batching while a
//! write is in flight are magpie's additions for fewer round trips.

use crate::{OpenOptions, asyncify, current, join_error};
use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use magpie_runtime::task::JoinHandle;
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{Future, poll_fn};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// The first read-ahead size.
const MIN_READ: usize = 64 * 1024;
/// The default largest chunk moved per blocking call.
const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

/// An open file (`std::fs::File`) with async read, write and seek: futures-io's
/// [`AsyncRead`], [`AsyncWrite`], [`AsyncSeek`] and, with the `tokio-io` feature,
/// tokio's (so `magpie::io`'s `BufReader`, `copy`, `AsyncReadExt` ... work on it, as do
/// `magpie::io::futures`'s extension traits and the futures ecosystem's).
///
/// Writes are buffered: `write` returns when the bytes are in the file's buffer, and the
/// OS write happens on the blocking pool. Call [`flush`](futures_io::AsyncWrite::poll_flush)
/// (`AsyncWriteExt::flush`) to wait for it and see its error; a `File` dropped with
/// unflushed bytes still writes them in the background, but an error then is lost.
///
/// Methods that must be ordered with the buffered I/O (`sync_all`, `set_len`, ...) take
/// `&mut self` (tokio's take `&self` behind an internal lock).
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use magpie_fs::File;
/// use magpie_io::{AsyncReadExt, AsyncWriteExt};
///
/// let path = std::env::temp_dir().join(format!("magpie-file-doc-{}", std::process::id()));
/// let mut f = File::create(&path).await?;
/// f.write_all(b"hello ").await?;
/// f.write_all(b"world").await?;
/// f.flush().await?;
///
/// let mut s = String::new();
/// File::open(&path).await?.read_to_string(&mut s).await?;
/// assert_eq!(s, "hello world");
/// magpie_fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// Bytes accepted while a write was in flight (see the module docs).
    pending: Vec<u8>,
    /// Whether the operation in flight is a write (only then are writes batched behind
    /// it: batching behind a read or seek would reorder them).
    writing: bool,
    max_buf_size: usize,
    /// The next read-ahead size.
    read_size: usize,
    /// The seek started by tokio's `AsyncSeek::start_seek`, until `poll_complete`
    /// finishes it.
    pub(crate) seek: Option<SeekFrom>,
}

enum State {
    Idle(Buf),
    Busy(JoinHandle<(Op, Buf)>),
}

/// The buffer that travels with each operation. `data` is kept initialised up to its
/// length, so reusing it never zeroes memory again.
#[derive(Default)]
pub(crate) struct Buf {
    data: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    pub(crate) fn unread(&self) -> usize {
        self.end - self.pos
    }

    pub(crate) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.unread());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    /// The unread read-ahead.
    #[cfg_attr(not(feature = "tokio-io"), allow(dead_code))]
    pub(crate) fn consume(&mut self, n: usize) -> &[u8] {
        let start = self.pos;
        self.pos += n.min(self.unread());
        &self.data[start..self.pos]
    }

    /// Forgets the read-ahead and returns how far the OS offset is ahead because of it.
    fn discard(&mut self) -> i64 {
        let back = self.unread() as i64;
        self.pos = 0;
        self.end = 0;
        back
    }
}

enum Op {
    Read(io::Result<()>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    /// `sync_all`, `sync_data`, `set_len`.
    Other(io::Result<()>),
}

/// Moves the OS offset back over `back` bytes of discarded read-ahead.
fn rewind(file: &std::fs::File, back: i64) -> io::Result<()> {
    if back > 0 {
        (&*file).seek(SeekFrom::Current(-back))?;
    }
    Ok(())
}

impl File {
    /// Opens `path` read-only.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` read-write, failing with `AlreadyExists` if it exists.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A blank [`OpenOptions`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`.
    pub fn from_std(std: std::fs::File) -> File {
        File::from_arc(Arc::new(std))
    }

    fn from_arc(std: Arc<std::fs::File>) -> File {
        File {
            std,
            state: State::Idle(Buf::default()),
            pending: Vec::new(),
            writing: false,
            max_buf_size: DEFAULT_MAX_BUF_SIZE,
            read_size: MIN_READ,
            seek: None,
        }
    }

    /// Sets the largest chunk moved per blocking call (default 2 MiB; at least 1). Bigger
    /// means fewer round trips for big sequential transfers and more memory per file.
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.max_buf_size = max_buf_size.max(1);
        self.read_size = self.read_size.min(self.max_buf_size);
    }

    /// The largest chunk moved per blocking call.
    pub fn max_buf_size(&self) -> usize {
        self.max_buf_size
    }

    /// Metadata of the open file. Bytes still buffered for writing are not counted in its
    /// length; [`flush`](futures_io::AsyncWrite::poll_flush) first if that matters.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Sets the file's permissions.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        asyncify(move || std.set_permissions(perm)).await
    }

    /// A new `File` sharing the same open file description (offset included); buffered
    /// writes are flushed first so that the clone sees them.
    pub async fn try_clone(&mut self) -> io::Result<File> {
        self.settle(false).await?;
        let std = self.std.clone();
        let back = self.idle_buf().discard();
        let clone = asyncify(move || {
            rewind(&std, back)?;
            std.try_clone()
        })
        .await?;
        Ok(File::from_std(clone))
    }

    /// Flushes buffered writes, then `fsync`s data and metadata.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.run_other(|f| f.sync_all()).await
    }

    /// Flushes buffered writes, then `fdatasync`s.
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.run_other(|f| f.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes (the position is unchanged).
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.run_other(move |f| f.set_len(size)).await
    }

    /// Finishes the buffered I/O and returns the `std::fs::File`, its offset at the
    /// logical position.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.settle(false).await?;
        let back = self.idle_buf().discard();
        let std = self.std.clone();
        asyncify(move || rewind(&std, back)).await?;
        let std = self.std.clone();
        drop(self);
        Arc::try_unwrap(std).map_err(|_| io::Error::other("file still shared"))
    }

    /// The `std::fs::File` if no operation is in flight and nothing is buffered;
    /// otherwise the `File` back.
    pub fn try_into_std(self) -> Result<std::fs::File, File> {
        let idle = matches!(&self.state, State::Idle(buf) if buf.unread() == 0);
        if !idle || !self.pending.is_empty() {
            return Err(self);
        }
        let (std, max) = (self.std.clone(), self.max_buf_size);
        drop(self);
        Arc::try_unwrap(std).map_err(|std| {
            let mut f = File::from_arc(std);
            f.max_buf_size = max;
            f
        })
    }

    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("settle() leaves the file idle"),
        }
    }

    /// Runs `f` on the std file after flushing, with the OS offset at the logical
    /// position (read-ahead given back).
    async fn run_other(
        &mut self,
        f: impl FnOnce(&std::fs::File) -> io::Result<()> + Send + 'static,
    ) -> io::Result<()> {
        self.settle(false).await?;
        let back = self.idle_buf().discard();
        let std = self.std.clone();
        let buf = std::mem::take(self.idle_buf());
        let handle = current()?;
        self.state = State::Busy(handle.spawn_blocking(move || {
            let r = rewind(&std, back).and_then(|()| f(&std));
            (Op::Other(r), buf)
        }));
        self.settle(true).await
    }

    /// Waits for the operation in flight and writes `pending`, leaving the file idle.
    /// With `want_other`, returns the result of a finished `Op::Other`.
    async fn settle(&mut self, want_other: bool) -> io::Result<()> {
        poll_fn(|cx| {
            loop {
                match self.poll_complete(cx)? {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Op::Other(r))) if want_other => {
                        if self.pending.is_empty() {
                            return Poll::Ready(r);
                        }
                        r?;
                    }
                    Poll::Ready(_) => {}
                }
                if !self.pending.is_empty() {
                    self.start_pending_write()?;
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
        })
        .await
    }

    /// Drives the in-flight operation to completion. `Ready(None)`: the file was idle.
    /// A failed write's error is returned (and `pending` dropped); other results are
    /// handed to the caller.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Op>>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(Ok(None));
        };
        let res = ready!(Pin::new(handle).poll(cx));
        self.writing = false;
        match res {
            Ok((op, buf)) => {
                self.state = State::Idle(buf);
                if let Op::Write(Err(e)) = op {
                    self.pending.clear();
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(Some(op)))
            }
            Err(e) => {
                self.state = State::Idle(Buf::default());
                self.pending.clear();
                Poll::Ready(Err(join_error(e)))
            }
        }
    }

    /// From `Idle`: starts writing `pending` (after giving back any read-ahead).
    fn start_pending_write(&mut self) -> io::Result<()> {
        let handle = current()?;
        let State::Idle(buf) = &mut self.state else {
            unreachable!("start_pending_write needs an idle file")
        };
        let back = buf.discard();
        let mut buf = std::mem::take(buf);
        // Swap rather than copy: `pending` gets the old buffer's allocation.
        std::mem::swap(&mut buf.data, &mut self.pending);
        self.pending.clear();
        let std = self.std.clone();
        self.writing = true;
        self.state = State::Busy(handle.spawn_blocking(move || {
            let r = rewind(&std, back).and_then(|()| (&*std).write_all(&buf.data));
            (Op::Write(r), buf)
        }));
        Ok(())
    }

    /// Leaves the file idle with nothing pending, or returns a background write's error
    /// / Pending. Finished results of abandoned operations are dropped (a failed
    /// write's error is not).
    pub(crate) fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_complete(cx))?;
            if self.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            self.start_pending_write()?;
        }
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_read_with(cx, dst.len(), |buf| buf.copy_to(dst))
    }
}

impl File {
    /// The one read path of both trait families: serves up to `want` bytes from the
    /// read-ahead (or a new blocking read) through `copy`, which moves bytes out of the
    /// buffer into the caller's and returns how many.
    pub(crate) fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        want: usize,
        mut copy: impl FnMut(&mut Buf) -> usize,
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_started_seek(cx))?;
        let this = self;
        loop {
            // Read-ahead already in memory: no round trip.
            if let State::Idle(buf) = &mut this.state
                && buf.unread() > 0
                && this.pending.is_empty()
            {
                return Poll::Ready(Ok(copy(buf)));
            }
            if let State::Busy(_) = this.state {
                match ready!(this.poll_complete(cx))? {
                    Some(Op::Read(r)) => {
                        r?;
                        let State::Idle(buf) = &mut this.state else {
                            unreachable!()
                        };
                        // An empty read-ahead after a read is end of file.
                        return Poll::Ready(Ok(copy(buf)));
                    }
                    _ => continue,
                }
            }
            ready!(this.poll_idle(cx))?;
            if want == 0 {
                return Poll::Ready(Ok(0));
            }
            // Start a read of at least the caller's buffer and at least the read-ahead
            // window, capped at max_buf_size.
            let want = want.max(this.read_size).min(this.max_buf_size);
            this.read_size = (this.read_size * 2).min(this.max_buf_size);
            let handle = current()?;
            let State::Idle(buf) = &mut this.state else {
                unreachable!()
            };
            let mut buf = std::mem::take(buf);
            if buf.data.len() < want {
                buf.data.resize(want, 0);
            }
            let std = this.std.clone();
            this.state = State::Busy(handle.spawn_blocking(move || {
                let r = loop {
                    match (&*std).read(&mut buf.data[..want]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        r => break r,
                    }
                };
                buf.pos = 0;
                buf.end = *r.as_ref().unwrap_or(&0);
                (Op::Read(r.map(drop)), buf)
            }));
        }
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

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }
}

impl File {
    /// The one write path of both trait families (see the module docs: batched behind
    /// a write in flight, else started at once).
    pub(crate) fn poll_write_inner(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_started_seek(cx))?;
        let this = self;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if let State::Busy(_) = this.state {
                // Batch behind the write in flight, up to max_buf_size.
                let room = this.max_buf_size.saturating_sub(this.pending.len());
                if this.writing && room > 0 {
                    let n = room.min(src.len());
                    this.pending.extend_from_slice(&src[..n]);
                    return Poll::Ready(Ok(n));
                }
                ready!(this.poll_complete(cx))?;
                continue;
            }
            // Idle: whatever is pending goes first.
            if !this.pending.is_empty() {
                this.start_pending_write()?;
                continue;
            }
            let n = src.len().min(this.max_buf_size);
            this.pending.extend_from_slice(&src[..n]);
            this.start_pending_write()?;
            return Poll::Ready(Ok(n));
        }
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        ready!(this.poll_started_seek(cx))?;
        this.poll_seek_inner(cx, pos)
    }
}

impl File {
    /// Finishes a seek that tokio's `AsyncSeek::start_seek` started, before any other
    /// operation: the file's operations reach the OS in the order they were issued,
    /// even when the caller never called `poll_complete` (a cancelled `seek` future).
    pub(crate) fn poll_started_seek(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(pos) = self.seek {
            let r = ready!(self.poll_seek_inner(cx, pos));
            self.seek = None;
            r?;
        }
        Poll::Ready(Ok(()))
    }

    /// The one seek path of both trait families. Re-polled with the same `pos` until
    /// it is ready (futures' `Seek` future does that; tokio's `start_seek` keeps `pos`
    /// for `poll_complete`).
    pub(crate) fn poll_seek_inner(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self;
        loop {
            if let State::Busy(_) = this.state {
                if let Some(Op::Seek(r)) = ready!(this.poll_complete(cx))? {
                    // The seek this call started on an earlier poll (futures' Seek
                    // future re-polls with the same `pos` until Ready).
                    if this.pending.is_empty() {
                        return Poll::Ready(r);
                    }
                }
                continue;
            }
            ready!(this.poll_idle(cx))?;
            let handle = current()?;
            let State::Idle(buf) = &mut this.state else {
                unreachable!()
            };
            let back = buf.discard();
            let pos = match pos {
                SeekFrom::Current(n) => match n.checked_sub(back) {
                    Some(n) => SeekFrom::Current(n),
                    None => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "seek offset out of range",
                        )));
                    }
                },
                other => other,
            };
            this.read_size = MIN_READ.min(this.max_buf_size);
            let buf = std::mem::take(buf);
            let std = this.std.clone();
            this.state =
                State::Busy(handle.spawn_blocking(move || (Op::Seek((&*std).seek(pos)), buf)));
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // Unflushed bytes: write them in the background, after the operation in
        // flight, so that they land in order. Errors are lost (documented: flush to
        // see them). Without a runtime there is nothing to run them on.
        let Ok(handle) = current() else { return };
        let pending = std::mem::take(&mut self.pending);
        let std = self.std.clone();
        let state = std::mem::replace(&mut self.state, State::Idle(Buf::default()));
        let back = match &state {
            State::Idle(buf) => buf.unread() as i64,
            State::Busy(_) => 0,
        };
        let inner = handle.clone();
        drop(handle.spawn(async move {
            let back = match state {
                State::Busy(h) => match h.await {
                    Ok((Op::Write(Err(_)), _)) | Err(_) => return,
                    Ok((_, buf)) => buf.unread() as i64,
                },
                State::Idle(_) => back,
            };
            let _ = inner
                .spawn_blocking(move || {
                    rewind(&std, back).and_then(|()| (&*std).write_all(&pending))
                })
                .await;
        }));
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}
