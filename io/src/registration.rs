//! `PollEvented<E>`: a mio source registered with the current driver, and the one I/O
//! path every socket and pipe operation runs through (mio's `do_io` discipline: the
//! operation is tried only through this type, which clears readiness on `WouldBlock`).
//!
//! * `poll_io` / `poll_io_len`: the `poll_*` methods' loop (coop budget, wait in the
//!   direction's single waker slot, try, clear on `WouldBlock`).
//! * `async_io` / `ready`: the futures' loop, waiting as a waiter-list entry.
//! * `try_io`: one attempt without waiting.
//! * The byte-stream operations on top (`poll_read`, `poll_read_uninit`,
//!   `poll_read_vectored`, `poll_write`, `poll_write_vectored`, `try_read`, ...), for
//!   any source whose `&E` is `io::Read`/`io::Write` (mio's TCP and Unix streams, pipe
//!   ends). `TcpStream`, `UnixStream`, their split halves and child stdio all call
//!   these; none repeats the loop.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use magpie_base::coop;
use mio::Token;

use crate::driver::{Handle, shut_down};
use crate::interest::Interest;
use crate::scheduled_io::{Direction, Ready, ReadyEvent, ScheduledIo};

/// A raw fd as a mio source (mio's `SourceFd` borrows; this owns the number only).
pub(crate) struct FdSource(pub(crate) RawFd);

impl mio::event::Source for FdSource {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.0).deregister(registry)
    }
}

