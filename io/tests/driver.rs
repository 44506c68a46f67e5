//! Driver-level behaviour: stale events, shutdown, cross-thread wake-ups.

mod common;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{CountWaker, Rt, run};
use magpie_base::park::Park;
use magpie_io::net::{TcpListener, TcpStream, UnixStream};
use magpie_io::{AsyncReadExt, AsyncWriteExt};

/// A stream is dropped while an event for it has been read from epoll but not yet
/// dispatched; its slot is reused by another stream that waits for reads. The stale
/// event must neither wake nor mark readable the new stream.
#[test]
fn stale_event_after_slot_reuse_wakes_no_one() {
    let mut rt = Rt::new();
    let _g = rt.handle.enter();
    let (a, mut peer_a) = rt.block_on(async { UnixStream::pair() }).unwrap();
    let token_a = a.as_ref_token();
    // Make `a` readable and read the event out of epoll without dispatching it.
    rt.block_on(async { peer_a.write_all(b"for a").await.unwrap() });
    rt.driver.reactor_mut().dispatch_events();
    rt.driver
        .reactor_mut()
        .poll_events(Some(Duration::from_millis(100)));
    // Drop `a` (deregisters, frees its slot); register `b`, which reuses it.
    drop(a);
    let (b, _peer_b) = UnixStream::pair().unwrap();
    let token_b = b.as_ref_token();
    assert_eq!(token_b & 0xFF_FFFF, token_a & 0xFF_FFFF, "slot reused");
    assert_ne!(token_b, token_a, "with a new generation");
    // `b` waits for a read.
    let counter = Arc::new(CountWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 8];
    let mut b = b;
    assert!(
        futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut b), &mut cx, &mut buf)
            .is_pending()
    );
    // Now the stale event is delivered.
    rt.driver.reactor_mut().dispatch_events();
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "stale event woke the new owner"
    );
    assert_eq!(
        b.try_read(&mut buf).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

trait Token {
    fn as_ref_token(&self) -> usize;
}
impl Token for UnixStream {
    fn as_ref_token(&self) -> usize {
        self.__token()
    }
}

/// After `Handle::shutdown`, a waiting read is woken with an error and every later
/// operation (and registration) fails with "runtime shut down".
#[test]
fn shutdown_wakes_waiters_with_error() {
    let mut rt = Rt::new();
    let handle = rt.handle.clone();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let h = handle.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            h.shutdown();
        });
        let mut buf = [0u8; 4];
        let err = server.read(&mut buf).await.unwrap_err();
        assert!(err.to_string().contains("runtime shut down"), "{err}");
        assert!(magpie_io::driver::is_shutdown_err(&err), "{err:?}");
        let err = client.write_all(b"x").await.unwrap_err();
        assert!(err.to_string().contains("runtime shut down"), "{err}");
        assert!(
            client
                .try_read(&mut buf)
                .unwrap_err()
                .to_string()
                .contains("shut down")
        );
        let err = listener.accept().await.unwrap_err();
        assert!(err.to_string().contains("runtime shut down"), "{err}");
        let err = TcpListener::bind("127.0.0.1:0").await.unwrap_err();
        assert!(err.to_string().contains("runtime shut down"), "{err}");
    });
}

/// Dropping the driver shuts it down: a resource that outlives it errors, no hang.
#[test]
fn resource_outliving_driver_errors() {
    let mut rt = Rt::new();
    let (a, _b) = rt.block_on(async { UnixStream::pair() }).unwrap();
    let handle = rt.handle.clone();
    drop(rt);
    assert!(handle.is_shutdown());
    let mut a = a;
    let mut buf = [0u8; 1];
    let mut cx = Context::from_waker(Waker::noop());
    match futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut a), &mut cx, &mut buf) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("runtime shut down")),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A read blocked in `park` (no timeout) is woken by a write from another thread:
/// the event arrives through epoll while the driver is parked.
#[test]
fn blocked_read_woken_by_other_thread_write() {
    let mut rt = Rt::new();
    let (mut a, b) = rt.block_on(async { UnixStream::pair() }).unwrap();
    let b = b.into_std().unwrap();
    b.set_nonblocking(false).unwrap();
    let start = Instant::now();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        (&b).write_all(b"ping").unwrap();
        b
    });
    let got = rt.block_on(async move {
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).await.unwrap();
        buf
    });
    assert_eq!(&got, b"ping");
    assert!(start.elapsed() >= Duration::from_millis(90));
    t.join().unwrap();
}

/// The unparker (the mio Waker) interrupts a park with no timeout, from another
/// thread; an unpark before the park is not lost.
#[test]
fn unparker_interrupts_park() {
    let (mut driver, _handle) = magpie_io::driver::Driver::new().unwrap();
    let unpark = driver.unparker();
    unpark.unpark();
    let start = Instant::now();
    driver.park(); // returns at once: the unpark was before
    assert!(start.elapsed() < Duration::from_secs(5));
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        unpark.unpark();
    });
    driver.park();
    t.join().unwrap();
    // With nothing registered, a timed park blocks for (about) its timeout: no spin.
    let start = Instant::now();
    driver.park_timeout(Duration::from_millis(50));
    assert!(start.elapsed() >= Duration::from_millis(45));
}

/// Dropping a resource deregisters it.
#[test]
fn drop_deregisters() {
    run(async {
        let h = magpie_io::driver::Handle::try_current().unwrap();
        let n = h.num_registered();
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(h.num_registered(), n + 2);
        drop(a);
        drop(b);
        assert_eq!(h.num_registered(), n);
    });
}

/// Enter guards nest and restore.
#[test]
fn enter_nests() {
    use magpie_io::driver::{Driver, Handle};
    let (_d1, h1) = Driver::new().unwrap();
    let (_d2, h2) = Driver::new().unwrap();
    assert!(Handle::try_current().is_none());
    let g1 = h1.enter();
    let g2 = h2.enter();
    let cur = Handle::try_current().unwrap();
    cur.shutdown();
    assert!(h2.is_shutdown() && !h1.is_shutdown());
    drop(g2);
    assert!(!Handle::try_current().unwrap().is_shutdown());
    drop(g1);
    assert!(Handle::try_current().is_none());
}

/// A peer that closes makes a waiting reader see EOF (not hang).
#[test]
fn peer_drop_wakes_waiting_reader() {
    run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        common::spawn(async move {
            drop(b);
        });
        let mut buf = [0u8; 8];
        assert_eq!(a.read(&mut buf).await.unwrap(), 0);
    });
}
