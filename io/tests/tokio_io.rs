//! tokio's `AsyncRead`/`AsyncWrite`, implemented natively (feature `tokio-io`), driven
//! by tokio's own extension traits (`tokio` with `io-util` only: no runtime).
#![cfg(feature = "tokio-io")]

mod common;

use std::future::poll_fn;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::process::Stdio;

use common::{payload, run, spawn};
use magpie_io::net::unix::pipe;
use magpie_io::net::{TcpListener, TcpStream, UnixStream};
use magpie_io::process::Command;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn tcp_owned_halves_round_trip_with_tokio_ext() {
    run(async {
        let (client, server) = tcp_pair().await;
        let (mut r, mut w) = client.into_split();
        let data = payload(300_000, 7);
        let expected = data.clone();
        spawn(async move {
            let (mut sr, mut sw) = server.into_split();
            tokio::io::copy(&mut sr, &mut sw).await.unwrap();
            sw.shutdown().await.unwrap();
        });
        spawn(async move {
            w.write_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        assert!(got == expected, "{} of {} bytes", got.len(), expected.len());
    });
}

#[test]
fn reads_into_uninitialised_read_buf() {
    run(async {
        let (mut client, mut server) = tcp_pair().await;
        server.write_all(b"uninit").await.unwrap();
        let mut storage = [MaybeUninit::<u8>::uninit(); 64];
        let mut buf = ReadBuf::uninit(&mut storage);
        poll_fn(|cx| Pin::new(&mut client).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"uninit");
        assert_eq!(
            buf.initialized().len(),
            6,
            "only what was read is initialised"
        );
    });
}

#[test]
fn vectored_writes_are_forwarded() {
    run(async {
        let (mut client, mut server) = tcp_pair().await;
        assert!(client.is_write_vectored());
        let bufs = [IoSlice::new(b"vec"), IoSlice::new(b"tored")];
        let n = poll_fn(|cx| Pin::new(&mut client).poll_write_vectored(cx, &bufs))
            .await
            .unwrap();
        assert_eq!(n, 8);
        let mut got = [0u8; 8];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"vectored");
    });
}

#[test]
fn unix_stream_borrowed_halves_and_shutdown_with_tokio_ext() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        {
            let (_r, mut w) = a.split();
            w.write_all(b"half").await.unwrap();
            w.shutdown().await.unwrap();
        }
        let mut got = String::new();
        b.split().0.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "half");
        drop(b);
        let eof = a.read_u8().await.unwrap_err();
        assert_eq!(eof.kind(), std::io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn child_stdio_with_tokio_ext() {
    run(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        stdin.write_all(b"through cat").await.unwrap();
        stdin.shutdown().await.unwrap();
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"through cat");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn pipe_ends_with_tokio_ext() {
    run(async {
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        tx.write_u32(0xDEAD_BEEF).await.unwrap();
        drop(tx);
        assert_eq!(rx.read_u32().await.unwrap(), 0xDEAD_BEEF);
        assert_eq!(
            rx.read_u8().await.unwrap_err().kind(),
            std::io::ErrorKind::UnexpectedEof
        );
    });
}

/// tokio-util's `Framed<magpie TcpStream, LinesCodec>`: an echo server and a client,
/// with no compat wrapper (magpie's streams implement tokio's traits themselves).
#[test]
fn framed_lines_codec_echo() {
    use futures_sink::Sink;
    use futures_util::StreamExt;
    use tokio_util::codec::{Framed, LinesCodec};

    /// `SinkExt::send`, written out (futures-util's `sink` feature is not enabled).
    async fn send_line(
        framed: &mut Framed<TcpStream, LinesCodec>,
        line: String,
    ) -> Result<(), tokio_util::codec::LinesCodecError> {
        let mut framed = Pin::new(framed);
        poll_fn(|cx| Sink::<String>::poll_ready(framed.as_mut(), cx)).await?;
        framed.as_mut().start_send(line)?;
        poll_fn(|cx| Sink::<String>::poll_flush(framed.as_mut(), cx)).await
    }

    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, LinesCodec::new());
            while let Some(line) = framed.next().await {
                let line = line.unwrap();
                send_line(&mut framed, format!("echo: {line}"))
                    .await
                    .unwrap();
            }
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut framed = Framed::new(stream, LinesCodec::new());
        for i in 0..100 {
            send_line(&mut framed, format!("line {i}")).await.unwrap();
            let back = framed.next().await.unwrap().unwrap();
            assert_eq!(back, format!("echo: line {i}"));
        }
    });
}
