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
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        magpie::spawn(async move {
            let mut buf = vec![0u8; 8192];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
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
