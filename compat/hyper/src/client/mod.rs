//! [`Client`]: an HTTP/1.1 client with a keep-alive pool, on magpie.
//!
//! Why not hyper-util's legacy `Client`: its `client-legacy` feature turns on
//! hyper-util's `tokio` feature, which brings tokio's `rt` and `time` into the tree
//! (checked with `cargo tree -e features -i tokio`). magpie-hyper keeps tokio's runtime
//! out, so the client here is hyper's own connection API (`client::conn::http1`) plus
//! a small pool ([`pool`]), with magpie's executor, timer and [`HttpConnector`].

mod body;
mod connector;
mod pool;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use hyper::body::{Body, Incoming};

use hyper::client::conn::http1;
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, Response, Uri};

pub use body::ResponseBody;
pub use connector::HttpConnector;
use pool::Pool;

use crate::MagpieExecutor;

type BoxError = Box<dyn StdError + Send + Sync>;

/// An HTTP/1.1 client: `http://` URIs, keep-alive connections pooled per host and
/// reused, idle ones closed after the pool's idle timeout (90 s by default, timed by
/// [`MagpieTimer`](crate::MagpieTimer), so a paused test clock drives it), connections made by
/// [`HttpConnector`] and driven by magpie tasks ([`MagpieExecutor`]).
///
/// `B` is the request body type (`http_body_util::Full<Bytes>`, `Empty<Bytes>`, ...).
/// Cloning is cheap and shares the pool.
///
/// ```
/// use http_body_util::{BodyExt, Empty};
/// use hyper::body::Bytes;
///
/// # async fn hello(_: hyper::Request<hyper::body::Incoming>) -> Result<hyper::Response<String>, std::convert::Infallible> { Ok(hyper::Response::new("hi".into())) }
/// # magpie_runtime::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let listener = magpie_io::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let addr = listener.local_addr().unwrap();
/// # magpie_runtime::spawn(magpie_hyper::serve(listener, tower::service_fn(hello)).into_future());
/// let client = magpie_hyper::Client::<Empty<Bytes>>::new();
/// let res = client.get(format!("http://{addr}/").parse().unwrap()).await.unwrap();
/// assert_eq!(res.status(), 200);
/// let body = res.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(body, "hi");
/// # });
/// ```
pub struct Client<B> {
    connector: HttpConnector,
    pool: Pool<B>,
}

impl<B> Clone for Client<B> {
    fn clone(&self) -> Self {
        Client {
            connector: self.connector.clone(),
            pool: self.pool.clone(),
        }
    }
}

impl<B> fmt::Debug for Client<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`]; from [`Client::builder`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    connector: HttpConnector,
    idle_timeout: Option<Duration>,
    max_idle_per_host: usize,
}

impl ClientBuilder {
    /// How long a connection may sit idle in the pool before it is closed (default
    /// 90 s); `None`: never.
    pub fn pool_idle_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.idle_timeout = timeout;
        self
    }

    /// At most this many idle connections are kept per host (default: no limit); `0`
    /// turns keep-alive reuse off.
    pub fn pool_max_idle_per_host(&mut self, max: usize) -> &mut Self {
        self.max_idle_per_host = max;
        self
    }

    /// Bounds DNS plus connecting (see [`HttpConnector::set_connect_timeout`]).
    pub fn connect_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.connector.set_connect_timeout(timeout);
        self
    }

    /// The connector to use (for its settings).
    pub fn connector(&mut self, connector: HttpConnector) -> &mut Self {
        self.connector = connector;
        self
    }

    /// The client.
    pub fn build<B: Send + 'static>(&self) -> Client<B> {
        Client {
            connector: self.connector.clone(),
            pool: Pool::new(self.idle_timeout, self.max_idle_per_host),
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URI is not an absolute `http://` URI.
    InvalidUri(Uri),
    /// Connecting failed: resolution, refusal, the connect timeout (`TimedOut`).
    Connect(io::Error),
    /// hyper reported an error on the connection (the request may have been sent).
    Http(hyper::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUri(uri) => write!(f, "not an absolute http:// URI: {uri}"),
            Error::Connect(e) => write!(f, "connect error: {e}"),
            Error::Http(e) => write!(f, "http error: {e}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::InvalidUri(_) => None,
            Error::Connect(e) => Some(e),
            Error::Http(e) => Some(e),
        }
    }
}

impl Client<()> {
    /// Settings: idle timeout, pool size, connect timeout (then
    /// [`ClientBuilder::build`] picks the body type).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            connector: HttpConnector::new(),
            idle_timeout: Some(Duration::from_secs(90)),
            max_idle_per_host: usize::MAX,
        }
    }
}