/// A mio source registered with a driver (see the module docs). Public only so the
/// sealed `SplitStream` trait can name it; not reachable from outside the crate.
pub struct PollEvented<E: mio::event::Source> {
    io: Option<E>,
    handle: Handle,
    token: Token,
    shared: Arc<ScheduledIo>,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` for reads and writes with the current driver.
    pub(crate) fn new(io: E) -> io::Result<Self> {
        Self::with_interest(
            io,
            &Handle::current()?,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
    }

    /// Registers `io` with `handle`'s driver for `interest` only (pipes, pidfds).
    pub(crate) fn with_interest(
        io: E,
        handle: &Handle,
        interest: mio::Interest,
    ) -> io::Result<Self> {
        let mut io = io;
        let handle = handle.clone();
        let (token, shared) = handle.register(&mut io, interest)?;
        Ok(PollEvented {
            io: Some(io),
            handle,
            token,
            shared,
        })
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("io present until drop/into_inner")
    }

    pub(crate) fn token(&self) -> usize {
        self.token.0
    }

    /// Deregisters and returns the source.
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self.io.take().expect("io present until drop/into_inner");
        self.handle.deregister(&mut io, self.token);
        io
    }

    /// Waits until the resource is ready in `dir` (no budget spent).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.shared
            .poll_ready(cx, dir)
            .map(|r| r.map_err(|_| shut_down()))
    }

    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        self.shared.clear_readiness(ev);
    }

    /// The I/O loop: spend one unit of coop budget, wait for readiness in `dir`, run
    /// `f`; on `WouldBlock` clear the readiness that was seen and wait again.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        loop {
            let ev = ready!(self.poll_ready(cx, dir))?;
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => {
                    coop.made_progress();
                    return Poll::Ready(res);
                }
            }
        }
    }

    /// [`poll_io`](Self::poll_io) for reads and writes of `len` bytes: a transfer shorter
    /// than `len` drained the socket's buffer (receive or send), so the readiness seen is
    /// cleared at once, saving the syscall that would return `WouldBlock`.
    pub(crate) fn poll_io_len(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut f: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        loop {
            let ev = ready!(self.poll_ready(cx, dir))?;
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => {
                    if let Ok(n) = res {
                        if n > 0 && n < len {
                            self.clear_readiness(ev);
                        }
                    }
                    coop.made_progress();
                    return Poll::Ready(res);
                }
            }
        }
    }

    /// Waits until ready in any direction of `interest` (a waiter-list entry, so any
    /// number of tasks may wait); returns what is ready.
    pub(crate) async fn ready_interest(&self, interest: Interest) -> io::Result<Ready> {
        let ev = self.shared.readiness(interest.mask()).await;
        ev.map(|ev| ev.ready).map_err(|_| shut_down())
    }

    /// Whether the driver has reported readiness in `interest` (one load: no error
    /// value, no syscall). For callers that poll a resource after every park.
    pub(crate) fn is_ready(&self, interest: impl Into<Interest>) -> bool {
        matches!(self.shared.ready_in(interest.into().mask()), Ok(Some(_)))
    }

    /// One attempt without waiting: `WouldBlock` unless the driver reported readiness in
    /// `interest` (a [`Direction`] or an [`Interest`]); a `WouldBlock` from `f` clears
    /// the readiness that was seen.
    pub(crate) fn try_io<R>(
        &self,
        interest: impl Into<Interest>,
        f: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let ev = match self.shared.ready_in(interest.into().mask()) {
            Err(_) => return Err(shut_down()),
            Ok(None) => return Err(io::ErrorKind::WouldBlock.into()),
            Ok(Some(ev)) => ev,
        };
        match f(self.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(ev);
                Err(e)
            }
            res => res,
        }
    }

    /// Waits for readiness in `interest` (a [`Direction`] or an [`Interest`]: the
    /// `readable()`/`writable()` futures): a
    /// waiter-list entry, so any number of tasks may wait.
    pub(crate) async fn ready(&self, interest: impl Into<Interest>) -> io::Result<ReadyEvent> {
        let ev = self.shared.readiness(interest.into().mask()).await;
        ev.map_err(|_| shut_down())
    }

    /// Runs `f` until it does not return `WouldBlock`, waiting for readiness between
    /// tries (the async methods that take `&self`: `accept`, `recv_from`, ...). It waits
    /// as one entry of the waiter list, so any number of tasks may run it at once; the
    /// entry is removed when the future completes or is dropped.
    pub(crate) async fn async_io<R>(
        &self,
        interest: impl Into<Interest>,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waiter = self.shared.readiness(interest.into().mask());
        std::future::poll_fn(|cx| {
            let mut coop = ready!(coop::poll_proceed(cx));
            loop {
                let ev = ready!(waiter.poll(cx)).map_err(|_| shut_down())?;
                match f(self.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                    res => {
                        coop.made_progress();
                        return Poll::Ready(res);
                    }
                }
            }
        })
        .await
    }

    /// Whether the driver shut down.
    pub(crate) fn check_shutdown(&self) -> io::Result<()> {
        if self.shared.is_shutdown() {
            Err(shut_down())
        } else {
            Ok(())
        }
    }
}

/// Byte-stream reads, for sources read through `&E` (sockets, pipe receivers).
impl<E: mio::event::Source + AsRawFd> PollEvented<E>
where
    for<'a> &'a E: Read,
{
    /// Reads into `buf`. A read shorter than `buf` drained the receive buffer, so the
    /// readiness seen is cleared at once (saving the `EAGAIN` syscall).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_io_len(cx, Direction::Read, len, |mut s| s.read(buf))
    }

    /// Reads into memory that may be uninitialised (no zeroing first). On
    /// `Ready(Ok(n))` the first `n` elements of `buf` are initialised.
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let ptr = buf.as_mut_ptr().cast::<libc::c_void>();
        self.poll_io_len(cx, Direction::Read, len, |s| {
            // SAFETY: `ptr`/`len` describe `buf`, which is exclusively borrowed for this
            // call and valid for writes of `len` bytes; read(2) only writes (never
            // reads) at most `len` bytes there. The fd is the open source owned by `s`,
            // alive for the call.
            let n = unsafe { libc::read(s.as_raw_fd(), ptr, len) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    /// Vectored [`poll_read`](Self::poll_read).
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_io_len(cx, Direction::Read, len, |mut s| s.read_vectored(bufs))
    }

    /// One read without waiting: `WouldBlock` unless readable.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Direction::Read, |mut s| s.read(buf))
    }

    /// Vectored [`try_read`](Self::try_read).
    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Read, |mut s| s.read_vectored(bufs))
    }
}

/// Byte-stream writes, for sources written through `&E` (sockets, pipe senders).
impl<E: mio::event::Source> PollEvented<E>
where
    for<'a> &'a E: Write,
{
    /// Writes from `buf`. A write shorter than `buf` filled the send buffer, so the
    /// readiness seen is cleared at once.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io_len(cx, Direction::Write, buf.len(), |mut s| s.write(buf))
    }

    /// Vectored [`poll_write`](Self::poll_write) (forwarded to `writev`).
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_io_len(cx, Direction::Write, len, |mut s| s.write_vectored(bufs))
    }

    /// One write without waiting: `WouldBlock` unless writable.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Direction::Write, |mut s| s.write(buf))
    }

    /// Vectored [`try_write`](Self::try_write).
    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Write, |mut s| s.write_vectored(bufs))
    }
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.handle.deregister(&mut io, self.token);
            self.shared.clear_wakers();
        }
    }
}

impl<E: mio::event::Source + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.get_ref(), f)
    }
}
