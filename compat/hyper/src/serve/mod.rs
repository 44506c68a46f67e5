//! [`serve`]: an accept loop that serves HTTP/1.1 and HTTP/2 on one port, with graceful
//! shutdown (axum's `serve` contract, on magpie's own primitives).
//!
//! Shutdown protocol (the shape of axum's `serve`; hyper-util's `server-graceful` would
//! do the counting but pulls tokio's runtime in, so it is built here on magpie-sync's
//! `watch`): the server holds a `watch::Sender<()>`, each connection task a `Receiver`.
//! When the signal resolves the loop stops accepting and drops the listener (new
//! connections are refused from then on), sends on the channel (each connection calls
//! hyper's `graceful_shutdown` once) and awaits `Sender::closed`, which resolves when
//! the last connection task has dropped its receiver, i.e. finished.

mod conn;
mod http1;
mod listener;

use std::fmt;
use std::future::{Future, IntoFuture, pending, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use magpie_sync::watch;

pub use http1::serve_http1;
pub use listener::Listener;
use listener::{Backoff, is_transient};

use conn::BoxError;

/// Serves HTTP on every connection `listener` accepts, each on its own magpie task.
///
/// * Protocols: HTTP/1.1 (keep-alive, upgrades) and HTTP/2 with prior knowledge
///   (`h2c`), told apart by the first bytes, on one port (hyper-util's auto builder).
/// * `service` is anything axum's `Router` is: a [`tower_service::Service`] of
///   `Request<Incoming>` that is `Clone + Send` (each connection gets a clone;
///   hyper-util's `TowerToHyperService` adapts it).
/// * Each connection gets [`MagpieExecutor`](crate::MagpieExecutor) (HTTP/2 streams)
///   and [`MagpieTimer`](crate::MagpieTimer) on both protocols, so hyper's header-read
///   timeout (30 s) and HTTP/2 keep-alive apply; TCP connections get `TCP_NODELAY`.
/// * Accept errors about one connection or a resource limit (`EMFILE`, `ENFILE`,
///   `ECONNABORTED`, ...) are reported on stderr and retried after a pause (10 ms,
///   doubling to 1 s while they last), never in a spin; any other accept error ends
///   the server (after its connections finish) and is returned.
///
/// `serve(..)` is a builder: `.await` it directly to serve until an error, or add
/// [`Serve::with_graceful_shutdown`].
///
/// ```no_run
/// use http_body_util::Full;
/// use hyper::body::{Bytes, Incoming};
/// use hyper::{Request, Response};
///
/// async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
///     Ok(Response::new(Full::new(Bytes::from("Hello, world"))))
/// }
///
/// # magpie_runtime::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let listener = magpie_io::net::TcpListener::bind("127.0.0.1:3000").await?;
/// // Any tower service: an axum `Router`, or a function as here.
/// magpie_hyper::serve(listener, tower::service_fn(hello))
///     .with_graceful_shutdown(async {
///         let _ = magpie_io::signal::ctrl_c().await;
///     })
///     .await
/// # }).unwrap();
/// ```
pub fn serve<L, S>(listener: L, service: S) -> Serve<L, S> {
    Serve { listener, service }
}

/// The server [`serve`] builds; `.await` it, or add a shutdown signal first.
#[must_use = "a server does nothing until `.await`ed"]
pub struct Serve<L, S> {
    listener: L,
    service: S,
}

impl<L: Listener, S> Serve<L, S> {
    /// The address the listener is bound to (e.g. to learn the port of `:0`).
    pub fn local_addr(&self) -> io::Result<L::Addr> {
        self.listener.local_addr()
    }

    /// Shuts the server down gracefully when `signal` resolves: it stops accepting
    /// (the listener is closed, so new connections are refused), asks every open
    /// connection to finish (hyper's `graceful_shutdown`: the request in flight is
    /// answered, idle keep-alive connections close at once, HTTP/2 sends GOAWAY) and
    /// resolves when all of them are done.
    ///
    /// To bound the wait, wrap the server in a timeout (`magpie::time::timeout`): when
    /// it fires, the remaining connections are told to shut down gracefully too and are
    /// not awaited.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> WithGracefulShutdown<L, S, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        WithGracefulShutdown {
            serve: self,
            signal,
        }
    }
}

impl<L: Listener + fmt::Debug, S> fmt::Debug for Serve<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

/// A [`Serve`] with a shutdown signal; `.await` it.
#[must_use = "a server does nothing until `.await`ed"]
pub struct WithGracefulShutdown<L, S, F> {
    serve: Serve<L, S>,
    signal: F,
}

impl<L: Listener, S, F> WithGracefulShutdown<L, S, F> {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<L::Addr> {
        self.serve.local_addr()
    }
}

impl<L: Listener + fmt::Debug, S, F> fmt::Debug for WithGracefulShutdown<L, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithGracefulShutdown")
            .field("serve", &self.serve)
            .finish_non_exhaustive()
    }
}

/// The future of a running server (what `.await` on [`Serve`] or
/// [`WithGracefulShutdown`] polls): resolves when the server has stopped.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ServeFuture(Pin<Box<dyn Future<Output = io::Result<()>> + Send>>);

impl Future for ServeFuture {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServeFuture")
    }
}

impl<L, S, B> IntoFuture for Serve<L, S>
where
    L: Listener,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(run(self.listener, self.service, pending())))
    }
}

impl<L, S, B, F> IntoFuture for WithGracefulShutdown<L, S, F>
where
    L: Listener,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(run(
            self.serve.listener,
            self.serve.service,
            self.signal,
        )))
    }
}

/// What the accept loop woke up for.
enum Event<T> {
    Accepted(io::Result<T>),
    Shutdown,
}

/// The accept loop, then the drain (see the module docs for the protocol).
async fn run<L, S, B, F>(mut listener: L, service: S, signal: F) -> io::Result<()>
where
    L: Listener,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    let builder = conn::builder();
    let (tx, rx) = watch::channel(());
    let mut signal = pin!(signal);
    let mut backoff = Backoff::new();
    let result = loop {
        let event = poll_fn(|cx| {
            if signal.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            listener.poll_accept(cx).map(Event::Accepted)
        })
        .await;
        match event {
            Event::Shutdown => break Ok(()),
            Event::Accepted(Ok((io, _peer))) => {
                backoff.reset();
                let conn = conn::serve_connection(builder.clone(), io, service.clone(), rx.clone());
                drop(magpie_runtime::spawn(conn));
            }
            Event::Accepted(Err(e)) if is_transient(&e) => {
                let mut pause = pin!(magpie_time::sleep(backoff.pause_after(&e)));
                let stop = poll_fn(|cx| {
                    if signal.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(true);
                    }
                    pause.as_mut().poll(cx).map(|()| false)
                })
                .await;
                if stop {
                    break Ok(());
                }
            }
            Event::Accepted(Err(e)) => break Err(e),
        }
    };
    // New connections are refused from here on.
    drop(listener);
    drop(rx);
    // Every connection calls `graceful_shutdown`; with none left this is a no-op.
    let _ = tx.send(());
    tx.closed().await;
    result
}
