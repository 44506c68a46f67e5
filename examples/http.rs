//! An HTTP server: hyper 1.x on magpie, the Rust counterpart of aiohttp's hello world.
//!
//! ```sh
//! cargo run --example http --features hyper                 # 127.0.0.1:3000
//! cargo run --example http --features hyper -- --port 8080
//! cargo run --example http --features hyper -- --selftest   # what CI runs
//! curl localhost:3000/ ; curl localhost:3000/json
//! ```
//!
//! * `GET /` answers `Hello, world`.
//! * `GET /json` awaits two simulated upstream calls concurrently (`gather!`) and
//!   answers with JSON.
//! * Graceful shutdown: when [`shutdown_signal`] resolves (Ctrl-C, SIGTERM, `quit` on
//!   stdin, or `HTTP_EXAMPLE_RUN_FOR=2s`), the server stops accepting, asks every open
//!   connection to finish the request it is serving (hyper's `graceful_shutdown`),
//!   waits for them (at most 10 s), and exits.
//! * `--selftest` starts the server on a free port, talks to it with hyper's client on
//!   magpie, sends itself SIGINT (Ctrl-C) while a request is in flight, checks every
//!   answer and exits with status 0.
//!
//! The Python original, for comparison:
//!
//! ```python
//! async def hello(request):
//!     return web.Response(text="Hello, world")
//!
//! async def json_handler(request):
//!     users, orders = await asyncio.gather(fetch_users(), fetch_orders())
//!     return web.json_response({"users": users, "orders": orders})
//! ```

#[path = "common/args.rs"]
mod args;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use magpie::hyper::{MagpieIo, MagpieTimer};
use magpie::net::{TcpListener, TcpStream};
use magpie::signal::unix::{SignalKind, signal};
use magpie::sync::Event;
use magpie::task::JoinSet;
use magpie::time::{Duration, Instant, sleep, timeout};

/// How long the two simulated upstream calls take.
const USERS_DELAY: Duration = Duration::from_millis(100);
const ORDERS_DELAY: Duration = Duration::from_millis(150);

/// How long shutdown waits for in-flight connections before cancelling them.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

// ----------------------------------------------------------------------------- handlers

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a static response is valid")
}

/// A stand-in for a call to another service (a database, an HTTP API).
async fn fetch_users() -> u32 {
    sleep(USERS_DELAY).await;
    42
}

async fn fetch_orders() -> u32 {
    sleep(ORDERS_DELAY).await;
    7
}

/// `GET /json`: both upstream calls run concurrently, so this takes about
/// max(100, 150) ms, not their sum.
async fn json() -> Response<Full<Bytes>> {
    let start = Instant::now();
    let (users, orders) = magpie::gather!(fetch_users(), fetch_orders()).await;
    let elapsed_ms = start.elapsed().as_millis();
    // Hand-formatted: the values are numbers, nothing needs escaping.
    let body = format!(r#"{{"users":{users},"orders":{orders},"elapsed_ms":{elapsed_ms}}}"#);
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a JSON response is valid")
}

async fn router(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello, world"),
        (&Method::GET, "/json") => json().await,
        _ => text(StatusCode::NOT_FOUND, "not found"),
    })
}

// ------------------------------------------------------------------------------ server

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then shuts down gracefully.
/// Returns the number of connections served.
async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> usize {
    // Set once, seen by every connection task: "finish what you are doing and close".
    let stop = Arc::new(Event::new());
    let mut connections = JoinSet::new();
    let mut served = 0;
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = magpie::select! {
            biased;
            _ = shutdown.as_mut() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // EMFILE and friends: report, back off a little, keep serving.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        served += 1;
        connections.spawn(serve_connection(stream, stop.clone()));
        // Reap finished connections so the set stays the size of the open ones.
        while connections.try_join_next().is_some() {}
    }

    // Stop accepting: from here new connections are refused by the kernel.
    drop(listener);
    let open = connections.len();
    stop.set();
    println!("shutting down: waiting for {open} open connection(s)");
    let drained = timeout(DRAIN_LIMIT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "{} connection(s) still busy after {DRAIN_LIMIT:?}: cancelling them",
            connections.len()
        );
        connections.shutdown().await;
    }
    served
}

