//! axum on magpie: a `Router` served by `magpie::hyper::serve` (HTTP/1.1 and HTTP/2 on
//! one port), graceful shutdown on Ctrl-C, no tokio runtime in the process.
//!
//! ```sh
//! cargo run -p magpie-examples --example axum                  # 127.0.0.1:3000
//! cargo run -p magpie-examples --example axum -- --port 8080
//! cargo run -p magpie-examples --example axum -- --selftest    # what CI runs
//! curl localhost:3000/hello/ferris
//! curl -X POST -H 'content-type: application/json' -d '{"name":"ada"}' localhost:3000/users
//! curl -N localhost:3000/stream/5
//! ```
//!
//! Routes: `GET /`, `GET /hello/{name}` (path extractor), `POST /users` (JSON body in,
//! JSON out, into shared state), `GET /users/{id}`, `GET /stats` (shared state),
//! `GET /stream/{n}` (a body streamed chunk by chunk, one every 10 ms), `GET /slow`
//! (300 ms, to watch graceful shutdown finish it).
//!
//! axum is used with `default-features = false, features = ["json"]`: without its
//! `tokio` feature it brings no tokio runtime (and no `axum::serve`; magpie's `serve`
//! takes its place). Known gap: `axum::extract::ws::WebSocketUpgrade` spawns with
//! `tokio::spawn` and needs the `tokio` feature, so it does not run on magpie.

// The examples' shared command line (unknown arguments: usage line, exit 2).
#[path = "../../../examples/common/args.rs"]
mod args;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Json, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use futures_util::stream;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use magpie::hyper::{Client, ResponseBody};
use magpie::net::{TcpListener, TcpStream};
use magpie::sync::Mutex;
use magpie::time::{Duration, sleep, timeout};
use serde::{Deserialize, Serialize};

// ----------------------------------------------------------------------------- the app

/// What every handler shares (axum's `State`).
#[derive(Default)]
struct AppState {
    hits: AtomicU64,
    users: Mutex<Vec<User>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
}

type Shared = State<Arc<AppState>>;

fn count(state: &AppState) {
    state.hits.fetch_add(1, Ordering::Relaxed);
}

async fn root(State(state): Shared) -> &'static str {
    count(&state);
    "Hello from axum on magpie"
}

async fn hello(State(state): Shared, Path(name): Path<String>) -> String {
    count(&state);
    format!("Hello, {name}!")
}

async fn create_user(State(state): Shared, Json(new): Json<NewUser>) -> (StatusCode, Json<User>) {
    count(&state);
    let mut users = state.users.lock().await;
    let user = User {
        id: users.len() as u64 + 1,
        name: new.name,
    };
    users.push(user.clone());
    (StatusCode::CREATED, Json(user))
}

async fn get_user(State(state): Shared, Path(id): Path<u64>) -> Result<Json<User>, StatusCode> {
    count(&state);
    let users = state.users.lock().await;
    users
        .iter()
        .find(|u| u.id == id)
        .cloned()
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

async fn stats(State(state): Shared) -> Json<serde_json::Value> {
    count(&state);
    let hits = state.hits.load(Ordering::Relaxed);
    Json(serde_json::json!({ "hits": hits }))
}

/// `n` chunks, one every 10 ms: the client sees them as they are produced.
async fn stream_chunks(State(state): Shared, Path(n): Path<u32>) -> Body {
    count(&state);
    let chunks = stream::unfold(0, move |i| async move {
        if i == n {
            return None;
        }
        sleep(Duration::from_millis(10)).await;
        Some((Ok::<_, Infallible>(format!("chunk {i}\n")), i + 1))
    });
    Body::from_stream(chunks)
}

async fn slow(State(state): Shared) -> &'static str {
    count(&state);
    sleep(Duration::from_millis(300)).await;
    "done"
}

fn app() -> Router {
    Router::new()
        .route("/", get(root))
        .route("/hello/{name}", get(hello))
        .route("/users", post(create_user))
        .route("/users/{id}", get(get_user))
        .route("/stats", get(stats))
        .route("/stream/{n}", get(stream_chunks))
        .route("/slow", get(slow))
        .with_state(Arc::new(AppState::default()))
}

