//! `AsyncFd<T: AsRawFd>`: registers any file descriptor (a pipe, an eventfd, a socket
//! from another library) with the driver and hands out readiness, as tokio's
//! `tokio::io::unix::AsyncFd` does. The fd must be in non-blocking mode; `AsyncFd` does
//! not change it.
//!
//! Readiness comes from the same per-resource state as every socket (`ScheduledIo`):
//! `readable()`/`writable()`/`ready()` wait as waiter-list entries (any number of tasks
//! may wait), `poll_read_ready`/`poll_write_ready` keep one waker per direction. A
//! guard holds the readiness event it was given; [`AsyncFdReadyGuard::clear_ready`]
//! clears exactly that event (not a newer one: the tick check of `ScheduledIo`), and
//! [`AsyncFdReadyGuard::try_io`] clears it when the operation returns `WouldBlock`.
//!
//! Drop order: the registration is dropped (deregistered from epoll) before the inner
//! value, so the fd is still open when it is removed from the interest list.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll, ready};

use crate::driver::Handle;
use crate::interest::Interest;
use crate::registration::{FdSource, PollEvented};
use crate::scheduled_io::{Direction, Ready, ReadyEvent};

/// A file descriptor registered with the magpie I/O driver, with async readiness.
///
/// ```no_run
/// # async fn f(fd: std::os::fd::OwnedFd) -> std::io::Result<()> {
/// use magpie_io::unix::AsyncFd;
/// let fd = AsyncFd::new(fd)?;
/// let mut guard = fd.readable().await?;
/// match guard.try_io(|inner| { /* a non-blocking read on inner */ Ok(()) }) {
///     Ok(result) => result?,
///     Err(_would_block) => { /* readiness cleared: wait again */ }
/// }
/// # Ok(()) }
/// ```
pub struct AsyncFd<T: AsRawFd> {
    // Declared first: dropped (deregistered) before `inner` closes the fd.
    io: Option<PollEvented<FdSource>>,
    inner: Option<T>,
}

/// The error of [`AsyncFd::try_new`]: why the fd could not be registered, and the
/// inner value, given back.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    cause: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The inner value and the registration error.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.cause, f)
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.cause, f)
    }
}

impl<T> std::error::Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(e: AsyncFdTryNewError<T>) -> io::Error {
        e.cause
    }
}

/// The error of a guard's `try_io` whose operation returned `WouldBlock` (the readiness
/// was cleared: wait again).
#[derive(Debug)]
pub struct TryIoError(());

/// Readiness of an [`AsyncFd`], from `readable()`, `writable()`, `ready()` or the
/// `poll_*_ready` methods.
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// Like [`AsyncFdReadyGuard`], with mutable access to the [`AsyncFd`].
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    fd: &'a mut AsyncFd<T>,
    event: Option<ReadyEvent>,
}

