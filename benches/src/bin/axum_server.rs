//! The HTTP load test's axum server (`benches/http-load.sh`, the axum row): one axum
//! `Router`, served by magpie (`magpie::hyper::serve`) or by tokio (`axum::serve`).
//!
//! ```sh
//! axum_server --runtime magpie|tokio [--port 8080] [--workers N]
//! ```
//!
//! Both sides use hyper-util's auto builder (HTTP/1.1 + h2c) with a timer and
//! `TCP_NODELAY` on accepted connections; only the runtime differs.

use std::io;

use axum::Router;
use axum::routing::get;

/// The router both runtimes serve: the hello world of the hyper row, as axum writes it.
fn app() -> Router {
    Router::new().route("/", get(|| async { "Hello, world" }))
}

fn on_magpie(port: u16, workers: usize) -> io::Result<()> {
    let rt = magpie::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = magpie::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("magpie: listening on {}", listener.local_addr()?);
        magpie::hyper::serve(listener, app()).await
    })
}

fn on_tokio(port: u16, workers: usize) -> io::Result<()> {
    use axum::serve::ListenerExt;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("tokio: listening on {}", listener.local_addr()?);
        // magpie's serve sets TCP_NODELAY; axum's does not unless asked.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app()).await
    })
}

fn main() -> io::Result<()> {
    let usage =
        || io::Error::other("usage: axum_server --runtime magpie|tokio [--port N] [--workers N]");
    let mut args = std::env::args().skip(1);
    let (mut runtime, mut port, mut workers) = (None, 8080u16, None);
    while let Some(a) = args.next() {
        let v = args.next().ok_or_else(usage)?;
        match a.as_str() {
            "--runtime" => runtime = Some(v),
            "--port" => port = v.parse().map_err(|_| usage())?,
            "--workers" => workers = Some(v.parse().map_err(|_| usage())?),
            _ => return Err(usage()),
        }
    }
    let workers =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    match runtime.as_deref() {
        Some("magpie") => on_magpie(port, workers),
        Some("tokio") => on_tokio(port, workers),
        _ => Err(usage()),
    }
}
