//! The I/O driver inside the runtime, on both flavours.

use magpie::io::{AsyncReadExt, AsyncWriteExt};
use magpie::net::{TcpListener, TcpStream, UdpSocket};
use magpie::runtime::Builder;
use std::io;

fn flavours() -> Vec<(&'static str, magpie::runtime::Runtime)> {
    vec![
        (
            "current_thread",
            Builder::new_current_thread().enable_all().build().unwrap(),
        ),
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ]
}

async fn echo_server(listener: TcpListener) {
    loop {
        let mut s = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                eprintln!("echo server: accept failed: {e}");
                return;
            }
        };
        magpie::spawn(async move {
            let mut buf = vec![0u8; 8192];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) => return,
                    Err(e) => {
                        eprintln!("echo server: read failed: {e}");
                        return;
                    }
                    Ok(n) => {
                        if let Err(e) = s.write_all(&buf[..n]).await {
                            eprintln!("echo server: write failed: {e}");
                            return;
                        }
                    }
                }
            }
        });
    }
}

#[test]
fn tcp_echo_64_connections_both_flavours() {
    for (name, rt) in flavours() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = magpie::spawn(echo_server(listener));
            let clients: Vec<_> = (0..64u32)
                .map(|i| {
                    magpie::spawn(async move {
                        let mut s = TcpStream::connect(addr).await.unwrap();
                        let msg: Vec<u8> = (0..16 * 1024u32).map(|j| (i + j) as u8).collect();
                        let (mut r, mut w) = s.split();
                        let writer = async {
                            w.write_all(&msg).await.unwrap();
                        };
                        let reader = async {
                            let mut back = vec![0u8; msg.len()];
                            r.read_exact(&mut back).await.unwrap();
                            back
                        };
                        let ((), back) = magpie::gather!(writer, reader).await;
                        assert_eq!(back, msg);
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            server.abort();
        });
    }
}

#[test]
fn udp_round_trip_both_flavours() {
    for (name, rt) in flavours() {
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b_addr = b.local_addr().unwrap();
            let recv = magpie::spawn(async move {
                let mut buf = [0u8; 64];
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                (buf[..n].to_vec(), from)
            });
            a.send_to(b"hello", b_addr).await.unwrap();
            let (msg, from) = recv.await.unwrap();
            assert_eq!(msg, b"hello", "{name}");
            assert_eq!(from, a.local_addr().unwrap());
        });
    }
}

#[test]
fn address_in_use_is_an_error() {
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let e = TcpListener::bind(l.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    });
}

#[test]
fn socket_outliving_its_runtime_errors_instead_of_hanging() {
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    drop(rt);
    let other = Builder::new_current_thread().enable_all().build().unwrap();
    let r = other.block_on(async { listener.accept().await });
    assert!(r.is_err(), "accept on a dead runtime's socket must fail");
}

#[test]
fn io_without_driver_reports_the_fix() {
    let rt = Builder::new_current_thread().build().unwrap();
    let e = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap_err();
    assert!(e.to_string().contains("enable_io"), "{e}");
}

#[test]
fn lookup_host_uses_the_blocking_pool() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addrs: Vec<_> = rt
        .block_on(magpie::net::lookup_host("localhost:80"))
        .unwrap()
        .collect();
    assert!(addrs.iter().all(|a| a.port() == 80));
    assert!(!addrs.is_empty());
}

fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit with a valid, initialised struct; only this
    // process's soft limit changes.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < want {
            r.rlim_cur = want.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// 1,000 concurrent connections on the multi-thread runtime, each echoing 64 KiB with
