//! # magpie-hyper: hyper 1.x on magpie
//!
//! hyper 1.x is runtime-agnostic: it asks its user for an executor (to spawn HTTP/2
//! streams and client background tasks), a timer (for timeouts such as
//! `header_read_timeout` and keep-alive pings) and I/O types implementing its own
//! [`hyper::rt::Read`] / [`hyper::rt::Write`]. This crate provides the three for magpie:
//!
//! | hyper needs                 | magpie-hyper provides                                   |
//! |-----------------------------|---------------------------------------------------------|
//! | `rt::Executor<F>`           | [`MagpieExecutor`]: `magpie::spawn` (or a given runtime)|
//! | `rt::Timer`, `rt::Sleep`    | [`MagpieTimer`], [`MagpieSleep`]: magpie's timer wheel  |
//! | `rt::Read` + `rt::Write`    | [`MagpieIo<T>`] around any stream with tokio's traits   |
//! | (and back) futures-io       | [`MagpieIo<T>`] around any hyper I/O (e.g. `Upgraded`)  |
//!
//! plus [`serve`], the accept loop of a server (HTTP/1.1 and HTTP/2 on one port, any
//! tower service such as axum's `Router`, graceful shutdown; feature `server`, on by
//! default), and [`Client`] with its [`HttpConnector`] (feature `client`, on by default). Through the facade: `magpie = { features = ["hyper"] }`, then
//! `use magpie::hyper::{MagpieExecutor, MagpieIo, MagpieTimer};`.
//!
//! ```
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use magpie_hyper::{MagpieExecutor, MagpieIo, MagpieTimer};
//! use magpie_io::net::{TcpListener, TcpStream};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("Hello, world"))))
//! }
//!
//! # magpie_runtime::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! // Server: one connection, served on a magpie task.
//! magpie_runtime::spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     hyper::server::conn::http1::Builder::new()
//!         .timer(MagpieTimer::new())
//!         .serve_connection(MagpieIo::from(stream), hyper::service::service_fn(hello))
//!         .await
//!         .map_err(std::io::Error::other)
//! });
//! // Client: hyper's low-level client over a magpie TcpStream.
//! let stream = TcpStream::connect(addr).await?;
//! let (mut send, conn) = hyper::client::conn::http1::handshake(MagpieIo::from(stream))
//!     .await
//!     .map_err(std::io::Error::other)?;
//! MagpieExecutor::new().spawn(conn);
//! let req = Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
//! let res = send.send_request(req).await.map_err(std::io::Error::other)?;
//! assert_eq!(res.status(), 200);
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! No tokio runtime, reactor or timer is involved: tokio is in the tree for its I/O
//! traits (magpie's streams implement them natively, and [`MagpieIo`] bridges them to
//! hyper) and hyper's internal channels (`sync`); `cargo tree -e features -i tokio`
//! shows no `rt`, `net` or `time`.
#![warn(missing_docs)]

mod exec;
mod io;
mod timer;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod serve;

pub use exec::MagpieExecutor;
pub use io::{FuturesIo, MagpieIo};
pub use timer::{MagpieSleep, MagpieTimer};

#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, Error as ClientError, HttpConnector, ResponseBody};
#[cfg(feature = "server")]
pub use serve::{Listener, Serve, ServeFuture, WithGracefulShutdown, serve, serve_http1};
