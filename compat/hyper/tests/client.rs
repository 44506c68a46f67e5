//! `magpie_hyper::Client` against a loopback `serve`: requests, keep-alive reuse, the
//! pool's idle timeout, connect errors.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use magpie_hyper::{Client, ClientError, Listener, ResponseBody, serve};
use magpie_io::net::{TcpListener, TcpStream};
use magpie_time::{Instant, sleep, timeout};

/// Runs `f` on a fresh 2-worker runtime, failing the test after 20 s instead of hanging.
fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        timeout(Duration::from_secs(20), f)
            .await
            .expect("test timed out");
    });
}

/// Connections the server accepted and closed.
#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    closed: AtomicUsize,
}

/// A listener that counts what it accepts, and a stream that counts its drop.
struct CountingListener(TcpListener, Arc<Counts>);
struct Tracked(TcpStream, Arc<Counts>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.closed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Listener for CountingListener {
    type Io = Tracked;
    type Addr = SocketAddr;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Tracked, SocketAddr)>> {
        let (s, a) = std::task::ready!(Listener::poll_accept(&mut self.0, cx))?;
        self.1.accepted.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Ok((Tracked(s, self.1.clone()), a)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl tokio::io::AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match (req.method(), req.uri().path()) {
        (&Method::POST, "/echo") => req.into_body().collect().await.unwrap().to_bytes(),
        (_, "/host") => Bytes::from(req.headers()["host"].to_str().unwrap().to_owned()),
        _ => Bytes::from_static(b"hello"),
    };
    Ok(Response::new(Full::new(body)))
}

/// A running test server.
struct Server {
    stop: Arc<magpie_sync::Event>,
    task: magpie_runtime::task::JoinHandle<io::Result<()>>,
}

impl Server {
    /// Shuts the server down gracefully and waits for it (`serve` resolves, so every
    /// connection task has finished).
    async fn stop(self) {
        self.stop.set();
        self.task.await.unwrap().unwrap();
    }
}

/// A server on a loopback port; its address, connection counts, and handle.
async fn server() -> (SocketAddr, Arc<Counts>, Server) {
    let counts = Arc::new(Counts::default());
    let listener = CountingListener(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        counts.clone(),
    );
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(magpie_sync::Event::new());
    let s = stop.clone();
    let task = magpie_runtime::spawn(
        serve(listener, tower::service_fn(handle))
            .with_graceful_shutdown(async move { s.wait().await })
            .into_future(),
    );
    (addr, counts, Server { stop, task })
}

async fn text(res: Response<ResponseBody<Full<Bytes>>>) -> Bytes {
    assert_eq!(res.status(), 200);
    res.into_body().collect().await.unwrap().to_bytes()
}

fn uri(addr: SocketAddr, path: &str) -> hyper::Uri {
    format!("http://{addr}{path}").parse().unwrap()
}

#[test]
fn get_and_post() {
    run(async {
        let (addr, _, srv) = server().await;
        let client = Client::<Full<Bytes>>::new();
        assert_eq!(
            text(client.get(uri(addr, "/")).await.unwrap()).await,
            "hello"
        );
        let host = text(client.get(uri(addr, "/host")).await.unwrap()).await;
        assert_eq!(host, addr.to_string());
        let req = Request::post(uri(addr, "/echo"))
            .body(Full::new(Bytes::from_static(b"ping")))
            .unwrap();
        assert_eq!(text(client.request(req).await.unwrap()).await, "ping");
        srv.stop().await;
    });
}

#[test]
fn keep_alive_reuses_one_connection() {
    run(async {
        let (addr, counts, srv) = server().await;
        let client = Client::<Full<Bytes>>::new();
        for _ in 0..10 {
            assert_eq!(
                text(client.get(uri(addr, "/")).await.unwrap()).await,
                "hello"
            );
        }
        // A clone shares the pool.
        let other = client.clone();
        assert_eq!(
            text(other.get(uri(addr, "/")).await.unwrap()).await,
            "hello"
        );
        assert_eq!(counts.accepted.load(Ordering::SeqCst), 1);
        srv.stop().await;
    });
}

#[test]
fn concurrent_requests_open_more_connections_and_all_are_reused() {
    run(async {
        let (addr, counts, srv) = server().await;
        let client = Client::<Full<Bytes>>::new();
        for _round in 0..3 {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let c = client.clone();
                    magpie_runtime::spawn(async move {
                        text(c.get(uri(addr, "/")).await.unwrap()).await
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), "hello");
            }
            // Wait for the connections to be back in the pool.
            sleep(Duration::from_millis(20)).await;
        }
        let accepted = counts.accepted.load(Ordering::SeqCst);
        assert!(
            (1..=4).contains(&accepted),
            "{accepted} connections for 4 at a time"
        );
        srv.stop().await;
    });
}

#[test]
fn idle_timeout_closes_pooled_connections() {
    run(async {
        let (addr, counts, srv) = server().await;
        let limit = Duration::from_millis(200);
        let client = Client::builder()
            .pool_idle_timeout(Some(limit))
            .build::<Full<Bytes>>();
        assert_eq!(
            text(client.get(uri(addr, "/")).await.unwrap()).await,
            "hello"
        );
        let idle_since = Instant::now();
        // The pool closes the connection on its own (no request needed to notice).
        while counts.closed.load(Ordering::SeqCst) == 0 {
            sleep(Duration::from_millis(10)).await;
        }
        let waited = idle_since.elapsed();
        assert!(
            waited >= limit - Duration::from_millis(20),
            "closed after {waited:?}"
        );
        // The next request needs a new connection.
        assert_eq!(
            text(client.get(uri(addr, "/")).await.unwrap()).await,
            "hello"
        );
        assert_eq!(counts.accepted.load(Ordering::SeqCst), 2);
        srv.stop().await;
    });
}

#[test]
fn connect_refused_is_a_connect_error() {
    run(async {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let client = Client::<Full<Bytes>>::new();
        match client.get(uri(addr, "/")).await {
            Err(ClientError::Connect(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused),
            other => panic!("expected a connect error, got {other:?}"),
        }
    });
}

#[test]
fn connect_timeout_is_a_connect_error() {
    run(async {
        // A listener whose accept queue is full: the kernel drops further SYNs, so a
        // connect hangs (loopback only).
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        socket.listen(0).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let mut queued = Vec::new();
        loop {
            match timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => queued.push(s),
                Ok(Err(e)) => panic!("{e}"),
                Err(_) => break,
            }
            assert!(queued.len() < 64, "the accept queue never filled");
        }
        let client = Client::builder()
            .connect_timeout(Some(Duration::from_millis(100)))
            .build::<Full<Bytes>>();
        let start = Instant::now();
        match client.get(uri(addr, "/")).await {
            Err(ClientError::Connect(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}"),
            other => panic!("expected a connect timeout, got {other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn https_and_relative_uris_are_rejected() {
    run(async {
        let client = Client::<Full<Bytes>>::new();
        for bad in ["/relative", "https://127.0.0.1:1/"] {
            let err = client.get(bad.parse().unwrap()).await.unwrap_err();
            assert!(matches!(err, ClientError::InvalidUri(_)), "{bad}: {err}");
        }
    });
}
