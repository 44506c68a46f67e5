//! `serve` at the descriptor limit: `EMFILE` from accept is logged and retried after a
//! pause (no spin, no early return), and the waiting connection is served once
//! descriptors are free again.
//!
//! A dedicated test binary with a single test: it lowers this process's
//! `RLIMIT_NOFILE` (restored at the end) and fills the descriptor table.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use magpie_io::net::TcpListener;
use magpie_sync::Event;

/// User + system CPU time this process has used.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of the plain-data struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[test]
fn serve_backs_off_on_emfile_and_recovers() {
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();

    // A connection waiting in the backlog, its request already sent.
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();

    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
    let new = libc::rlimit {
        rlim_cur: 256.min(old.rlim_cur),
        rlim_max: old.rlim_max,
    };
    // SAFETY: valid pointer to an initialised rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) }, 0);
    let mut fillers = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => fillers.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                break;
            }
        }
        assert!(fillers.len() < 100_000);
    }

    let stop = Arc::new(Event::new());
    let s = stop.clone();
    let svc = tower::service_fn(|_: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
    });
    let server = rt.spawn(
        magpie_hyper::serve(listener, svc)
            .with_graceful_shutdown(async move { s.wait().await })
            .into_future(),
    );

    // Half a second at the limit: the server keeps trying, without spinning (a spin
    // would burn about one core, 500 ms of CPU).
    let before = cpu_time();
    std::thread::sleep(Duration::from_millis(500));
    let used = cpu_time() - before;
    assert!(!server.is_finished(), "serve returned on EMFILE");
    assert!(
        used < Duration::from_millis(150),
        "{used:?} of CPU: spinning?"
    );

    // Free descriptors: the waiting connection is accepted (at the next retry, at most
    // 1 s away) and answered.
    drop(fillers);
    let mut response = String::new();
    client.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("hello"), "{response}");

    // SAFETY: valid pointer to the original limits.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) }, 0);
    stop.set();
    rt.block_on(async {
        magpie_time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve did not stop")
            .unwrap()
            .unwrap();
    });
}
