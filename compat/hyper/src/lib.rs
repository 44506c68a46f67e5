//! # magpie-hyper: hyper 1.x on magpie
//!
//! hyper 1.x is runtime-agnostic: it asks its user for an executor (to spawn HTTP/2
//! streams and client background tasks), a timer (for timeouts such as
//! `header_read_timeout` and keep-alive pings) and I/O types implementing its own
//! [`hyper::rt::Read`] / [`hyper::rt::Write`]. This crate provides the three for magpie:
//!
//! | hyper needs                 | magpie-hyper provides                                   |
//! |-----------------------------|---------------------------------------------------------|
//! | `rt::Executor<F>`           | [`MagpieExecutor`]: `magpie::spawn` (or a given runtime)|
//! | `rt::Timer`, `rt::Sleep`    | [`MagpieTimer`], [`MagpieSleep`]: magpie's timer wheel  |
//! | `rt::Read` + `rt::Write`    | [`MagpieIo<T>`] around any futures-io stream            |
//! | (and back) futures-io       | [`MagpieIo<T>`] around any hyper I/O (e.g. `Upgraded`)  |
//!
//! plus [`serve_http1`], an accept loop for the common case (feature `server`, on by
//! default). Through the facade: `magpie = { features = ["hyper"] }`, then
//! `use magpie::hyper::{MagpieExecutor, MagpieIo, MagpieTimer};`.
//!
//! ```
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use magpie_hyper::{MagpieExecutor, MagpieIo, MagpieTimer};
//! use magpie_io::net::{TcpListener, TcpStream};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("Hello, world"))))
//! }
//!
//! # magpie_runtime::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! // Server: one connection, served on a magpie task.
//! magpie_runtime::spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     hyper::server::conn::http1::Builder::new()
//!         .timer(MagpieTimer::new())
//!         .serve_connection(MagpieIo::from(stream), hyper::service::service_fn(hello))
//!         .await
//!         .map_err(std::io::Error::other)
//! });
//! // Client: hyper's low-level client over a magpie TcpStream.
//! let stream = TcpStream::connect(addr).await?;
//! let (mut send, conn) = hyper::client::conn::http1::handshake(MagpieIo::from(stream))
//!     .await
//!     .map_err(std::io::Error::other)?;
//! MagpieExecutor::new().spawn(conn);
//! let req = Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//! let res = send.send_request(req).await.map_err(std::io::Error::other)?;
//! assert_eq!(res.status(), 200);
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! The crate does not depend on tokio. (hyper itself depends on tokio's `sync` module
//! for its internal channels; no tokio runtime, reactor or timer is involved. hyper's
//! `http2` feature also brings in h2, which uses tokio's I/O traits.)
#![warn(missing_docs)]

use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use magpie_runtime::runtime::Handle;
use pin_project_lite::pin_project;

#[cfg(feature = "server")]
mod serve;
#[cfg(feature = "server")]
pub use serve::serve_http1;

// ---------------------------------------------------------------------------------
// Executor
// ---------------------------------------------------------------------------------

/// A [`hyper::rt::Executor`] that spawns hyper's background futures (HTTP/2 streams,
/// client connection tasks) as magpie tasks.
///
/// [`MagpieExecutor::new`] spawns on the runtime current where `execute` is called
/// (hyper calls it from inside the connection's task, so that is the runtime serving
/// the connection); [`MagpieExecutor::with_handle`] pins it to one runtime, which also
/// works from threads outside any runtime.
///
/// ```
/// use hyper::rt::Executor;
/// # let rt = magpie_runtime::runtime::Builder::new_multi_thread().build().unwrap();
/// let exec = magpie_hyper::MagpieExecutor::with_handle(rt.handle().clone());
/// let (tx, rx) = std::sync::mpsc::channel();
/// exec.execute(async move { tx.send(42).unwrap() }); // from a plain thread
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MagpieExecutor {
    handle: Option<Handle>,
}

impl MagpieExecutor {
    /// An executor that spawns on the current magpie runtime.
    ///
    /// `execute` panics when called outside a runtime (hyper calls it from tasks that
    /// already run on one).
    pub fn new() -> MagpieExecutor {
        MagpieExecutor { handle: None }
    }

    /// An executor that spawns on the runtime of `handle`, from any thread.
    pub fn with_handle(handle: Handle) -> MagpieExecutor {
        MagpieExecutor {
            handle: Some(handle),
        }
    }

    /// Spawns `fut` as a detached magpie task (what [`hyper::rt::Executor::execute`]
    /// does), for code that holds a `MagpieExecutor` and wants to spawn without
    /// importing hyper's trait.
    #[track_caller]
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Dropping the JoinHandle detaches the task; it still runs to completion.
        match &self.handle {
            Some(handle) => drop(handle.spawn(fut)),
            None => drop(magpie_runtime::spawn(fut)),
        }
    }
}

