//! [`HttpConnector`]: `http://` URIs to connected magpie `TcpStream`s.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use magpie_io::net::TcpStream;

use crate::MagpieIo;

/// Connects to the host of an `http://` [`Uri`]: the name is resolved with magpie's
/// `lookup_host` (the system resolver on the blocking pool, so no worker blocks), each
/// address is tried in turn, the whole attempt is bounded by the connect timeout, and
/// the stream gets `TCP_NODELAY`. The result is wrapped for hyper ([`MagpieIo`]).
///
/// It is a [`tower_service::Service<Uri>`], the shape hyper-based clients take a
/// connector in; [`Client`](crate::Client) uses it.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let listener = magpie_io::net::TcpListener::bind("127.0.0.1:0").await?;
/// let uri = format!("http://{}/", listener.local_addr()?).parse().unwrap();
/// let io = magpie_hyper::HttpConnector::new().connect(&uri).await?;
/// assert!(io.inner().nodelay()?);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct HttpConnector {
    connect_timeout: Option<Duration>,
    nodelay: bool,
}

impl HttpConnector {
    /// A connector with `TCP_NODELAY` on and no connect timeout (the system's, about
    /// two minutes for an unanswered SYN, applies).
    pub fn new() -> HttpConnector {
        HttpConnector {
            connect_timeout: None,
            nodelay: true,
        }
    }

    /// Bounds name resolution plus all connection attempts; `None`: no bound.
    pub fn set_connect_timeout(&mut self, timeout: Option<Duration>) {
        self.connect_timeout = timeout;
    }

    /// Whether connected streams get `TCP_NODELAY` (default `true`).
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.nodelay = nodelay;
    }

    /// Connects to `uri`'s host and port (80 when absent). Errors: `InvalidInput` for
    /// a URI without a host or with a scheme other than `http`, `TimedOut` when the
    /// connect timeout passes, else the last address's connect error.
    pub async fn connect(&self, uri: &Uri) -> io::Result<MagpieIo<TcpStream>> {
        let (host, port) = host_and_port(uri)?;
        let attempt = async {
            let addrs: Vec<SocketAddr> = magpie_io::net::lookup_host((host, port)).await?.collect();
            connect_any(&addrs).await
        };
        let stream = match self.connect_timeout {
            None => attempt.await?,
            Some(limit) => magpie_time::timeout(limit, attempt).await.map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {uri} timed out after {limit:?}"),
                )
            })??,
        };
        if self.nodelay {
            stream.set_nodelay(true)?;
        }
        Ok(MagpieIo::new(stream))
    }
}

impl Default for HttpConnector {
    fn default() -> HttpConnector {
        HttpConnector::new()
    }
}

impl fmt::Debug for HttpConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConnector")
            .field("connect_timeout", &self.connect_timeout)
            .field("nodelay", &self.nodelay)
            .finish()
    }
}

/// The host (IPv6 brackets removed) and port of an `http://` URI.
pub(crate) fn host_and_port(uri: &Uri) -> io::Result<(&str, u16)> {
    let invalid =
        |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {uri}"));
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "https needs a TLS connector; HttpConnector speaks plain http",
            ));
        }
        _ => return Err(invalid("not an http:// URI")),
    }
    let host = uri.host().ok_or_else(|| invalid("no host in URI"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok((host, uri.port_u16().unwrap_or(80)))
}

/// Tries each address in turn; the last error if none connects.
async fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = None;
    for &addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        )
    }))
}

impl tower_service::Service<Uri> for HttpConnector {
    type Response = MagpieIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<MagpieIo<TcpStream>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(&uri).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_of_uris() {
        let hp = |s: &str| host_and_port(&s.parse().unwrap()).map(|(h, p)| (h.to_string(), p));
        assert_eq!(
            hp("http://example.com/x").unwrap(),
            ("example.com".into(), 80)
        );
        assert_eq!(
            hp("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1".into(), 8080)
        );
        assert_eq!(hp("http://[::1]:9/").unwrap(), ("::1".into(), 9));
        for bad in ["https://example.com/", "/relative", "ftp://x/"] {
            let e = hp(bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}: {e}");
        }
    }
}
