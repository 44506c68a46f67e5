//! TCP keepalive options set on a `TcpSocket` and a `TcpStream`, read back from the
//! kernel.

mod common;

use std::io;
use std::time::Duration;

use common::run;
use magpie_io::net::tcp::Keepalive;
use magpie_io::net::{TcpListener, TcpSocket, TcpStream};

#[test]
fn stream_keepalive_set_and_read_back() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        assert!(!stream.keepalive().unwrap(), "off by default");
        stream.set_keepalive(true).unwrap();
        assert!(stream.keepalive().unwrap());
        stream.set_keepalive(false).unwrap();
        assert!(!stream.keepalive().unwrap());

        let ka = Keepalive::new()
            .with_time(Duration::from_secs(42))
            .with_interval(Duration::from_secs(7))
            .with_retries(3);
        stream.set_keepalive_params(&ka).unwrap();
        assert!(
            stream.keepalive().unwrap(),
            "setting the params turns it on"
        );
        assert_eq!(stream.keepalive_params().unwrap(), ka);

        // Only the time: the other two keep what was set before.
        let only_time = Keepalive::new().with_time(Duration::from_secs(99));
        stream.set_keepalive_params(&only_time).unwrap();
        let now = stream.keepalive_params().unwrap();
        assert_eq!(now.time(), Some(Duration::from_secs(99)));
        assert_eq!(now.interval(), Some(Duration::from_secs(7)));
        assert_eq!(now.retries(), Some(3));
    });
}

#[test]
fn socket_keepalive_survives_connect() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        let ka = Keepalive::new()
            .with_time(Duration::from_secs(15))
            .with_interval(Duration::from_secs(2))
            .with_retries(6);
        socket.set_keepalive_params(&ka).unwrap();
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.keepalive_params().unwrap(), ka);
        socket.set_keepalive(false).unwrap();
        assert!(!socket.keepalive().unwrap());
        socket.set_keepalive(true).unwrap();

        let stream = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        assert!(stream.keepalive().unwrap());
        assert_eq!(stream.keepalive_params().unwrap(), ka);
    });
}

#[test]
fn zero_values_are_refused_with_a_clear_error() {
    let socket = TcpSocket::new_v4().unwrap();
    for bad in [
        Keepalive::new().with_time(Duration::ZERO),
        Keepalive::new().with_interval(Duration::from_millis(500)),
        Keepalive::new().with_retries(0),
    ] {
        let err = socket.set_keepalive_params(&bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
    }
    assert!(
        !socket.keepalive().unwrap(),
        "a refused setting changes nothing"
    );
}