/// every byte checked: readiness is never lost with many tasks on different workers
/// waiting on different sockets.
#[test]
fn tcp_echo_1000_connections_64k() {
    raise_fd_limit(4096);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = magpie::spawn(echo_server(listener));
        // Connect first, one handshake at a time: a burst of 1,000 simultaneous SYNs
        // overflows the kernel's listen queue (the kernel then drops or resets
        // connections, which is not what this test is about). All 1,000 connections
        // are then open at once and echo concurrently.
        let mut streams = Vec::with_capacity(1000);
        for _ in 0..1000 {
            streams.push(TcpStream::connect(addr).await.unwrap());
        }
        let clients: Vec<_> = streams
            .into_iter()
            .zip(0u32..)
            .map(|(s, i)| {
                magpie::spawn(async move {
                    let msg: Vec<u8> = (0..64 * 1024u32).map(|j| (i * 7 + j) as u8).collect();
                    let (mut r, mut w) = s.into_split();
                    let m2 = msg.clone();
                    let writer = magpie::spawn(async move { w.write_all(&m2).await.unwrap() });
                    let mut back = vec![0u8; msg.len()];
                    r.read_exact(&mut back).await.unwrap();
                    writer.await.unwrap();
                    assert!(back == msg, "connection {i}: echo differs");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.abort();
    });
}

/// Clients that vanish mid-transfer do not take the server down.
#[test]
fn server_survives_clients_disconnecting_mid_write() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = magpie::spawn(echo_server(listener));
        for _ in 0..50 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            // Send a lot and leave without reading: the server's writes hit a closed
            // socket (EPIPE / ECONNRESET) and must be handled as errors.
            let _ = s.write_all(&vec![1u8; 256 * 1024]).await;
            drop(s);
        }
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"still here").await.unwrap();
        let mut back = [0u8; 10];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"still here");
        assert!(!server.is_finished());
        server.abort();
    });
}

/// A connection refused surfaces as the matching io::Error.
#[test]
fn connect_refused() {
    let rt = Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    });
}

/// `poll_read_uninit` reads into spare capacity (never zeroed) on TCP and Unix streams:
/// the bytes that come back are exactly the ones sent, and EOF reads as 0.
#[test]
fn read_into_uninitialised_memory() {
    use std::future::poll_fn;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let msg: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = msg.clone();
        magpie::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(&sent).await.unwrap();
            // Dropping `s` closes the connection: the reader sees EOF.
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut got: Vec<u8> = Vec::with_capacity(4096);
        loop {
            if got.spare_capacity_mut().is_empty() {
                got.reserve(4096);
            }
            let n = poll_fn(|cx| tcp.poll_read_uninit(cx, got.spare_capacity_mut()))
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            // SAFETY: poll_read_uninit initialised the first n spare bytes.
            unsafe { got.set_len(got.len() + n) };
        }
        assert!(got == msg, "tcp: {} bytes, content differs", got.len());

        let (a, b) = magpie::net::UnixStream::pair().unwrap();
        let mut a = a;
        a.write_all(b"over unix").await.unwrap();
        drop(a);
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 64];
        let n = poll_fn(|cx| b.poll_read_uninit(cx, &mut buf))
            .await
            .unwrap();
        // SAFETY: the first n elements were initialised by the read.
        let bytes: Vec<u8> = buf[..n]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        assert_eq!(bytes, b"over unix");
        assert_eq!(
            poll_fn(|cx| b.poll_read_uninit(cx, &mut buf))
                .await
                .unwrap(),
            0
        );
    });
}

/// Issue 15: any number of tasks may await one socket. Each of 8 tasks accepts once on
/// one `Arc<TcpListener>` and each of 8 tasks receives once on one `Arc<UdpSocket>`;
/// the whole test fails (instead of hanging) after 10 s.
#[test]
fn eight_acceptors_and_eight_udp_receivers_on_one_socket_both_flavours() {
    use std::sync::Arc;
    use std::time::Duration;
    for (name, rt) in flavours() {
        rt.block_on(async {
            let work = async {
                let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
                let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                let (laddr, uaddr) = (listener.local_addr().unwrap(), socket.local_addr().unwrap());
                let mut tasks = Vec::new();
                for _ in 0..8 {
                    let listener = listener.clone();
                    tasks.push(magpie::spawn(async move {
                        listener.accept().await.unwrap();
                    }));
                    let socket = socket.clone();
                    tasks.push(magpie::spawn(async move {
                        let mut buf = [0u8; 16];
                        socket.recv_from(&mut buf).await.unwrap();
                    }));
                }
                // Let every task reach its wait before anything arrives.
                magpie::time::sleep(Duration::from_millis(50)).await;
                let mut clients = Vec::new();
                let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                for _ in 0..8 {
                    clients.push(TcpStream::connect(laddr).await.unwrap());
                    sender.send_to(b"ping", uaddr).await.unwrap();
                }
                for t in tasks {
                    t.await.unwrap();
                }
            };
            magpie::time::timeout(Duration::from_secs(10), work)
                .await
                .unwrap_or_else(|_| panic!("{name}: a waiter was never woken"));
        });
    }
}

