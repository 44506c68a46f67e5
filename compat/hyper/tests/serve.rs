//! `magpie_hyper::serve`: HTTP/1.1 and HTTP/2 on one port, tower services, graceful
//! shutdown, Unix listeners.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use magpie_hyper::{MagpieExecutor, MagpieIo, serve};
use magpie_io::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use magpie_sync::Event;
use magpie_time::{sleep, timeout};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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

/// What the handler shares with the test: `/slow` sets `entered`, then waits for
/// `release` before answering.
#[derive(Clone, Default)]
struct Gates {
    entered: Arc<Event>,
    release: Arc<Event>,
    /// Requests waiting at the gate.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
}

async fn handle(req: Request<Incoming>, gates: Gates) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.uri().path() {
        "/slow" => {
            gates
                .waiting
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            gates.entered.set();
            gates.release.wait().await;
            Bytes::from_static(b"slow done")
        }
        "/version" => Bytes::from(format!("{:?}", req.version())),
        _ => Bytes::from_static(b"hello"),
    };
    Ok(Response::new(Full::new(body)))
}

fn service(
    gates: Gates,
) -> impl tower_service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |req| handle(req, gates.clone()))
}

async fn get<T>(send: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>, path: &str) -> T
where
    T: From<Bytes>,
{
    send.ready().await.unwrap();
    let req = Request::get(path).body(Empty::new()).unwrap();
    let res = send.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    T::from(res.into_body().collect().await.unwrap().to_bytes())
}

async fn h1<IO>(io: IO) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(MagpieIo::new(io))
        .await
        .unwrap();
    magpie_runtime::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// Waits until the server has closed the connection of `send` (the test's deadline
/// fails the test if it never does).
async fn closed(send: &hyper::client::conn::http1::SendRequest<Empty<Bytes>>) {
    while !send.is_closed() {
        sleep(Duration::from_millis(5)).await;
    }
}