/// Serves `app()` on `listener` until Ctrl-C, then shuts down gracefully: stops
/// accepting, lets the requests in flight finish, returns when every connection is
/// closed.
async fn run_server(listener: TcpListener) -> io::Result<()> {
    magpie::hyper::serve(listener, app())
        .with_graceful_shutdown(async {
            match magpie::signal::ctrl_c().await {
                Ok(()) => println!("Ctrl-C: shutting down gracefully"),
                Err(e) => {
                    eprintln!("cannot listen for Ctrl-C ({e}); serving until killed");
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
}

// ---------------------------------------------------------------------------- selftest

type Res = hyper::Response<ResponseBody<Full<Bytes>>>;

fn check(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        println!("  ok: {what}");
        Ok(())
    } else {
        Err(io::Error::other(format!("selftest failed: {what}")))
    }
}

async fn send(client: &Client<Full<Bytes>>, req: hyper::Request<Full<Bytes>>) -> io::Result<Res> {
    client.request(req).await.map_err(io::Error::other)
}

async fn get_text(
    client: &Client<Full<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> io::Result<(u16, String)> {
    let res = client
        .get(
            format!("http://{addr}{path}")
                .parse()
                .map_err(io::Error::other)?,
        )
        .await
        .map_err(io::Error::other)?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.map_err(io::Error::other)?;
    Ok((
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}

fn post_json(addr: SocketAddr, path: &str, json: &str) -> io::Result<hyper::Request<Full<Bytes>>> {
    hyper::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(json.to_owned())))
        .map_err(io::Error::other)
}

async fn selftest(listener: TcpListener) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let server = magpie::spawn(run_server(listener));
    let client = Client::<Full<Bytes>>::new();

    let (status, body) = get_text(&client, addr, "/").await?;
    check(
        status == 200 && body == "Hello from axum on magpie",
        "GET / -> 200",
    )?;
    let (status, body) = get_text(&client, addr, "/hello/ferris").await?;
    check(
        status == 200 && body == "Hello, ferris!",
        "GET /hello/ferris (Path)",
    )?;

    let res = send(&client, post_json(addr, "/users", r#"{"name":"ada"}"#)?).await?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    let user: User = serde_json::from_slice(&body).map_err(io::Error::other)?;
    check(
        status == 201
            && user
                == User {
                    id: 1,
                    name: "ada".into(),
                },
        "POST /users (Json in, Json out, State) -> 201 {id:1,name:ada}",
    )?;
    let (status, body) = get_text(&client, addr, "/users/1").await?;
    check(
        status == 200 && body == r#"{"id":1,"name":"ada"}"#,
        "GET /users/1 -> the stored user",
    )?;
    let (status, _) = get_text(&client, addr, "/users/99").await?;
    check(status == 404, "GET /users/99 -> 404")?;
    let res = send(&client, post_json(addr, "/users", "{not json")?).await?;
    check(
        res.status().is_client_error(),
        "POST /users with a bad body -> 4xx",
    )?;
    drop(res);

    // The streamed body arrives in several frames, in order.
    let res = client
        .get(
            format!("http://{addr}/stream/5")
                .parse()
                .map_err(io::Error::other)?,
        )
        .await
        .map_err(io::Error::other)?;
    let mut body = res.into_body();
    let (mut frames, mut text) = (0, String::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(io::Error::other)?.into_data() {
            frames += 1;
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    let want: String = (0..5).map(|i| format!("chunk {i}\n")).collect();
    check(
        text == want && frames >= 2,
        &format!("GET /stream/5 streamed ({frames} frames)"),
    )?;

    // 7 handler runs: the bad body was rejected by the `Json` extractor first.
    let (status, body) = get_text(&client, addr, "/stats").await?;
    check(
        status == 200 && body == r#"{"hits":7}"#,
        &format!("GET /stats -> {body} (shared state)"),
    )?;

    // Graceful shutdown on Ctrl-C with a request in flight: it still gets its answer,
    // then the server exits and refuses new connections.
    let slow_client = client.clone();
    let in_flight = magpie::spawn(async move { get_text(&slow_client, addr, "/slow").await });
    sleep(Duration::from_millis(50)).await;
    // SAFETY: kill(2) on our own pid with a valid signal number has no memory-safety
    // preconditions; SIGINT has magpie's handler (the server is polling `ctrl_c`).
    if unsafe { libc::kill(libc::getpid(), libc::SIGINT) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (status, body) = in_flight.await.map_err(io::Error::from)??;
    check(
        status == 200 && body == "done",
        "the request in flight at Ctrl-C completed",
    )?;
    timeout(Duration::from_secs(5), server)
        .await
        .map_err(|_| io::Error::other("selftest failed: the server did not exit"))?
        .map_err(io::Error::from)??;
    check(true, "the server exited after its last connection closed")?;
    check(
        TcpStream::connect(addr).await.is_err(),
        "new connections are refused",
    )?;
    println!("selftest: passed");
    Ok(())
}

// -------------------------------------------------------------------------------- main

#[magpie::main]
async fn main() -> io::Result<()> {
    let mut args = args::Args::parse("usage: axum [--port PORT] [--selftest]");
    let selftest_mode = args.flag("--selftest");
    let port: Option<u16> = args.value("--port");
    args.finish();
    let port = port.unwrap_or(if selftest_mode { 0 } else { 3000 });
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    if selftest_mode {
        return selftest(listener).await;
    }
    println!(
        "listening on http://{} (Ctrl-C to stop)",
        listener.local_addr()?
    );
    run_server(listener).await?;
    println!("bye");
    Ok(())
}
