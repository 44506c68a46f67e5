//! hyper 1.x server and client, both on magpie, over loopback.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use magpie_hyper::{MagpieExecutor, MagpieIo, MagpieTimer};
use magpie_io::net::{TcpListener, TcpStream};
use magpie_io::{AsyncReadExt, AsyncWriteExt};
use magpie_time::timeout;

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

/// The test service: `/echo` returns the request body, `/n/<k>` returns `k` doubled,
/// `/barrier` waits until `barrier` has `n` waiters (all in flight at once).
async fn handle(
    req: Request<Incoming>,
    barrier: Option<Arc<magpie_sync::Barrier>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let body = if path == "/echo" {
        req.into_body().collect().await.unwrap().to_bytes()
    } else if let Some(k) = path.strip_prefix("/n/") {
        let k: u64 = k.parse().unwrap();
        Bytes::from((k * 2).to_string())
    } else if path == "/barrier" {
        barrier.expect("no barrier").wait().await;
        Bytes::from_static(b"passed")
    } else {
        Bytes::from_static(b"?")
    };
    Ok(Response::new(Full::new(body)))
}

/// Accepts connections forever, serving each with HTTP/1 (or HTTP/2 when `h2`);
/// `conns` counts the accepted connections.
async fn server(
    h2: bool,
    barrier: Option<Arc<magpie_sync::Barrier>>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    magpie_runtime::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let barrier = barrier.clone();
            let svc = service_fn(move |req| handle(req, barrier.clone()));
            magpie_runtime::spawn(async move {
                let io = MagpieIo::from(stream);
                if h2 {
                    hyper::server::conn::http2::Builder::new(MagpieExecutor::new())
                        .timer(MagpieTimer::new())
                        .max_concurrent_streams(200)
                        .serve_connection(io, svc)
                        .await
                        .unwrap();
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .timer(MagpieTimer::new())
                        .serve_connection(io, svc)
                        .await
                        .unwrap();
                }
            });
        }
    });
    (addr, conns)
}

async fn http1_client(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(MagpieIo::from(stream))
        .await
        .unwrap();
    magpie_runtime::spawn(async move { conn.await.unwrap() });
    send
}

async fn body_of(res: Response<Incoming>) -> Result<Bytes, BoxError> {
    assert_eq!(res.status(), 200);
    Ok(res.into_body().collect().await?.to_bytes())
}

