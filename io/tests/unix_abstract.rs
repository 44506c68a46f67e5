//! Abstract Unix socket names (`"\0name"`, Linux): no file is created, the name is
//! reported by `local_addr()` through `SocketAddrExt::as_abstract_name`.
#![cfg(target_os = "linux")]

mod common;

use std::os::linux::net::SocketAddrExt;

use common::run;
use magpie_io::net::{UnixDatagram, UnixListener, UnixStream};
use magpie_io::{AsyncReadExt, AsyncWriteExt};

fn name(tag: &str) -> String {
    format!("\0magpie-io-abstract-{}-{tag}", std::process::id())
}

#[test]
fn stream_listener_on_an_abstract_name() {
    run(async {
        let n = name("stream");
        let listener = UnixListener::bind(&n).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_abstract_name(),
            Some(&n.as_bytes()[1..])
        );
        assert!(!std::path::Path::new(&n[1..]).exists());
        let mut client = UnixStream::connect(&n).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        let mut buf = [0u8; 8];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");
        // The name is taken while the listener lives.
        assert!(UnixListener::bind(&n).is_err());
    });
}

#[test]
fn datagram_on_an_abstract_name() {
    run(async {
        let n = name("dgram");
        let socket = UnixDatagram::bind(&n).unwrap();
        let peer = UnixDatagram::unbound().unwrap();
        peer.send_to(b"hi", &n).await.unwrap();
        let mut buf = [0u8; 4];
        let (len, _) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"hi");
        assert_eq!(peer.try_send_to(b"t", &n).unwrap(), 1);
        peer.connect(&n).unwrap();
        peer.send(b"c").await.unwrap();
        let (len, _) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"t");
        let (len, _) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"c");
    });
}
