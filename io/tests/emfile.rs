//! EMFILE on accept: the error reaches the caller, the driver does not spin, and the
//! listener accepts again once descriptors are freed.
//!
//! A dedicated test binary with a single test: it lowers this process's
//! `RLIMIT_NOFILE` (restored at the end) and fills the descriptor table.

mod common;

use std::time::{Duration, Instant};

use common::Rt;
use magpie_base::park::Park;
use magpie_io::net::{TcpListener, TcpStream};

#[test]
fn accept_at_fd_limit_returns_emfile_then_recovers() {
    let mut rt = Rt::new();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();

    // Lower the soft limit to a little above what is open now.
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
    let limit = 256.min(old.rlim_cur);
    let new = libc::rlimit {
        rlim_cur: limit,
        rlim_max: old.rlim_max,
    };
    // SAFETY: valid pointer to an initialised rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) }, 0);

    // Two pending connections in the backlog (blocking std connects complete on
    // loopback without an accept).
    let c1 = std::net::TcpStream::connect(addr).unwrap();
    let c2 = std::net::TcpStream::connect(addr).unwrap();

    // Fill the descriptor table.
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

    let err = rt.block_on(listener.accept()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
    // Again: still an error, returned at once (the readiness was kept).
    let err = rt.block_on(listener.accept()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");

    // No event storm: with nothing new happening, a timed park blocks. (The first,
    // zero-timeout park consumes events already queued, e.g. the unpark of the wake-up
    // that ran the accept above.)
    rt.driver.park_timeout(Duration::ZERO);
    let start = Instant::now();
    rt.driver.park_timeout(Duration::from_millis(100));
    assert!(
        start.elapsed() >= Duration::from_millis(90),
        "the driver returned early: spinning on the listener?"
    );

    // Free descriptors: both pending connections are accepted.
    fillers.truncate(fillers.len().saturating_sub(8));
    let (s1, _) = rt.block_on(listener.accept()).unwrap();
    let (s2, _) = rt.block_on(listener.accept()).unwrap();
    let peers = [s1.peer_addr().unwrap(), s2.peer_addr().unwrap()];
    assert!(peers.contains(&c1.local_addr().unwrap()));
    assert!(peers.contains(&c2.local_addr().unwrap()));

    drop(fillers);
    // SAFETY: valid pointer to the original limits.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) }, 0);
    // And a fresh connect after recovery works end to end.
    rt.block_on(async {
        let _c = TcpStream::connect(addr).await.unwrap();
        listener.accept().await.unwrap();
    });
}
