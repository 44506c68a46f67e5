//! tokio's readiness API on magpie's sockets, each test checking what tokio documents:
//! `ready`, `readable`, `writable`, `try_read`, `try_read_vectored`, `try_write`,
//! `try_io`, `async_io`, `poll_read_ready`/`poll_write_ready`, `peek` (TCP);
//! `poll_recv_ready`, `poll_send_ready`, `try_recv_from`, `try_send_to`, `peek`,
//! `peek_from`, `try_peek_from` (UDP); the same on Unix sockets.

mod common;

use std::future::poll_fn;
use std::io::{self, IoSliceMut, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{CountWaker, run, wait_until};
use magpie_io::Interest;
use magpie_io::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};

/// A connected pair: (magpie stream, std peer).
async fn tcp_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    (stream, peer)
}

fn would_block<T: std::fmt::Debug>(r: io::Result<T>) -> bool {
    matches!(r, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
}

#[test]
fn tcp_try_read_would_block_until_readable_then_zero_at_eof() {
    run(async {
        let (stream, mut peer) = tcp_pair().await;
        let mut buf = [0u8; 64];
        assert!(would_block(stream.try_read(&mut buf)));
        peer.write_all(b"hello").unwrap();
        stream.readable().await.unwrap();
        assert_eq!(stream.try_read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        // A read shorter than the buffer drained the socket: readiness is cleared.
        assert!(would_block(stream.try_read(&mut buf)));
        drop(peer);
        let ready = stream.ready(Interest::READABLE).await.unwrap();
        assert!(ready.is_readable() || ready.is_read_closed());
        assert_eq!(stream.try_read(&mut buf).unwrap(), 0, "EOF reads 0");
    });
}

#[test]
fn tcp_try_read_vectored_fills_both_buffers() {
    run(async {
        let (stream, mut peer) = tcp_pair().await;
        peer.write_all(b"abcdef").unwrap();
        stream.readable().await.unwrap();
        let (mut a, mut b) = ([0u8; 2], [0u8; 10]);
        let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
        assert_eq!(stream.try_read_vectored(&mut bufs).unwrap(), 6);
        assert_eq!(&a, b"ab");
        assert_eq!(&b[..4], b"cdef");
    });
}

#[test]
fn tcp_writable_then_try_write_and_ready_reports_writable() {
    run(async {
        let (stream, peer) = tcp_pair().await;
        stream.writable().await.unwrap();
        assert_eq!(stream.try_write(b"xyz").unwrap(), 3);
        let ready = stream
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        assert!(ready.is_writable());
        assert!(!ready.is_readable());
        let mut got = [0u8; 3];
        std::io::Read::read_exact(&mut &peer, &mut got).unwrap();
        assert_eq!(&got, b"xyz");
    });
}

#[test]
fn tcp_try_io_would_block_when_not_ready_and_clears_on_would_block() {
    run(async {
        let (stream, mut peer) = tcp_pair().await;
        let mut calls = 0;
        // Not readable yet: `f` is not called.
        assert!(would_block(stream.try_io(Interest::READABLE, || {
            calls += 1;
            Ok(())
        })));
        assert_eq!(calls, 0);
        peer.write_all(b"x").unwrap();
        stream.readable().await.unwrap();
        // Ready: `f` runs; its WouldBlock clears the readiness ...
        assert!(would_block(stream.try_io(Interest::READABLE, || {
            calls += 1;
            Err::<(), _>(io::ErrorKind::WouldBlock.into())
        })));
        assert_eq!(calls, 1);
        // ... so the next try_io does not call `f`.
        assert!(would_block(stream.try_io(Interest::READABLE, || {
            calls += 1;
            Ok(())
        })));
        assert_eq!(calls, 1);
    });
}

#[test]
fn tcp_async_io_retries_until_the_operation_succeeds() {
    run(async {
        let (stream, peer) = tcp_pair().await;
        let fd = stream.as_raw_fd();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            (&peer).write_all(b"late").unwrap();
            peer
        });
        let mut buf = [0u8; 16];
        let n = stream
            .async_io(Interest::READABLE, || {
                // SAFETY: `buf` is valid for writes of its length for the call; `fd` is
                // the open socket of `stream`, borrowed for the call.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            })
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"late");
        drop(writer.join().unwrap());
    });
}

#[test]
fn tcp_poll_read_ready_is_pending_until_data_and_wakes() {
    run(async {
        let (stream, mut peer) = tcp_pair().await;
        let count = Arc::new(CountWaker::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(stream.poll_read_ready(&mut cx).is_pending());
        poll_fn(|cx| stream.poll_write_ready(cx)).await.unwrap(); // the driver reports writable
        peer.write_all(b"!").unwrap();
        wait_until("the read-ready wake", || count.0.load(Ordering::SeqCst) > 0).await;
        assert!(matches!(
            stream.poll_read_ready(&mut cx),
            Poll::Ready(Ok(()))
        ));
    });
}

#[test]
fn tcp_peek_does_not_consume() {
    run(async {
        let (mut stream, mut peer) = tcp_pair().await;
        peer.write_all(b"peeked").unwrap();
        let mut buf = [0u8; 16];
        let n = stream.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peeked");
        let mut again = [0u8; 6];
        magpie_io::AsyncReadExt::read_exact(&mut stream, &mut again)
            .await
            .unwrap();
        assert_eq!(&again, b"peeked");
    });
}

#[test]
fn unix_stream_readiness_api() {
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 8];
        assert!(would_block(a.try_read(&mut buf)));
        let count = Arc::new(CountWaker::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(a.poll_read_ready(&mut cx).is_pending());
        poll_fn(|cx| b.poll_write_ready(cx)).await.unwrap(); // the driver reports writable
        assert_eq!(b.try_write(b"unix").unwrap(), 4);
        wait_until("the read-ready wake", || count.0.load(Ordering::SeqCst) > 0).await;
        assert!(a.ready(Interest::READABLE).await.unwrap().is_readable());
        let n = a
            .try_io(Interest::READABLE, || {
                std::io::Read::read(&mut &*std_view(&a), &mut buf)
            })
            .unwrap();
        assert_eq!(&buf[..n], b"unix");
        let got = b
            .async_io(Interest::WRITABLE, || Ok::<_, io::Error>(7))
            .await
            .unwrap();
        assert_eq!(got, 7);
    });
}

