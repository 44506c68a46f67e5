//! rustls on magpie: an HTTPS hyper server (futures-rustls over magpie's futures-io
//! `TcpStream`, HTTP/2 or HTTP/1.1 by ALPN) answered by curl, by a hyper HTTP/2 client
//! over futures-rustls, and by a tokio-rustls client (tokio's traits) speaking HTTP/1.1.
//! Certificates are made at test time (rcgen).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use magpie::hyper::{FuturesIo, MagpieExecutor, MagpieIo, MagpieTimer};
use magpie::net::{TcpListener, TcpStream};
use magpie_ecosystem::tls::TestPki;
use magpie_ecosystem::{assert_no_tokio, deadline};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    assert_no_tokio();
    let body = format!("hello over {:?}", req.version());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// An HTTPS server on magpie: TLS by futures-rustls, HTTP by hyper, the protocol chosen
/// by ALPN (h2 preferred).
async fn https_server(pki: &TestPki) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = futures_rustls::TlsAcceptor::from(pki.server_config(&[b"h2", b"http/1.1"]));
    magpie::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            magpie::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                let io = MagpieIo::new(FuturesIo::new(tls));
                let served = if h2 {
                    hyper::server::conn::http2::Builder::new(MagpieExecutor::new())
                        .timer(MagpieTimer::new())
                        .serve_connection(io, service_fn(hello))
                        .await
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .timer(MagpieTimer::new())
                        .serve_connection(io, service_fn(hello))
                        .await
                };
                served.expect("serving a TLS connection");
            });
        }
    });
    addr
}

/// curl against the server: the body and the HTTP version curl used.
async fn curl(pki: &TestPki, addr: SocketAddr, version_flag: &str) -> (String, String) {
    let ca = std::env::temp_dir().join(format!(
        "magpie-ca-{}-{}.pem",
        std::process::id(),
        addr.port()
    ));
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let url = format!("https://localhost:{}/", addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", addr.port());
    let out = magpie::process::Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20", version_flag])
        .arg("--cacert")
        .arg(&ca)
        .args([
            "--resolve",
            &resolve,
            "--write-out",
            "\n%{http_version}",
            &url,
        ])
        .output()
        .await
        .expect("curl is installed (scripts/services installs it)");
    let _ = std::fs::remove_file(&ca);
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, version) = text.rsplit_once('\n').unwrap();
    (body.to_string(), version.to_string())
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_server_answers_curl_over_h2_and_http1() {
    assert_no_tokio();
    deadline(60, async {
        let pki = TestPki::new();
        let addr = https_server(&pki).await;
        let (body, version) = curl(&pki, addr, "--http2").await;
        assert_eq!(
            (body.as_str(), version.as_str()),
            ("hello over HTTP/2.0", "2"),
            "ALPN chose h2"
        );
        let (body, version) = curl(&pki, addr, "--http1.1").await;
        assert_eq!(
            (body.as_str(), version.as_str()),
            ("hello over HTTP/1.1", "1.1")
        );
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn magpie_clients_over_futures_rustls_and_tokio_rustls() {
    assert_no_tokio();
    deadline(60, async {
        let pki = TestPki::new();
        let addr = https_server(&pki).await;
        let name = ServerName::try_from("localhost").unwrap();

        // futures-rustls (futures-io) + hyper's HTTP/2 client: ALPN picks h2.
        let connector =
            futures_rustls::TlsConnector::from(pki.client_config(&[b"h2", b"http/1.1"]));
        let tls = connector
            .connect(name.clone(), TcpStream::connect(addr).await.unwrap())
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut send, conn) = hyper::client::conn::http2::Builder::new(MagpieExecutor::new())
            .timer(MagpieTimer::new())
            .handshake(MagpieIo::new(FuturesIo::new(tls)))
            .await
            .unwrap();
        magpie::spawn(conn);
        for _ in 0..3 {
            let req = Request::get("https://localhost/")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let res = send.send_request(req).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.version(), hyper::Version::HTTP_2);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello over HTTP/2.0");
        }

        // tokio-rustls (tokio's traits, which magpie's TcpStream implements natively),
        // HTTP/1.1 by hand.
        let connector = tokio_rustls::TlsConnector::from(pki.client_config(&[b"http/1.1"]));
        let mut tls = connector
            .connect(name, TcpStream::connect(addr).await.unwrap())
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        tls.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("hello over HTTP/1.1"), "{response}");

        // A client that does not trust the CA is refused.
        let stranger = TestPki::new();
        let connector = tokio_rustls::TlsConnector::from(stranger.client_config(&[b"h2"]));
        let refused = connector
            .connect(
                ServerName::try_from("localhost").unwrap(),
                TcpStream::connect(addr).await.unwrap(),
            )
            .await;
        assert!(
            refused.is_err(),
            "a certificate from an unknown CA was accepted"
        );
    })
    .await;
}
