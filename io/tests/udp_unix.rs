//! UDP and Unix-domain sockets.

mod common;

use std::io;

use common::{payload, run, spawn};
use magpie_io::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
use magpie_io::{AsyncReadExt, AsyncWriteExt};

fn tmp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("magpie-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn udp_send_to_recv_from() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        for i in 0..50u8 {
            let msg = payload(100 + i as usize, i);
            assert_eq!(a.send_to(&msg, ba).await.unwrap(), msg.len());
            let mut buf = [0u8; 2048];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, aa);
            assert_eq!(&buf[..n], &msg[..]);
        }
    });
}

#[test]
fn udp_connect_send_recv_peek() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        // The receiver waits first (in another task) so the wake-up path is used.
        let b = std::sync::Arc::new(b);
        let b2 = b.clone();
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let got2 = got.clone();
        spawn(async move {
            let mut buf = [0u8; 64];
            let (n, _) = b2.peek_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            let n = b2.recv(&mut buf).await.unwrap();
            got2.lock().unwrap().extend_from_slice(&buf[..n]);
            b2.send(b"pong").await.unwrap();
        });
        common_yield().await;
        a.send(b"ping").await.unwrap();
        let mut buf = [0u8; 64];
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");
        assert_eq!(&got.lock().unwrap()[..], b"ping");
        assert_eq!(
            a.try_recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    });
}

async fn common_yield() {
    let mut y = false;
    std::future::poll_fn(|cx| {
        if y {
            std::task::Poll::Ready(())
        } else {
            y = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn unix_pair_round_trip() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let data = payload(300_000, 3);
        let expected = data.clone();
        spawn(async move {
            a.write_all(&data).await.unwrap();
            a.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert!(got == expected);
    });
}

#[test]
fn unix_listener_connect_accept_split() {
    run(async {
        let path = tmp_path("listener.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let p2 = path.clone();
        spawn(async move {
            let mut c = UnixStream::connect(&p2).await.unwrap();
            let (mut r, mut w) = c.split();
            w.write_all(b"hello unix").await.unwrap();
            let mut buf = [0u8; 5];
            r.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"howdy");
        });
        let (s, _addr) = listener.accept().await.unwrap();
        let (mut r, mut w) = s.into_split();
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello unix");
        w.write_all(b"howdy").await.unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn unix_datagram_pair_and_bound() {
    run(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"dgram").await.unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"dgram");

        let pa = tmp_path("dg-a.sock");
        let pb = tmp_path("dg-b.sock");
        let x = UnixDatagram::bind(&pa).unwrap();
        let y = UnixDatagram::bind(&pb).unwrap();
        x.send_to(b"to y", &pb).await.unwrap();
        let (n, from) = y.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to y");
        assert_eq!(from.as_pathname(), Some(pa.as_path()));
        let _ = std::fs::remove_file(&pa);
        let _ = std::fs::remove_file(&pb);
    });
}

#[test]
fn unix_bind_in_use() {
    run(async {
        let path = tmp_path("inuse.sock");
        let _l = UnixListener::bind(&path).unwrap();
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        let _ = std::fs::remove_file(&path);
    });
}