/// A std view of a magpie socket's fd, for reading inside `try_io` (not closed on drop).
fn std_view(s: &UnixStream) -> std::mem::ManuallyDrop<std::os::unix::net::UnixStream> {
    use std::os::fd::FromRawFd;
    // SAFETY: the fd is the open socket of `s`, which outlives the returned view; the
    // view is never dropped (ManuallyDrop), so the fd is not closed twice.
    std::mem::ManuallyDrop::new(unsafe {
        std::os::unix::net::UnixStream::from_raw_fd(s.as_raw_fd())
    })
}

#[test]
fn udp_poll_ready_try_and_peek() {
    run(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();
        let mut buf = [0u8; 32];
        assert!(would_block(socket.try_recv_from(&mut buf)));
        assert!(would_block(socket.try_peek_from(&mut buf)));
        let count = Arc::new(CountWaker::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(socket.poll_recv_ready(&mut cx).is_pending());
        poll_fn(|cx| peer.poll_send_ready(cx)).await.unwrap(); // the driver reports writable
        assert_eq!(peer.try_send_to(b"one", addr).unwrap(), 3);
        wait_until("the recv-ready wake", || count.0.load(Ordering::SeqCst) > 0).await;
        assert!(matches!(
            socket.poll_recv_ready(&mut cx),
            Poll::Ready(Ok(()))
        ));
        // peek_from leaves the datagram queued.
        let (n, from) = socket.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], peer_addr));
        let (n, from) = socket.try_peek_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], peer_addr));
        let (n, from) = socket.try_recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], peer_addr));
        // Connected: peek, then recv, see the same datagram.
        socket.connect(peer_addr).await.unwrap();
        peer.send_to(b"two", addr).await.unwrap();
        let n = socket.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"two");
        let n = socket.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"two");
        // Readiness stays set after a datagram (more may be queued) until a receive
        // hits WouldBlock; after that, try_io does not call its closure.
        assert!(would_block(socket.try_recv(&mut buf)));
        assert!(would_block(
            socket.try_io(Interest::READABLE, || -> io::Result<()> {
                panic!("called while not ready")
            })
        ));
        let sent = socket
            .async_io(Interest::WRITABLE, || socket.try_send(b"3"))
            .await
            .unwrap();
        assert_eq!(sent, 1);
    });
}

fn tmp_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("magpie-io-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn unix_datagram_readiness_api() {
    run(async {
        let path = tmp_path("dgram");
        let socket = UnixDatagram::bind(&path).unwrap();
        let peer = UnixDatagram::unbound().unwrap();
        let mut buf = [0u8; 32];
        assert!(would_block(socket.try_recv_from(&mut buf)));
        let count = Arc::new(CountWaker::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(socket.poll_recv_ready(&mut cx).is_pending());
        poll_fn(|cx| peer.poll_send_ready(cx)).await.unwrap(); // the driver reports writable
        assert_eq!(peer.try_send_to(b"dg", &path).unwrap(), 2);
        wait_until("the recv-ready wake", || count.0.load(Ordering::SeqCst) > 0).await;
        assert!(
            socket
                .ready(Interest::READABLE)
                .await
                .unwrap()
                .is_readable()
        );
        let (n, _) = socket.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"dg");
        assert!(would_block(socket.try_recv_from(&mut buf)));
        assert!(would_block(
            socket.try_io(Interest::READABLE, || -> io::Result<()> {
                panic!("called while not ready")
            })
        ));
        let (a, b) = UnixDatagram::pair().unwrap();
        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"p")).await.unwrap(), 1);
        assert_eq!(poll_fn(|cx| b.poll_recv(cx, &mut buf)).await.unwrap(), 1);
        let _ = std::fs::remove_file(&path);
    });
}