impl<B> Client<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// A client with the default settings.
    pub fn new() -> Client<B> {
        ClientBuilder::default().build()
    }

    /// `GET uri` with an empty body.
    pub async fn get(&self, uri: Uri) -> Result<Response<ResponseBody<B>>, Error>
    where
        B: Default,
    {
        let mut req = Request::new(B::default());
        *req.uri_mut() = uri;
        self.request(req).await
    }

    /// Sends `req` (its URI absolute: `http://host[:port]/path`), on an idle pooled
    /// connection to that host when there is one, else on a new one. The `Host`
    /// header is set from the URI unless present. The connection goes back to the
    /// pool when the response body has been read to the end (dropping the body
    /// unread closes the connection instead).
    pub async fn request(&self, mut req: Request<B>) -> Result<Response<ResponseBody<B>>, Error> {
        let uri = req.uri().clone();
        let key = match (uri.scheme_str(), uri.authority()) {
            (Some("http"), Some(a)) => a.as_str().to_owned(),
            _ => return Err(Error::InvalidUri(uri)),
        };
        if !req.headers().contains_key(HOST) {
            let host = HeaderValue::from_str(&key).map_err(|_| Error::InvalidUri(uri.clone()))?;
            req.headers_mut().insert(HOST, host);
        }
        // HTTP/1.1 origin form: the path (and query) only.
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        *req.uri_mut() = path.parse().map_err(|_| Error::InvalidUri(uri.clone()))?;

        // A pooled connection may have been closed by the server just now; hyper then
        // hands the unsent request back, and it goes out on a new connection.
        if let Some(mut send) = self.pool.checkout(&key).await {
            match send.try_send_request(req).await {
                Ok(res) => return Ok(self.recycle(key, send, res)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(Error::Http(e.into_error())),
                },
            }
        }
        let mut send = self.connect(&uri).await?;
        let res = send.send_request(req).await.map_err(Error::Http)?;
        Ok(self.recycle(key, send, res))
    }

    /// A new HTTP/1 connection to `uri`'s host, its connection task spawned.
    async fn connect(&self, uri: &Uri) -> Result<http1::SendRequest<B>, Error> {
        let io = self.connector.connect(uri).await.map_err(Error::Connect)?;
        let (send, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(Error::Http)?;
        // Ends when the server closes, or when the last `SendRequest` is dropped (the
        // pool dropping an idle connection).
        MagpieExecutor::new().spawn(async move {
            let _ = conn.await;
        });
        Ok(send)
    }

    /// Ties `send`'s return to the pool to the end of the response body.
    fn recycle(
        &self,
        key: String,
        send: http1::SendRequest<B>,
        res: Response<Incoming>,
    ) -> Response<ResponseBody<B>> {
        res.map(|body| ResponseBody::new(body, self.pool.clone(), key, send))
    }
}

impl<B> Default for Client<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn default() -> Self {
        Client::new()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use http_body_util::{BodyExt, Empty, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response};

    use super::Client;

    async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
    }

    /// The pool's idle timer runs on magpie's clock: paused, the runtime auto-advances
    /// it to each deadline, and the entry leaves the pool exactly at 20 s of idle time.
    /// (Watched in the pool itself: whether the server sees the close at that instant
    /// of the paused clock depends on whether auto-advance runs before the I/O event.)
    #[test]
    fn idle_timeout_fires_on_the_paused_clock() {
        // One thread: with several workers, one may auto-advance the clock while
        // another is about to run a task that the last deadline woke.
        let rt = magpie_runtime::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let test = async {
            let listener = magpie_io::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            magpie_runtime::spawn(crate::serve(listener, tower::service_fn(hello)).into_future());
            let client = Client::builder()
                .pool_idle_timeout(Some(Duration::from_secs(20)))
                .build::<Empty<Bytes>>();
            let res = client
                .get(format!("http://{addr}/").parse().unwrap())
                .await
                .unwrap();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "hello");
            assert_eq!(client.pool.idle_count(), 1);
            let real = std::time::Instant::now();
            magpie_time::pause();
            magpie_time::sleep(Duration::from_secs(19)).await;
            assert_eq!(client.pool.idle_count(), 1, "gone before 20 s");
            magpie_time::sleep(Duration::from_secs(2)).await;
            assert_eq!(client.pool.idle_count(), 0, "still pooled after 21 s");
            assert!(real.elapsed() < Duration::from_secs(5));
            magpie_time::resume();
        };
        // An hour of the paused clock: a hang with no timer left jumps there at once.
        rt.block_on(async { magpie_time::timeout(Duration::from_secs(3600), test).await })
            .expect("test timed out");
    }

    /// Returning connections to the pool costs one reaper task per pool, not a timer
    /// task per return (50 requests used to leave 50 tasks sleeping for 90 s).
    #[test]
    fn returns_to_the_pool_share_one_reaper() {
        let rt = magpie_runtime::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = magpie_io::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            magpie_runtime::spawn(crate::serve(listener, tower::service_fn(hello)).into_future());
            let client = Client::builder().build::<Empty<Bytes>>();
            for _ in 0..50 {
                let res = client
                    .get(format!("http://{addr}/").parse().unwrap())
                    .await
                    .unwrap();
                res.into_body().collect().await.unwrap();
            }
            let alive = magpie_runtime::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            // serve, its connection task, the client's connection task, the reaper.
            assert!(alive <= 6, "{alive} tasks alive after 50 pooled requests");
        });
    }
}
