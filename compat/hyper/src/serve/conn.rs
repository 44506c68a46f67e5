//! One connection of [`serve`](crate::serve): hyper-util's auto builder (HTTP/1.1 or
//! HTTP/2 prior knowledge, sniffed from the first bytes), asked to finish gracefully
//! when the server's shutdown signal fires.

use std::error::Error as StdError;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use magpie_sync::watch;

use crate::{MagpieExecutor, MagpieIo, MagpieTimer};

pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// The builder every connection of one server shares: magpie's executor (HTTP/2
/// streams) and magpie's timer on BOTH protocols (without a timer hyper silently drops
/// its header-read timeout and HTTP/2 keep-alive).
pub(crate) fn builder() -> Arc<auto::Builder<MagpieExecutor>> {
    let mut b = auto::Builder::new(MagpieExecutor::new());
    b.http1().timer(MagpieTimer::new());
    b.http2().timer(MagpieTimer::new());
    Arc::new(b)
}

/// Serves one connection to the end. When `shutdown` changes (or its sender is gone),
/// hyper's `graceful_shutdown` is called once: the request in flight finishes, an idle
/// keep-alive connection closes at once, HTTP/2 sends GOAWAY. Dropping `shutdown` at
/// the end is how the server learns this connection is done.
pub(crate) async fn serve_connection<I, S, B>(
    builder: Arc<auto::Builder<MagpieExecutor>>,
    io: I,
    service: S,
    mut shutdown: watch::Receiver<()>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let conn = builder
        .serve_connection_with_upgrades(MagpieIo::new(io), TowerToHyperService::new(service));
    let mut conn = pin!(conn);
    // `signal` registers this task's waker with the channel on its first poll; after
    // that it is polled again only once `probe` (a lock-free load) says the channel
    // fired. Polling it on every wake-up of the connection would take the channel's
    // waiter lock, shared by all connections, once per poll.
    let probe = shutdown.clone();
    let mut signal = pin!(shutdown.changed());
    let (mut armed, mut asked) = (false, false);
    // An error here is about this connection only (reset, timeout, bad request head);
    // hyper has already answered what it could.
    let _ = poll_fn(|cx| {
        if !asked && (!armed || !matches!(probe.has_changed(), Ok(false))) {
            armed = true;
            if signal.as_mut().poll(cx).is_ready() {
                asked = true;
                conn.as_mut().graceful_shutdown();
            }
        }
        conn.as_mut().poll(cx)
    })
    .await;
}