#[test]
fn http1_keep_alive_100_sequential_requests_on_one_connection() {
    run(async {
        let (addr, conns) = server(false, None).await;
        let mut send = http1_client(addr).await;
        for k in 0..100u64 {
            send.ready().await.unwrap();
            let req = Request::get(format!("/n/{k}"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let res = send.send_request(req).await.unwrap();
            assert_eq!(body_of(res).await.unwrap(), (k * 2).to_string());
        }
        assert_eq!(
            conns.load(Ordering::SeqCst),
            1,
            "keep-alive reused one connection"
        );
    });
}

#[test]
fn http1_100_concurrent_requests() {
    run(async {
        let (addr, conns) = server(false, None).await;
        let clients: Vec<_> = (0..100u32)
            .map(|i| {
                magpie_runtime::spawn(async move {
                    let mut send = http1_client(addr).await;
                    let payload = format!("client {i} says {}", "x".repeat(i as usize * 37));
                    let req = Request::post("/echo")
                        .body(Full::new(Bytes::from(payload.clone())))
                        .unwrap();
                    let res = send.send_request(req).await.unwrap();
                    assert_eq!(body_of(res).await.unwrap(), payload);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(conns.load(Ordering::SeqCst), 100);
    });
}

#[test]
fn http2_100_concurrent_streams_on_one_connection() {
    run(async {
        // Every handler waits at the barrier until all 100 have arrived: the test
        // passes only if 100 streams are in flight on the connection at once.
        let barrier = Arc::new(magpie_sync::Barrier::new(100));
        let (addr, conns) = server(true, Some(barrier)).await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (send, conn) =
            hyper::client::conn::http2::handshake(MagpieExecutor::new(), MagpieIo::from(stream))
                .await
                .unwrap();
        magpie_runtime::spawn(async move { conn.await.unwrap() });
        let streams: Vec<_> = (0..100)
            .map(|_| {
                let mut send = send.clone();
                magpie_runtime::spawn(async move {
                    let req = Request::get("/barrier")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    let res = send.send_request(req).await.unwrap();
                    assert_eq!(res.version(), hyper::Version::HTTP_2);
                    assert_eq!(body_of(res).await.unwrap(), "passed");
                })
            })
            .collect();
        for s in streams {
            s.await.unwrap();
        }
        // And plain requests still work on the same connection afterwards.
        let mut send = send;
        let req = Request::get("/n/21").body(Empty::<Bytes>::new()).unwrap();
        let res = send.send_request(req).await.unwrap();
        assert_eq!(body_of(res).await.unwrap(), "42");
        assert_eq!(
            conns.load(Ordering::SeqCst),
            1,
            "all streams shared one connection"
        );
    });
}

/// A server with a short `header_read_timeout`; returns its address and a receiver for
/// how each connection ended (`true`: with an error).
async fn timeout_server(
    limit: Duration,
) -> (SocketAddr, magpie_sync::mpsc::UnboundedReceiver<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = magpie_sync::mpsc::unbounded_channel();
    magpie_runtime::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            magpie_runtime::spawn(async move {
                let res = hyper::server::conn::http1::Builder::new()
                    .timer(MagpieTimer::new())
                    .header_read_timeout(limit)
                    .serve_connection(MagpieIo::from(stream), service_fn(|req| handle(req, None)))
                    .await;
                let _ = tx.send(res.is_err());
            });
        }
    });
    (addr, rx)
}

/// Reads until EOF (or a reset), returning what was read.
async fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn slow_client_is_disconnected_by_header_read_timeout() {
    run(async {
        let limit = Duration::from_millis(300);
        let (addr, mut ended) = timeout_server(limit).await;
        // The clock starts before the connect: the server may arm its timer as it
        // accepts, before `connect` returns here.
        let start = Instant::now();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /n/1 HTTP/1.1\r\nHost: loc")
            .await
            .unwrap();
        // ... and stall. The server must close the connection after ~300 ms.
        let got = timeout(Duration::from_secs(5), read_to_end(&mut s))
            .await
            .expect("server did not disconnect the slow client within 5 s");
        let took = start.elapsed();
        assert!(
            took >= limit,
            "disconnected after {took:?}, before the {limit:?} timeout"
        );
        assert!(
            took < Duration::from_secs(3),
            "disconnected only after {took:?}"
        );
        // Whatever hyper wrote (nothing, or a 408), it is not a successful response.
        assert!(
            !got.starts_with(b"HTTP/1.1 200"),
            "slow client got a response"
        );
        let errored = ended.recv().await.expect("connection task vanished");
        assert!(
            errored,
            "serve_connection should end with the timeout error"
        );
    });
}

#[test]
fn client_pausing_within_the_header_timeout_is_served() {
    run(async {
        // The control for the test above: the same half header, a pause shorter than
        // the timeout, then the rest: the timer must not fire early.
        let (addr, mut ended) = timeout_server(Duration::from_millis(800)).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /n/4 HTTP/1.1\r\nHost: loc")
            .await
            .unwrap();
        magpie_time::sleep(Duration::from_millis(200)).await;
        s.write_all(b"alhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let got = String::from_utf8(read_to_end(&mut s).await).unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "got {got:?}");
        assert!(got.ends_with("\r\n\r\n8"), "got {got:?}");
        assert!(
            !ended.recv().await.unwrap(),
            "a served connection ended with an error"
        );
    });
}

#[test]
fn timer_reset_moves_the_same_sleep() {
    use hyper::rt::Timer;
    run(async {
        let timer = MagpieTimer::new();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let before = (&*sleep as *const dyn hyper::rt::Sleep).cast::<()>() as usize;
        let start = Instant::now();
        timer.reset(&mut sleep, timer.now() + Duration::from_millis(50));
        let after = (&*sleep as *const dyn hyper::rt::Sleep).cast::<()>() as usize;
        assert_eq!(before, after, "reset allocated a new sleep");
        let ours = sleep
            .as_mut()
            .downcast_mut_pin::<magpie_hyper::MagpieSleep>();
        assert!(ours.is_some(), "MagpieTimer's sleep is a MagpieSleep");
        sleep.as_mut().await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "fired early: {took:?}");
        assert!(
            took < Duration::from_secs(5),
            "the old deadline still applies: {took:?}"
        );
        // An elapsed sleep re-arms on reset.
        timer.reset(&mut sleep, timer.now() + Duration::from_millis(20));
        let again = Instant::now();
        sleep.as_mut().await;
        assert!(again.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn executor_with_handle_spawns_from_outside_the_runtime() {
    use hyper::rt::Executor;
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let exec = MagpieExecutor::with_handle(rt.handle().clone());
    let (tx, rx) = std::sync::mpsc::channel();
    exec.execute(async move {
        tx.send(magpie_runtime::task::try_id().is_some()).unwrap();
    });
    let on_a_task = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(on_a_task, "the future ran outside a magpie task");
}

#[test]
fn both_directions_round_trip_bytes() {
    // futures-io -> hyper -> futures-io: a MagpieIo around a MagpieIo around a stream
    // uses both sets of impls, including vectored writes and shutdown.
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = magpie_runtime::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut s = MagpieIo::new(MagpieIo::from(s));
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            s.write_all(&got).await.unwrap();
            s.close().await.unwrap();
            got.len()
        });
        let c = TcpStream::connect(addr).await.unwrap();
        let mut c = MagpieIo::new(MagpieIo::from(c));
        assert!(hyper::rt::Write::is_write_vectored(c.inner()));
        let msg: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let parts = [
            std::io::IoSlice::new(&msg[..10]),
            std::io::IoSlice::new(&msg[10..]),
        ];
        let mut sent = 0;
        while sent < msg.len() {
            // Write the rest; the first call goes through poll_write_vectored.
            let n = if sent == 0 {
                std::future::poll_fn(|cx| {
                    magpie_io::AsyncWrite::poll_write_vectored(
                        std::pin::Pin::new(&mut c),
                        cx,
                        &parts,
                    )
                })
                .await
                .unwrap()
            } else {
                c.write(&msg[sent..]).await.unwrap()
            };
            assert!(n > 0);
            sent += n;
        }
        c.close().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(server.await.unwrap(), msg.len());
        assert!(back == msg, "echoed bytes differ");
    });
}