async fn serve_connection(stream: TcpStream, stop: Arc<Event>) {
    let conn = hyper::server::conn::http1::Builder::new()
        // The timer enables hyper's header_read_timeout (30 s by default): a client
        // that stalls in the middle of its request head is disconnected.
        .timer(MagpieTimer::new())
        .serve_connection(MagpieIo::from(stream), service_fn(router));
    let mut conn = pin!(conn);
    let res = magpie::select! {
        biased;
        res = conn.as_mut() => res,
        _ = stop.wait() => {
            // Finish the in-flight request (if any), then close; an idle keep-alive
            // connection closes at once.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = res {
        // A client that went away, a malformed request: that connection's problem.
        if !e.is_incomplete_message() {
            eprintln!("connection error: {e}");
        }
    }
}

/// The shutdown trigger: Ctrl-C (SIGINT), SIGTERM, a line `quit` on stdin, or the
/// duration in `HTTP_EXAMPLE_RUN_FOR` (`2s`, `500ms`). The signal listeners are
/// registered here, before the returned future is first polled, so a Ctrl-C that comes
/// at any point after this call is seen (and no longer kills the process outright).
fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let run_for = std::env::var("HTTP_EXAMPLE_RUN_FOR").ok();
    let run_for = match run_for.as_deref() {
        Some(v) => Some(parse_duration(v).ok_or_else(|| {
            io::Error::other(format!(
                "HTTP_EXAMPLE_RUN_FOR={v:?}: expected e.g. 2s or 500ms"
            ))
        })?),
        None => None,
    };
    // Stdin is read on a plain thread, not the blocking pool: a blocked read there
    // would hold up the runtime's shutdown, a detached thread does not.
    let (tx, rx) = magpie::sync::oneshot::channel();
    std::thread::spawn(move || {
        let quit = io::stdin()
            .lines()
            .map_while(Result::ok)
            .any(|line| line.trim() == "quit");
        if quit {
            let _ = tx.send(());
        }
    });
    Ok(async move {
        let deadline = async {
            match run_for {
                Some(d) => sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let quit = async {
            // At EOF without `quit` the sender is dropped: keep waiting for the others.
            if rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        magpie::select! {
            _ = interrupt.recv() => println!("Ctrl-C: shutting down"),
            _ = terminate.recv() => println!("SIGTERM: shutting down"),
            _ = deadline => println!("HTTP_EXAMPLE_RUN_FOR elapsed"),
            _ = quit => println!("quit read on stdin"),
        }
    })
}

fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    let secs = s.strip_suffix('s').unwrap_or(s).trim();
    secs.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

// ---------------------------------------------------------------------------- selftest

type SendRequest = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(addr: SocketAddr) -> io::Result<SendRequest> {
    let stream = TcpStream::connect(addr).await?;
    let (send, conn) = hyper::client::conn::http1::handshake(MagpieIo::from(stream))
        .await
        .map_err(io::Error::other)?;
    magpie::spawn(conn);
    Ok(send)
}

async fn get(send: &mut SendRequest, path: &str) -> io::Result<(StatusCode, String)> {
    send.ready().await.map_err(io::Error::other)?;
    let req = Request::get(path)
        .header(header::HOST, "localhost")
        .body(Empty::new())
        .map_err(io::Error::other)?;
    let res = send.send_request(req).await.map_err(io::Error::other)?;
    let status = res.status();
    let body = res.into_body().collect().await.map_err(io::Error::other)?;
    Ok((
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}

fn check(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        println!("  ok: {what}");
        Ok(())
    } else {
        Err(io::Error::other(format!("selftest failed: {what}")))
    }
}

async fn selftest(listener: TcpListener) -> io::Result<()> {
    let addr = listener.local_addr()?;
    // The real trigger, as `main` uses it; the test raises SIGINT below.
    let server = magpie::spawn(serve(listener, shutdown_signal()?));

    let mut client = connect(addr).await?;
    let (status, body) = get(&mut client, "/").await?;
    check(
        status == 200 && body == "Hello, world",
        "GET / -> 200 Hello, world",
    )?;

    let (status, body) = get(&mut client, "/json").await?;
    check(
        status == 200 && body.starts_with(r#"{"users":42,"orders":7,"elapsed_ms":"#),
        &format!("GET /json -> 200 {body}"),
    )?;
    let elapsed: u128 = body
        .trim_start_matches(r#"{"users":42,"orders":7,"elapsed_ms":"#)
        .trim_end_matches('}')
        .parse()
        .map_err(io::Error::other)?;
    let (lo, sum) = (
        ORDERS_DELAY.as_millis(),
        (USERS_DELAY + ORDERS_DELAY).as_millis(),
    );
    check(
        elapsed >= lo && elapsed < sum,
        &format!(
            "the upstream calls ran concurrently ({elapsed} ms, sequential would be {sum} ms)"
        ),
    )?;

    let (status, _) = get(&mut client, "/nope").await?;
    check(status == 404, "GET /nope -> 404")?;

    // Graceful shutdown on Ctrl-C: a /json request is in flight (~150 ms) when SIGINT
    // arrives; it must still get its answer, and then the server must exit.
    let mut slow = connect(addr).await?;
    let in_flight = magpie::spawn(async move { get(&mut slow, "/json").await });
    sleep(Duration::from_millis(30)).await;
    // SAFETY: kill(2) on our own pid with a valid signal number has no memory-safety
    // preconditions; SIGINT has a handler (registered by `shutdown_signal`).
    if unsafe { libc::kill(libc::getpid(), libc::SIGINT) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (status, body) = in_flight.await.map_err(io::Error::from)??;
    check(
        status == 200 && body.contains(r#""users":42"#),
        "a request in flight during shutdown completed",
    )?;
    let served = timeout(Duration::from_secs(5), server)
        .await
        .map_err(|_| io::Error::other("selftest failed: the server did not exit"))?
        .map_err(io::Error::from)?;
    check(
        served == 2,
        &format!("the server exited after serving {served} connections"),
    )?;
    check(
        TcpStream::connect(addr).await.is_err(),
        "after shutdown, new connections are refused",
    )?;
    println!("selftest: passed");
    Ok(())
}

// -------------------------------------------------------------------------------- main

#[magpie::main]
async fn main() -> io::Result<()> {
    let mut args = args::Args::parse("usage: http [--port PORT] [--selftest]");
    let selftest_mode = args.flag("--selftest");
    let port: Option<u16> = args.value("--port");
    args.finish();
    // The self-test picks a free port unless told otherwise.
    let port = port.unwrap_or(if selftest_mode { 0 } else { 3000 });
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    if selftest_mode {
        return selftest(listener).await;
    }
    println!(
        "listening on http://{} (Ctrl-C, `quit` or HTTP_EXAMPLE_RUN_FOR=2s to stop)",
        listener.local_addr()?
    );
    let served = serve(listener, shutdown_signal()?).await;
    println!("served {served} connection(s); bye");
    Ok(())
}
