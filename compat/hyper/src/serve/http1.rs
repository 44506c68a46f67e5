//! `serve_http1`: the accept loop most HTTP/1 servers start with.

use std::error::Error as StdError;
use std::io;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use magpie_io::net::TcpListener;

use super::listener::{Backoff, is_transient};
use crate::{MagpieIo, MagpieTimer};

type BoxError = Box<dyn StdError + Send + Sync>;

/// Serves HTTP/1.1 on every connection `listener` accepts, each on its own magpie
/// task, until an accept error that is not about one connection or a resource limit.
///
/// Each connection gets `TCP_NODELAY`, keep-alive, and a [`MagpieTimer`], so hyper's
/// default `header_read_timeout` (30 s) applies: a client that stalls halfway through
/// its request head is disconnected. Per-connection errors (a peer resetting, a
/// timeout) end that connection only. Accept errors such as `EMFILE` are reported on
/// stderr and retried after a pause (10 ms doubling to 1 s), others are returned.
///
/// [`serve`](crate::serve) does the same for HTTP/1.1 and HTTP/2 on one port, takes
/// tower services (axum's `Router`) and shuts down gracefully; this function stays for
/// HTTP/1-only servers and code written against it.
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
/// magpie_hyper::serve_http1(listener, hyper::service::service_fn(hello)).await
/// # }).unwrap();
/// ```
pub async fn serve_http1<S, B>(listener: TcpListener, service: S) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut backoff = Backoff::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => {
                backoff.reset();
                stream
            }
            Err(e) if is_transient(&e) => {
                magpie_time::sleep(backoff.pause_after(&e)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        // Best effort: a socket that refuses the option still serves.
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        magpie_runtime::spawn(async move {
            // An error here is about this connection only (reset, timeout, bad request
            // head); hyper has already answered what it could.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(MagpieTimer::new())
                .serve_connection(MagpieIo::from(stream), service)
                .await;
        });
    }
}
