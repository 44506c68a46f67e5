//! The HTTP load test's server (`benches/http-load.sh`): one hyper hello-world
//! service, served by magpie (through magpie-hyper) or by tokio (through hyper-util's
//! `TokioIo`/`TokioTimer`).
//!
//! ```sh
//! http_server --runtime magpie|tokio [--port 8080] [--workers N]
//! ```
//!
//! Everything except the runtime is shared: the service (`hello`), the connection
//! settings (`serve_conn`: HTTP/1.1, keep-alive, a timer so that hyper's
//! `header_read_timeout` is armed on both), `TCP_NODELAY`, the listen address.

use std::convert::Infallible;
use std::io;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, header};

/// The service both runtimes run.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = Response::new(Full::new(Bytes::from_static(b"Hello, world")));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(res)
}

/// One connection, with the runtime's I/O adapter and timer.
async fn serve_conn<I, T>(io: I, timer: T)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    T: hyper::rt::Timer + Send + Sync + 'static,
{
    let res = hyper::server::conn::http1::Builder::new()
        .timer(timer)
        .serve_connection(io, service_fn(hello))
        .await;
    if let Err(e) = res {
        // wrk closing its connections at the end of a run is not worth a line.
        if !e.is_incomplete_message() && !is_reset(&e) {
            eprintln!("connection error: {e}");
        }
    }
}

fn is_reset(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            );
        }
        source = s.source();
    }
    false
}

fn on_magpie(port: u16, workers: usize) -> io::Result<()> {
    use magpie::hyper::{MagpieIo, MagpieTimer};
    let rt = magpie::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = magpie::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("magpie: listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("accept: {e}");
                    magpie::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            stream.set_nodelay(true)?;
            magpie::spawn(serve_conn(MagpieIo::from(stream), MagpieTimer::new()));
        }
    })
}

fn on_tokio(port: u16, workers: usize) -> io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("tokio: listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            stream.set_nodelay(true)?;
            tokio::spawn(serve_conn(TokioIo::new(stream), TokioTimer::new()));
        }
    })
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let usage =
        || io::Error::other("usage: http_server --runtime magpie|tokio [--port N] [--workers N]");
    let port: u16 = match value("--port") {
        Some(p) => p.parse().map_err(|_| usage())?,
        None => 8080,
    };
    let workers: usize = match value("--workers") {
        Some(w) => w.parse().map_err(|_| usage())?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    match value("--runtime").as_deref() {
        Some("magpie") => on_magpie(port, workers),
        Some("tokio") => on_tokio(port, workers),
        _ => Err(usage()),
    }
}
