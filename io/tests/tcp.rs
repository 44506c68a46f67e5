//! TCP over loopback.

mod common;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{payload, run, spawn, yield_now};
use magpie_io::net::{TcpListener, TcpSocket, TcpStream};
use magpie_io::{AsyncReadExt, AsyncWriteExt};

async fn echo_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let s2 = served.clone();
    spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let served = s2.clone();
            spawn(async move {
                let (mut r, mut w) = stream.split();
                magpie_io::copy(&mut r, &mut w).await.unwrap();
                w.shutdown().await.unwrap();
                served.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, served)
}

/// `conns` clients each send `len` bytes (concurrently with reading them back) and
/// check every byte.
fn echo(conns: usize, len: usize) {
    run(async move {
        let (addr, served) = echo_server().await;
        let done = Arc::new(AtomicUsize::new(0));
        for c in 0..conns {
            let done = done.clone();
            spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                let data = payload(len, c as u8);
                let (mut r, mut w) = stream.into_split();
                let expected = data.clone();
                spawn(async move {
                    w.write_all(&data).await.unwrap();
                    w.shutdown().await.unwrap();
                });
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                assert_eq!(got.len(), expected.len());
                assert!(got == expected, "conn {c}: payload corrupted");
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        while done.load(Ordering::SeqCst) < conns {
            magpie_base::coop::consume_budget().await;
            yield_now().await;
        }
        assert_eq!(served.load(Ordering::SeqCst), conns);
    });
}

#[test]
fn echo_one_small() {
    echo(1, 100);
}

#[test]
fn echo_one_large() {
    echo(1, 1 << 20);
}

#[test]
fn echo_64_small() {
    echo(64, 100);
}

#[test]
fn echo_64_large() {
    echo(64, 1 << 20);
}

#[test]
fn borrowed_split_concurrent_read_write() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.split();
            magpie_io::copy(&mut r, &mut w).await.unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let data = payload(256 * 1024, 7);
        let (mut r, mut w) = stream.split();
        let mut got = vec![0u8; data.len()];
        // Write and read in the same task, concurrently: a sequential write_all of
        // 256 KiB would fill both socket buffers and deadlock.
        let write = async {
            w.write_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        };
        let read = async { r.read_exact(&mut got).await.unwrap() };
        join(write, read).await;
        assert!(got == data);
    });
}

/// Polls two futures together until both complete.
async fn join(a: impl std::future::Future<Output = ()>, b: impl std::future::Future<Output = ()>) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut da, mut db) = (false, false);
    std::future::poll_fn(|cx| {
        if !da {
            da = a.as_mut().poll(cx).is_ready();
        }
        if !db {
            db = b.as_mut().poll(cx).is_ready();
        }
        if da && db {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn reunite() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let b = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (ra, wa) = a.into_split();
        let (rb, wb) = b.into_split();
        let err = ra.reunite(wb).unwrap_err();
        let (ra, wb) = (err.0, err.1);
        let a = ra.reunite(wa).unwrap();
        let b = rb.reunite(wb).unwrap();
        assert_ne!(a.local_addr().unwrap(), b.local_addr().unwrap());
    });
}

#[test]
fn futures_io_traits_work_without_adapter() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            futures_util::io::AsyncWriteExt::write_all(&mut s, b"hello futures")
                .await
                .unwrap();
            futures_util::io::AsyncWriteExt::close(&mut s)
                .await
                .unwrap();
        });
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut out = String::new();
        futures_util::io::AsyncReadExt::read_to_string(&mut s, &mut out)
            .await
            .unwrap();
        assert_eq!(out, "hello futures");
    });
}

#[test]
fn peek_does_not_consume() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        client.write_all(b"peekaboo").await.unwrap();
        let mut buf = [0u8; 4];
        let n = server.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &b"peekaboo"[..n]);
        let mut all = [0u8; 8];
        server.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"peekaboo");
    });
}

#[test]
fn shutdown_write_is_eof_for_peer() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"last words").await.unwrap();
        client.shutdown_std(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        assert_eq!(server.read_to_end(&mut got).await.unwrap(), 10);
        assert_eq!(got, b"last words");
        let mut buf = [0u8; 8];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "EOF stays EOF");
        // Half-close: the other direction still works.
        server.write_all(b"reply").await.unwrap();
        server.shutdown().await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"reply");
    });
}