async fn h2(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(MagpieExecutor::new(), MagpieIo::new(stream))
            .await
            .unwrap();
    magpie_runtime::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// Starts `serve` on a loopback port with a shutdown `Event`; returns the address, the
/// event, and the server's join handle.
async fn start(
    gates: Gates,
) -> (
    SocketAddr,
    Arc<Event>,
    magpie_runtime::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = Arc::new(Event::new());
    let s = stop.clone();
    let server = serve(listener, service(gates)).with_graceful_shutdown(async move {
        s.wait().await;
    });
    let addr = server.local_addr().unwrap();
    (addr, stop, magpie_runtime::spawn(server.into_future()))
}

#[test]
fn http1_and_http2_prior_knowledge_on_one_port() {
    run(async {
        let (addr, stop, server) = start(Gates::default()).await;
        let mut one = h1(TcpStream::connect(addr).await.unwrap()).await;
        let v: Bytes = get(&mut one, "/version").await;
        assert_eq!(v, "HTTP/1.1");
        // Keep-alive: a second request on the same connection.
        let v: Bytes = get(&mut one, "/").await;
        assert_eq!(v, "hello");

        let mut two = h2(addr).await;
        let req = Request::get("http://localhost/version")
            .body(Empty::new())
            .unwrap();
        let res = two.send_request(req).await.unwrap();
        assert_eq!(res.version(), hyper::Version::HTTP_2);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/2.0");

        stop.set();
        server.await.unwrap().unwrap();
    });
}

#[test]
fn accepted_tcp_connections_have_nodelay() {
    // `Listener for TcpListener` sets TCP_NODELAY on what it accepts.
    run(async {
        use magpie_hyper::Listener;
        let mut listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = TcpListener::local_addr(&listener).unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (stream, _) = std::future::poll_fn(|cx| Listener::poll_accept(&mut listener, cx))
            .await
            .unwrap();
        assert!(stream.nodelay().unwrap());
    });
}

#[test]
fn graceful_shutdown_waits_for_the_request_in_flight_and_refuses_new_connections() {
    run(async {
        let gates = Gates::default();
        let (addr, stop, server) = start(gates.clone()).await;

        // An idle keep-alive connection (must not hold the shutdown up) and a request
        // in flight on another.
        let mut idle = h1(TcpStream::connect(addr).await.unwrap()).await;
        let _: Bytes = get(&mut idle, "/").await;
        let mut busy = h1(TcpStream::connect(addr).await.unwrap()).await;
        let slow = magpie_runtime::spawn(async move { get::<Bytes>(&mut busy, "/slow").await });
        gates.entered.wait().await;

        stop.set();
        // New connections are refused once the loop has seen the signal; the slow
        // request is still being served then.
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                // Reset: queued in the backlog as the listener closed.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                Err(e) => panic!("{e}"),
                Ok(_) => sleep(Duration::from_millis(5)).await,
            }
        }
        sleep(Duration::from_millis(50)).await;
        assert!(
            !server.is_finished(),
            "serve resolved with a request in flight"
        );
        assert!(!slow.is_finished());
        // The idle connection was closed by the server.
        closed(&idle).await;

        gates.release.set();
        assert_eq!(slow.await.unwrap(), "slow done");
        timeout(Duration::from_secs(5), server)
            .await
            .expect("serve did not resolve after its last connection finished")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn graceful_shutdown_of_an_http2_connection_finishes_its_stream() {
    run(async {
        let gates = Gates::default();
        let (addr, stop, server) = start(gates.clone()).await;
        let mut send = h2(addr).await;
        let slow = magpie_runtime::spawn(async move {
            let req = Request::get("http://localhost/slow")
                .body(Empty::new())
                .unwrap();
            let res = send.send_request(req).await.map_err(BoxError::from)?;
            Ok::<_, BoxError>(res.into_body().collect().await?.to_bytes())
        });
        gates.entered.wait().await;
        stop.set();
        sleep(Duration::from_millis(50)).await;
        assert!(!server.is_finished());
        gates.release.set();
        assert_eq!(slow.await.unwrap().unwrap(), "slow done");
        server.await.unwrap().unwrap();
    });
}

#[test]
fn serves_a_unix_listener() {
    run(async {
        let dir = std::env::temp_dir().join(format!("magpie-hyper-serve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("http.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let stop = Arc::new(Event::new());
        let s = stop.clone();
        let server = magpie_runtime::spawn(
            serve(listener, service(Gates::default()))
                .with_graceful_shutdown(async move { s.wait().await })
                .into_future(),
        );
        let mut send = h1(UnixStream::connect(&path).await.unwrap()).await;
        let body: Bytes = get(&mut send, "/").await;
        assert_eq!(body, "hello");
        stop.set();
        server.await.unwrap().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn dropping_the_server_asks_connections_to_finish() {
    // `serve` without a signal runs until dropped; its connections then shut down
    // gracefully (an idle keep-alive connection is closed).
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server =
            magpie_runtime::spawn(serve(listener, service(Gates::default())).into_future());
        let mut idle = h1(TcpStream::connect(addr).await.unwrap()).await;
        let _: Bytes = get(&mut idle, "/").await;
        server.abort();
        let _ = server.await;
        closed(&idle).await;
    });
}

#[test]
fn graceful_shutdown_waits_for_every_connection() {
    // 20 connections, each with a request in flight, half HTTP/1.1 and half HTTP/2:
    // the server resolves only after the last one is answered.
    run(async {
        let gates = Gates::default();
        let (addr, stop, server) = start(gates.clone()).await;
        let mut clients = Vec::new();
        for i in 0..20 {
            clients.push(magpie_runtime::spawn(async move {
                if i % 2 == 0 {
                    let mut send = h1(TcpStream::connect(addr).await.unwrap()).await;
                    get::<Bytes>(&mut send, "/slow").await
                } else {
                    let mut send = h2(addr).await;
                    let req = Request::get("http://localhost/slow")
                        .body(Empty::new())
                        .unwrap();
                    let res = send.send_request(req).await.unwrap();
                    res.into_body().collect().await.unwrap().to_bytes()
                }
            }));
        }
        while gates.waiting.load(std::sync::atomic::Ordering::SeqCst) < 20 {
            sleep(Duration::from_millis(5)).await;
        }
        stop.set();
        sleep(Duration::from_millis(50)).await;
        assert!(
            !server.is_finished(),
            "serve resolved with 20 requests in flight"
        );
        gates.release.set();
        for c in clients {
            assert_eq!(c.await.unwrap(), "slow done");
        }
        timeout(Duration::from_secs(5), server)
            .await
            .expect("serve did not resolve")
            .unwrap()
            .unwrap();
    });
}