fn to_mio(interest: Interest) -> mio::Interest {
    match (interest.is_readable(), interest.is_writable()) {
        (true, true) => mio::Interest::READABLE | mio::Interest::WRITABLE,
        (false, true) => mio::Interest::WRITABLE,
        _ => mio::Interest::READABLE,
    }
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd for reads and writes with the current driver. Fails
    /// outside a runtime with I/O enabled, or if the fd cannot be registered (a regular
    /// file gives `EPERM`).
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner`'s fd for `interest` only.
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        AsyncFd::try_with_interest(inner, interest).map_err(|e| e.cause)
    }

    /// [`new`](Self::new), giving `inner` back on failure.
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        AsyncFd::try_with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// [`with_interest`](Self::with_interest), giving `inner` back on failure.
    pub fn try_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdTryNewError<T>> {
        let registered = Handle::current().and_then(|handle| {
            PollEvented::with_interest(FdSource(inner.as_raw_fd()), &handle, to_mio(interest))
        });
        match registered {
            Ok(io) => Ok(AsyncFd {
                io: Some(io),
                inner: Some(inner),
            }),
            Err(cause) => Err(AsyncFdTryNewError { inner, cause }),
        }
    }

    fn io(&self) -> &PollEvented<FdSource> {
        self.io.as_ref().expect("registered until into_inner/drop")
    }

    /// The inner value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until into_inner/drop")
    }

    /// The inner value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until into_inner/drop")
    }

    /// Deregisters the fd and returns the inner value (the fd stays open).
    pub fn into_inner(mut self) -> T {
        if let Some(io) = self.io.take() {
            // Deregisters; the `FdSource` is only the fd number (nothing to close).
            let _ = io.into_inner();
        }
        self.inner.take().expect("present until into_inner/drop")
    }

    fn guard(&self, event: ReadyEvent) -> AsyncFdReadyGuard<'_, T> {
        AsyncFdReadyGuard {
            fd: self,
            event: Some(event),
        }
    }

    /// Polls for read readiness. Only the waker of the most recent call is kept (as in
    /// tokio); use [`readable`](Self::readable) when several tasks wait.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ev = ready!(self.io().poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(self.guard(ev)))
    }

    /// Polls for write readiness (the most recent call's waker is kept).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ev = ready!(self.io().poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(self.guard(ev)))
    }

    /// [`poll_read_ready`](Self::poll_read_ready) with a mutable guard.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let event = ready!(self.io().poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            fd: self,
            event: Some(event),
        }))
    }

    /// [`poll_write_ready`](Self::poll_write_ready) with a mutable guard.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let event = ready!(self.io().poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            fd: self,
            event: Some(event),
        }))
    }

    /// Waits until ready in any direction of `interest` (any number of tasks may wait).
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let ev = self.io().ready(interest).await?;
        Ok(self.guard(ev))
    }

    /// [`ready`](Self::ready) with a mutable guard.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let event = self.io().ready(interest).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            event: Some(event),
        })
    }

    /// Waits until readable.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Waits until readable, with a mutable guard.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until writable.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Waits until writable, with a mutable guard.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Waits for readiness in `interest` and runs `f` on the inner value, again after
    /// each `WouldBlock` (which clears the readiness), until it returns anything else.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.get_ref();
        self.io().async_io(interest, |_| f(inner)).await
    }

    /// Runs `f` on the inner value if the driver reported readiness in `interest`, else
    /// returns `WouldBlock`; a `WouldBlock` from `f` clears the readiness.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.get_ref();
        self.io().try_io(interest, |_| f(inner))
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// What was ready (among the interest waited for) when the guard was made.
    pub fn ready(&self) -> Ready {
        self.event.map_or(Ready::EMPTY, |ev| ev.ready)
    }

    /// Clears the readiness this guard holds (unless a newer event arrived since): the
    /// next wait sleeps until the driver reports the fd ready again. Call it after an
    /// operation returned `WouldBlock`.
    pub fn clear_ready(&mut self) {
        if let Some(ev) = self.event.take() {
            self.fd.io().clear_readiness(ev);
        }
    }

    /// Drops the guard keeping the readiness (the next wait returns at once).
    pub fn retain_ready(mut self) {
        self.event = None;
    }

    /// Runs `f`; on `WouldBlock` clears the readiness and returns `Err(TryIoError)`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The [`AsyncFd`].
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The inner value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    /// What was ready (among the interest waited for) when the guard was made.
    pub fn ready(&self) -> Ready {
        self.event.map_or(Ready::EMPTY, |ev| ev.ready)
    }

    /// Clears the readiness this guard holds (see [`AsyncFdReadyGuard::clear_ready`]).
    pub fn clear_ready(&mut self) {
        if let Some(ev) = self.event.take() {
            self.fd.io().clear_readiness(ev);
        }
    }

    /// Drops the guard keeping the readiness.
    pub fn retain_ready(mut self) {
        self.event = None;
    }

    /// Runs `f`; on `WouldBlock` clears the readiness and returns `Err(TryIoError)`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The [`AsyncFd`].
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The [`AsyncFd`], mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The inner value.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The inner value, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", self.fd)
            .field("ready", &self.ready())
            .finish()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("fd", &*self.fd)
            .field("ready", &self.ready())
            .finish()
    }
}