/// Issue 15, under real threads: 8 accept loops share one listener while 4 client tasks
/// open 400 connections; every connection is accepted exactly once (each server side
/// reads its client's id), on both flavours, within 20 s.
#[test]
fn accept_loops_sharing_a_listener_accept_every_connection_both_flavours() {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    const CLIENTS: u32 = 4;
    const PER_CLIENT: u32 = 100;
    for (name, rt) in flavours() {
        rt.block_on(async {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let seen = Arc::new(Mutex::new(HashSet::new()));
            let mut loops = Vec::new();
            for _ in 0..8 {
                let (listener, seen) = (listener.clone(), seen.clone());
                loops.push(magpie::spawn(async move {
                    loop {
                        let (mut s, _) = listener.accept().await.unwrap();
                        let mut id = [0u8; 4];
                        s.read_exact(&mut id).await.unwrap();
                        assert!(seen.lock().unwrap().insert(u32::from_le_bytes(id)));
                        s.write_all(b"k").await.unwrap();
                    }
                }));
            }
            let work = async {
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|c| {
                        magpie::spawn(async move {
                            for i in 0..PER_CLIENT {
                                let mut s = TcpStream::connect(addr).await.unwrap();
                                s.write_all(&(c * PER_CLIENT + i).to_le_bytes())
                                    .await
                                    .unwrap();
                                let mut ack = [0u8; 1];
                                s.read_exact(&mut ack).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for c in clients {
                    c.await.unwrap();
                }
            };
            magpie::time::timeout(Duration::from_secs(20), work)
                .await
                .unwrap_or_else(|_| panic!("{name}: a connection was never accepted"));
            assert_eq!(seen.lock().unwrap().len(), (CLIENTS * PER_CLIENT) as usize);
            for l in loops {
                l.abort();
            }
        });
    }
}

/// Dropping a runtime while tasks wait on sockets (8 in `accept`, 8 in `recv_from`, 8
/// in `readable`, all on shared sockets) completes within 10 s and drops every task's
/// future exactly once.
#[test]
fn dropping_the_runtime_while_tasks_wait_on_shared_sockets_both_flavours() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for (name, rt) in flavours() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        rt.block_on(async move {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            for _ in 0..8 {
                let (l, s, s2) = (listener.clone(), socket.clone(), socket.clone());
                let (c1, c2, c3) = (Count(d.clone()), Count(d.clone()), Count(d.clone()));
                magpie::spawn(async move {
                    let _c = c1;
                    let _ = l.accept().await;
                });
                magpie::spawn(async move {
                    let _c = c2;
                    let _ = s.recv_from(&mut [0u8; 8]).await;
                });
                magpie::spawn(async move {
                    let _c = c3;
                    let _ = s2.readable().await;
                });
            }
            magpie::time::sleep(Duration::from_millis(50)).await;
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(rt);
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{name}: dropping the runtime hung"));
        assert_eq!(dropped.load(Ordering::SeqCst), 24, "{name}");
    }
}

/// Makes the next close of `fd` send a RST (`SO_LINGER` with a zero timeout).
fn reset_on_close(fd: std::os::fd::RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid `struct linger` for the call, its size is passed;
    // `fd` is an open socket owned by the caller.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

/// Peers resetting (RST) mid-read and mid-write, 40 times each: the server's reads
/// and writes get errors, and it keeps serving (both flavours, within 20 s).
#[test]
fn peers_resetting_mid_read_and_mid_write_leave_the_server_serving_both_flavours() {
    use std::os::fd::AsRawFd;
    use std::time::Duration;
    for (name, rt) in flavours() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = magpie::spawn(echo_server(listener));
            let work = async {
                for i in 0..40 {
                    // Mid-read: a little data, then a RST while the server reads on.
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.write_all(&[i as u8; 100]).await.unwrap();
                    reset_on_close(s.as_raw_fd());
                    drop(s);
                    // Mid-write: the server's echo fills our unread receive buffer,
                    // then a RST while it is blocked writing.
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    // (Bounded: both directions' buffers may fill up.)
                    let big = vec![2u8; 512 * 1024];
                    let _ =
                        magpie::time::timeout(Duration::from_millis(200), s.write_all(&big)).await;
                    reset_on_close(s.as_raw_fd());
                    drop(s);
                }
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(b"still serving").await.unwrap();
                let mut back = [0u8; 13];
                s.read_exact(&mut back).await.unwrap();
                assert_eq!(&back, b"still serving");
            };
            magpie::time::timeout(Duration::from_secs(20), work)
                .await
                .unwrap_or_else(|_| panic!("{name}: the server stopped serving"));
            assert!(!server.is_finished(), "{name}");
            server.abort();
        });
    }
}
