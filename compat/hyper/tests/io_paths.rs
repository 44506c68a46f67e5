//! `MagpieIo::new(any stream)` takes the stream's own fast paths: hyper's response
//! reaches the socket as one vectored write (head and body as separate buffers, no
//! flattening copy), and reads go into hyper's buffer without zeroing it first.

use std::convert::Infallible;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::rt::Write as _;
use hyper::service::service_fn;
use hyper::{Request, Response};
use magpie_hyper::{FuturesIo, MagpieIo, MagpieTimer};
use magpie_io::net::{TcpListener, TcpStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the wrapped stream saw.
#[derive(Debug, Default)]
struct Seen {
    /// `poll_write` calls.
    writes: usize,
    /// Buffer counts of the `poll_write_vectored` calls.
    vectored: Vec<usize>,
    /// Per read: bytes of the unfilled part already initialised when it was handed
    /// over (0: nobody zeroed it first).
    pre_initialised: Vec<usize>,
}

/// A stream that records how it is driven and forwards to `inner`.
struct Counting<T> {
    inner: T,
    seen: Arc<Mutex<Seen>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counting<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let pre = buf.initialized().len() - buf.filled().len();
        self.seen.lock().unwrap().pre_initialised.push(pre);
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counting<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.seen.lock().unwrap().writes += 1;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.seen.lock().unwrap().vectored.push(bufs.len());
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves one request over `wrap(accepted stream)` and returns what the stream saw.
fn serve_one<IO, W>(wrap: W) -> Seen
where
    W: FnOnce(Counting<TcpStream>) -> IO + Send + 'static,
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = seen.clone();
        let server = magpie_runtime::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let io = wrap(Counting {
                inner: stream,
                seen: s,
            });
            let svc = service_fn(|_req| async {
                let body = Bytes::from(vec![b'x'; 1000]);
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            });
            hyper::server::conn::http1::Builder::new()
                .timer(MagpieTimer::new())
                .serve_connection(io, svc)
                .await
                .unwrap();
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(MagpieIo::new(stream))
            .await
            .unwrap();
        magpie_runtime::spawn(conn);
        let req = Request::get("/")
            .header("connection", "close")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let res = send.send_request(req).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 1000);
        magpie_time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        std::mem::take(&mut *seen.lock().unwrap())
    })
}

#[test]
fn new_over_a_tcp_stream_reports_vectored_writes() {
    let rt = magpie_runtime::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        assert!(MagpieIo::new(stream).is_write_vectored());
    });
}

#[test]
fn new_over_any_stream_writes_head_and_body_in_one_writev_and_reads_uninitialised() {
    let seen = serve_one(MagpieIo::new);
    assert_eq!(seen.writes, 0, "no flattened write: {seen:?}");
    assert_eq!(
        seen.vectored.len(),
        1,
        "one writev for the response: {seen:?}"
    );
    assert!(
        seen.vectored[0] >= 2,
        "head and body as separate buffers: {seen:?}"
    );
    assert!(!seen.pre_initialised.is_empty());
    assert!(
        seen.pre_initialised.iter().all(|&n| n == 0),
        "a read buffer was zeroed before the read: {seen:?}"
    );
}

/// The same stream through futures-io's traits only (`FuturesIo`): the explicit slow
/// path flattens the response and zeroes read buffers, which is what the test above
/// shows `MagpieIo::new` no longer does.
#[test]
fn futures_io_path_flattens_and_zeroes() {
    let seen = serve_one(|s| MagpieIo::new(FuturesIo::new(tokio_to_futures(s))));
    assert_eq!(seen.vectored, Vec::<usize>::new(), "{seen:?}");
    assert!(seen.writes >= 1, "{seen:?}");
    assert!(seen.pre_initialised.iter().all(|&n| n > 0), "{seen:?}");
}

/// futures-io's traits over a tokio-trait stream (a stand-in for a futures-io-only
/// stream such as futures-rustls's): `poll_read` zeroes nothing itself, so what the
/// counter sees is what `FuturesIo` handed down.
fn tokio_to_futures<T>(inner: T) -> TokioToFutures<T> {
    TokioToFutures(inner)
}

struct TokioToFutures<T>(T);

impl<T: AsyncRead + Unpin> futures_io::AsyncRead for TokioToFutures<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // An initialised slice: the `ReadBuf` over it reports it all initialised.
        let mut rb = ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut rb))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

impl<T: AsyncWrite + Unpin> futures_io::AsyncWrite for TokioToFutures<T> {
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

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