impl<F> hyper::rt::Executor<F> for MagpieExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, fut: F) {
        self.spawn(fut);
    }
}

// ---------------------------------------------------------------------------------
// Timer
// ---------------------------------------------------------------------------------

/// A [`hyper::rt::Timer`] backed by magpie's timer wheel (`magpie_time`).
///
/// Give it to hyper's builders (`.timer(MagpieTimer::new())`) to enable
/// `header_read_timeout`, HTTP/2 keep-alive pings and the client pool's idle timeout.
///
/// * `sleep` / `sleep_until` return a [`MagpieSleep`] (one allocation, the `Box` hyper
///   asks for; the timer entry lives inside it, so registering it allocates nothing);
/// * `reset` moves an existing [`MagpieSleep`]'s deadline in place
///   ([`magpie_time::Sleep::reset`]), no new allocation;
/// * `now` reads magpie's clock, so hyper's timeouts follow a paused test clock
///   (`magpie_time::pause` / `advance`) like every other magpie timer.
///
/// The sleeps register with the time driver of the runtime current where they are
/// created: `sleep` panics outside a magpie runtime with time enabled (hyper creates
/// its sleeps inside connection tasks).
#[derive(Clone, Copy, Debug, Default)]
pub struct MagpieTimer {
    _priv: (),
}

impl MagpieTimer {
    /// The timer (it has no state: every sleep goes to the current runtime's driver).
    pub fn new() -> MagpieTimer {
        MagpieTimer { _priv: () }
    }
}

impl hyper::rt::Timer for MagpieTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(MagpieSleep {
            inner: magpie_time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(MagpieSleep {
            inner: magpie_time::sleep_until(magpie_time::Instant::from_std(deadline)),
        })
    }

    fn now(&self) -> Instant {
        magpie_time::Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<MagpieSleep>() {
            // Ours: move the deadline of the entry we already have.
            Some(ours) => ours.reset(new_deadline),
            // Some other timer's sleep (hyper never mixes them, but the trait allows
            // it): replace it.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

pin_project! {
    /// The [`hyper::rt::Sleep`] of [`MagpieTimer`]: a [`magpie_time::Sleep`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct MagpieSleep {
        #[pin]
        inner: magpie_time::Sleep,
    }
}

impl MagpieSleep {
    /// Wraps a magpie sleep.
    pub fn new(inner: magpie_time::Sleep) -> MagpieSleep {
        MagpieSleep { inner }
    }

    /// The deadline, as a `std::time::Instant`.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline().into_std()
    }

    /// Whether the sleep has elapsed.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline (re-arming an elapsed sleep), reusing the timer entry.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project()
            .inner
            .reset(magpie_time::Instant::from_std(deadline));
    }
}

impl Future for MagpieSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for MagpieSleep {}

// ---------------------------------------------------------------------------------
// I/O
// ---------------------------------------------------------------------------------

