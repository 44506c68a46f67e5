//! `serve_http1`: the accept loop most HTTP/1 servers start with.

use std::error::Error as StdError;
use std::io;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use magpie_io::net::TcpListener;

use crate::{MagpieIo, MagpieTimer};

type BoxError = Box<dyn StdError + Send + Sync>;

/// Serves HTTP/1.1 on every connection `listener` accepts, each on its own magpie
/// task, until an accept error that is not about one connection or a resource limit.
///
/// Each connection gets `TCP_NODELAY`, keep-alive, and a [`MagpieTimer`], so hyper's
/// default `header_read_timeout` (30 s) applies: a client that stalls halfway through
/// its request head is disconnected. Per-connection errors (a peer resetting, a
/// timeout) end that connection only. Accept errors such as `EMFILE` wait 10 ms and
/// retry (the listener keeps its place), others are returned.
///
/// For anything more (HTTP/2, graceful shutdown, custom builder settings) write the
/// loop yourself: it is a dozen lines, see `examples/http.rs` in the repository.
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
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) if is_transient(&e) => {
                magpie_time::sleep(std::time::Duration::from_millis(10)).await;
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

/// Accept errors that concern one connection or a momentary resource limit.
fn is_transient(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory
    ) {
        return true;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for descriptors or memory to come back.
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