#[test]
fn bind_in_use_is_addr_in_use() {
    run(async {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(a.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    });
}

#[test]
fn connect_to_closed_port_is_refused() {
    run(async {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        let err = TcpSocket::new_v4()
            .unwrap()
            .connect(addr)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn reset_surfaces_as_error() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        // SO_LINGER 0 then close: the peer gets RST.
        let std = client.into_std().unwrap();
        socket2::SockRef::from(&std)
            .set_linger(Some(std::time::Duration::ZERO))
            .unwrap();
        drop(std);
        let mut buf = [0u8; 16];
        let err = server.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    });
}

#[test]
fn tcp_socket_options_listen_connect() {
    run(async {
        let s = TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        s.set_reuseport(true).unwrap();
        s.set_send_buffer_size(64 * 1024).unwrap();
        s.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(s.reuseaddr().unwrap());
        assert!(s.reuseport().unwrap());
        assert!(s.send_buffer_size().unwrap() >= 64 * 1024);
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = s.listen(16).unwrap();
        let addr = listener.local_addr().unwrap();
        let c = TcpSocket::new_v4().unwrap();
        let mut client = c.connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"opt").await.unwrap();
        let mut b = [0u8; 3];
        server.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"opt");
    });
}

#[test]
fn try_read_try_write_and_readiness() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        client.writable().await.unwrap();
        let bufs = [io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")];
        assert_eq!(client.try_write_vectored(&bufs).unwrap(), 4);
        assert_eq!(client.try_write(b"ef").unwrap(), 2);
        let mut got = Vec::new();
        while got.len() < 6 {
            server.readable().await.unwrap();
            let (mut a, mut b) = ([0u8; 3], [0u8; 3]);
            let mut bufs = [io::IoSliceMut::new(&mut a), io::IoSliceMut::new(&mut b)];
            match server.try_read_vectored(&mut bufs) {
                Ok(n) => {
                    let joined = [a, b].concat();
                    got.extend_from_slice(&joined[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"abcdef");
        let r = server
            .ready(magpie_io::Interest::READABLE | magpie_io::Interest::WRITABLE)
            .await
            .unwrap();
        assert!(r.is_writable());
    });
}

#[test]
fn listener_std_round_trip() {
    run(async {
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std.local_addr().unwrap();
        let l = TcpListener::from_std(std).unwrap();
        let before = magpie_io::driver::Handle::try_current()
            .unwrap()
            .num_registered();
        let std = l.into_std().unwrap();
        let after = magpie_io::driver::Handle::try_current()
            .unwrap()
            .num_registered();
        assert_eq!(after + 1, before, "into_std deregisters");
        assert_eq!(std.local_addr().unwrap(), addr);
        let l = TcpListener::from_std(std).unwrap();
        let _c = TcpStream::connect(addr).await.unwrap();
        l.accept().await.unwrap();
    });
}

#[test]
fn no_driver_is_an_error_naming_the_fix() {
    let err = common::block_on_no_driver(TcpListener::bind("127.0.0.1:0")).unwrap_err();
    assert!(err.to_string().contains("enable_io()"), "{err}");
    let err = common::block_on_no_driver(TcpStream::connect("127.0.0.1:1")).unwrap_err();
    assert!(err.to_string().contains("magpie I/O driver"), "{err}");
}

#[test]
fn lookup_host_localhost() {
    run(async {
        let addrs: Vec<_> = magpie_io::net::lookup_host("localhost:80")
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.port() == 80 && a.ip().is_loopback()));
        let lit: Vec<_> = magpie_io::net::lookup_host("10.1.2.3:5")
            .await
            .unwrap()
            .collect();
        assert_eq!(lit, vec!["10.1.2.3:5".parse::<SocketAddr>().unwrap()]);
        let stream = TcpStream::connect(("localhost", 1)).await;
        assert!(stream.is_err());
    });
}

#[test]
fn coop_budget_is_spent_by_reads() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(&vec![1u8; 4096]).await.unwrap();
        // Wait until all 4096 bytes are there.
        let mut total = 0;
        let mut b = [0u8; 4096];
        while total == 0 {
            total = server.peek(&mut b).await.unwrap();
        }
        while server.peek(&mut b).await.unwrap() < 4096 {}
        // 1-byte reads: the 129th in one poll must yield for the budget.
        let mut reads = 0usize;
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            magpie_base::coop::budget(|| {
                let mut one = [0u8; 1];
                loop {
                    match std::pin::Pin::new(&mut server).poll_read_priv_for_test(cx, &mut one) {
                        std::task::Poll::Ready(r) => {
                            r.unwrap();
                            reads += 1;
                        }
                        std::task::Poll::Pending => {
                            yielded = true;
                            return std::task::Poll::Ready(());
                        }
                    }
                }
            })
        })
        .await;
        assert!(yielded);
        assert_eq!(reads, magpie_base::coop::INITIAL_BUDGET as usize);
    });
}

trait PollReadForTest {
    fn poll_read_priv_for_test(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>>;
}

impl PollReadForTest for TcpStream {
    fn poll_read_priv_for_test(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        futures_io::AsyncRead::poll_read(self, cx, buf)
    }
}