pin_project! {
    /// Adapts I/O between futures-io (magpie's streams) and hyper's `rt` traits, in
    /// both directions:
    ///
    /// * `MagpieIo<T>` where `T: futures_io::AsyncRead + AsyncWrite` (a magpie
    ///   `TcpStream`, `UnixStream`, a split half, a TLS stream, ...) implements
    ///   [`hyper::rt::Read`] and [`hyper::rt::Write`]: hand it to hyper's
    ///   `serve_connection` or client `handshake`.
    /// * `MagpieIo<T>` where `T: hyper::rt::Read + Write` (hyper's
    ///   `upgrade::Upgraded`, for example) implements futures-io's `AsyncRead` and
    ///   `AsyncWrite`, so magpie's `AsyncReadExt`/`AsyncWriteExt`/`copy` work on it.
    ///
    /// Vectored writes: futures-io has no `is_write_vectored`, so the wrapper cannot
    /// ask `T`. It says so itself: [`MagpieIo::new`] reports `false` (hyper then
    /// flattens headers and body into one buffer and calls `poll_write`, right for a
    /// stream whose `poll_write_vectored` is futures-io's default, which writes only
    /// the first buffer); `From<TcpStream>` / `From<UnixStream>` report `true`, because
    /// magpie's streams implement `poll_write_vectored` with `writev(2)` (hyper then
    /// queues buffers and writes them in one system call). Choose explicitly with
    /// [`MagpieIo::with_vectored_writes`]. `poll_write_vectored` is always passed
    /// through.
    ///
    /// `poll_shutdown` is futures-io's `poll_close` (for magpie's streams,
    /// `shutdown(Write)`: the peer reads EOF).
    ///
    /// Reads: hyper hands over an uninitialised buffer. `From<TcpStream>` /
    /// `From<UnixStream>` read into it directly (magpie's `poll_read_uninit`, plain
    /// `read(2)`); for any other `T`, futures-io's `poll_read` takes `&mut [u8]`, so the
    /// unfilled part is zeroed before each read (hyper's read buffer starts at 8 KiB;
    /// profiling showed that memset at 4–8% of a hello-world server's time).
    #[derive(Debug)]
    pub struct MagpieIo<T> {
        #[pin]
        inner: T,
        vectored: bool,
        read_uninit: Option<ReadUninit<T>>,
    }
}

/// A stream's read into uninitialised memory (see [`MagpieIo`]'s docs).
type ReadUninit<T> = fn(&T, &mut Context<'_>, &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>;

impl<T> MagpieIo<T> {
    /// Wraps `inner`; `is_write_vectored` reports `false` (see the type's docs).
    pub fn new(inner: T) -> MagpieIo<T> {
        MagpieIo::with_vectored_writes(inner, false)
    }

    /// Wraps `inner`, with `is_write_vectored` reporting `vectored`: pass `true` when
    /// `inner`'s `poll_write_vectored` really writes several buffers at once.
    pub fn with_vectored_writes(inner: T, vectored: bool) -> MagpieIo<T> {
        MagpieIo {
            inner,
            vectored,
            read_uninit: None,
        }
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
    /// Wraps a magpie `TcpStream`, with vectored writes on (it implements them with
    /// `writev`).
    fn from(stream: magpie_io::net::TcpStream) -> Self {
        let mut io = MagpieIo::with_vectored_writes(stream, true);
        io.read_uninit = Some(magpie_io::net::TcpStream::poll_read_uninit);
        io
    }
}

impl From<magpie_io::net::UnixStream> for MagpieIo<magpie_io::net::UnixStream> {
    /// Wraps a magpie `UnixStream`, with vectored writes on (it implements them with
    /// `writev`).
    fn from(stream: magpie_io::net::UnixStream) -> Self {
        let mut io = MagpieIo::with_vectored_writes(stream, true);
        io.read_uninit = Some(magpie_io::net::UnixStream::poll_read_uninit);
        io
    }
}

// futures-io -> hyper

impl<T: futures_io::AsyncRead> hyper::rt::Read for MagpieIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if let Some(read) = *this.read_uninit {
            // SAFETY: the slice is only handed to `read`, which writes bytes into it
            // and never de-initialises any (it is magpie's `poll_read_uninit`).
            let dst = unsafe { buf.as_mut() };
            let len = dst.len();
            let n = ready!(read(&this.inner, cx, dst))?;
            assert!(
                n <= len,
                "poll_read_uninit reported more bytes than it was given"
            );
            // SAFETY: `poll_read_uninit` initialised the first `n` bytes of the
            // unfilled part (its contract), and `n` fits (checked above).
            unsafe { buf.advance(n) };
            return Poll::Ready(Ok(()));
        }
        // Zero the unfilled part (hyper tracks what it has initialised; a fresh buffer
        // starts uninitialised) so that it can be lent out as `&mut [u8]`.
        let dst = buf.initialize_unfilled();
        let n = ready!(this.inner.poll_read(cx, dst))?;
        assert!(
            n <= dst.len(),
            "AsyncRead::poll_read reported more bytes than it was given"
        );
        // SAFETY: `initialize_unfilled` initialised every unfilled byte, and `n` is at
        // most their count (checked above), so `n` more bytes are initialised.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite> hyper::rt::Write for MagpieIo<T> {
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
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
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
