//! tonic without `tonic::transport` (whose `Channel` and `Server` need tokio's runtime):
//! a generated client runs over [`Http2Channel`], a tower service over hyper's HTTP/2
//! client connection on a magpie `TcpStream`; a generated server is served by
//! [`serve_http2`], hyper's HTTP/2 server on a magpie connection. Both use
//! `MagpieExecutor` and `MagpieTimer`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use magpie::hyper::{MagpieExecutor, MagpieIo, MagpieTimer};
use magpie::net::TcpStream;
use tower_service::Service;

/// The error type of the adapters (what tonic calls `StdError`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A tower service sending each request on one HTTP/2 connection: what tonic's
/// generated clients take (`EchoClient::with_origin(channel, origin)`). Cheap to clone:
/// clones share the connection, whose streams multiplex.
#[derive(Clone, Debug)]
pub struct Http2Channel {
    send: SendRequest<tonic::body::Body>,
}

impl Http2Channel {
    /// Connects to `addr` (prior-knowledge HTTP/2, as gRPC over plain TCP); the
    /// connection runs on a magpie task.
    pub async fn connect(addr: SocketAddr) -> Result<Http2Channel, BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http2::Builder::new(MagpieExecutor::new())
            .timer(MagpieTimer::new())
            .handshake(MagpieIo::from(stream))
            .await?;
        magpie::spawn(conn);
        Ok(Http2Channel { send })
    }
}

impl Service<http::Request<tonic::body::Body>> for Http2Channel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.send.send_request(req))
    }
}

/// Serves one HTTP/2 connection with `svc` (any tower service of `http` requests, such
/// as a tonic-generated server) until the client closes it.
pub async fn serve_http2<S, B>(stream: TcpStream, svc: S) -> Result<(), hyper::Error>
where
    S: Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let service = hyper::service::service_fn(move |req| {
        let mut svc = svc.clone();
        // tonic's generated servers are always ready; `call` without `poll_ready` is
        // what tonic's own router does.
        svc.call(req)
    });
    hyper::server::conn::http2::Builder::new(MagpieExecutor::new())
        .timer(MagpieTimer::new())
        .serve_connection(MagpieIo::from(stream), service)
        .await
}
