//! `magpie_io::unix::AsyncFd` over a pipe and an eventfd, checking tokio's documented
//! behaviour: guards, `try_io` clearing readiness on `WouldBlock`, `clear_ready`,
//! `retain_ready`, several waiters, `into_inner`, and the errors.

mod common;

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};

use common::{CountWaker, run, spawn, wait_until, yield_now};
use magpie_io::Interest;
use magpie_io::unix::AsyncFd;

/// A non-blocking pipe: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is valid for writes of two ints; pipe2 fills it on success.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both fds were just created by pipe2 and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn eventfd() -> OwnedFd {
    // SAFETY: plain syscall; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0, "eventfd: {}", io::Error::last_os_error());
    // SAFETY: `fd` was just created and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length; `fd` is open for the call.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn write_fd(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length; `fd` is open for the call.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[test]
fn pipe_readable_guard_try_io_reads_then_clears_on_would_block() {
    run(async {
        let (r, w) = pipe();
        let r = AsyncFd::new(r).unwrap();
        let w = AsyncFd::with_interest(w, Interest::WRITABLE).unwrap();
        let mut guard = w.writable().await.unwrap();
        assert!(guard.ready().is_writable());
        let n = guard
            .try_io(|fd| write_fd(fd.as_raw_fd(), b"pipe"))
            .unwrap()
            .unwrap();
        assert_eq!(n, 4);
        let mut buf = [0u8; 16];
        let mut guard = r.readable().await.unwrap();
        assert!(guard.ready().is_readable());
        let n = guard
            .try_io(|fd| read_fd(fd.as_raw_fd(), &mut buf))
            .expect("data was there")
            .unwrap();
        assert_eq!(&buf[..n], b"pipe");
        // Empty now: the read returns WouldBlock, try_io clears and says so.
        assert!(
            guard
                .try_io(|fd| read_fd(fd.as_raw_fd(), &mut buf))
                .is_err()
        );
        // Cleared: not ready until the next write.
        let count = Arc::new(CountWaker::default());
        let waker = Waker::from(count.clone());
        assert!(
            r.poll_read_ready(&mut Context::from_waker(&waker))
                .is_pending()
        );
        write_fd(w.as_raw_fd(), b"!").unwrap();
        wait_until("the read-ready wake", || count.0.load(Ordering::SeqCst) > 0).await;
        let guard = poll_fn(|cx| r.poll_read_ready(cx)).await.unwrap();
        assert!(guard.ready().is_readable());
    });
}

#[test]
fn clear_ready_waits_for_a_new_event_and_retain_ready_keeps_it() {
    run(async {
        let (r, w) = pipe();
        let r = AsyncFd::new(r).unwrap();
        write_fd(w.as_raw_fd(), b"ab").unwrap();
        // retain_ready: the next wait returns at once.
        r.readable().await.unwrap().retain_ready();
        // clear_ready: edge-triggered, so the data still in the pipe does not count.
        r.readable().await.unwrap().clear_ready();
        assert!(
            r.poll_read_ready(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        // The data is still there for a direct read.
        assert_eq!(read_fd(r.as_raw_fd(), &mut [0u8; 4]).unwrap(), 2);
    });
}

#[test]
fn eventfd_wakes_every_waiting_task() {
    run(async {
        let efd = Arc::new(AsyncFd::new(eventfd()).unwrap());
        let woken = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (efd, woken) = (efd.clone(), woken.clone());
            spawn(async move {
                let guard = efd.readable().await.unwrap();
                assert!(guard.ready().is_readable());
                woken.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..3 {
            yield_now().await;
        }
        write_fd(efd.as_raw_fd(), &3u64.to_ne_bytes()).unwrap();
        wait_until("all four readable() calls", || {
            woken.load(Ordering::SeqCst) == 4
        })
        .await;
        let mut buf = [0u8; 8];
        let n = efd
            .async_io(Interest::READABLE, |fd| read_fd(fd.as_raw_fd(), &mut buf))
            .await
            .unwrap();
        assert_eq!(n, 8);
        assert_eq!(u64::from_ne_bytes(buf), 3);
        // Counter drained: try_io reads WouldBlock, which clears readiness ...
        assert!(
            efd.try_io(Interest::READABLE, |fd| read_fd(fd.as_raw_fd(), &mut buf))
                .is_err()
        );
        // ... and then does not even call the closure.
        let r = efd.try_io(Interest::READABLE, |_| -> io::Result<()> {
            panic!("called while not ready")
        });
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WouldBlock);
    });
}

#[test]
fn mut_guards_give_mutable_access() {
    run(async {
        let (r, w) = pipe();
        let mut w = AsyncFd::new(w).unwrap();
        let mut guard = w.writable_mut().await.unwrap();
        let n = guard
            .try_io(|fd| write_fd(fd.get_mut().as_raw_fd(), b"m"))
            .unwrap()
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(read_fd(r.as_raw_fd(), &mut [0u8; 2]).unwrap(), 1);
    });
}

#[test]
fn into_inner_deregisters_and_keeps_the_fd_open() {
    run(async {
        let handle = magpie_io::driver::Handle::try_current().unwrap();
        let before = handle.num_registered();
        let (r, w) = pipe();
        let r = AsyncFd::new(r).unwrap();
        assert_eq!(handle.num_registered(), before + 1);
        let fd: OwnedFd = r.into_inner();
        assert_eq!(handle.num_registered(), before);
        write_fd(w.as_raw_fd(), b"x").unwrap();
        assert_eq!(read_fd(fd.as_raw_fd(), &mut [0u8; 2]).unwrap(), 1);
        // Dropping an AsyncFd deregisters too.
        drop(AsyncFd::new(fd).unwrap());
        assert_eq!(handle.num_registered(), before);
    });
}

#[test]
fn a_regular_file_cannot_be_registered() {
    run(async {
        let file = std::fs::File::open("/proc/self/status")
            .or_else(|_| std::fs::File::open("/etc/hostname"))
            .unwrap();
        let err = AsyncFd::try_new(file).unwrap_err();
        let (file, cause) = err.into_parts();
        assert_eq!(cause.raw_os_error(), Some(libc::EPERM));
        // The file came back, still usable.
        assert!(file.metadata().is_ok());
        let err = AsyncFd::new(file).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    });
}

#[test]
fn outside_a_runtime_is_an_error() {
    let (r, _w) = pipe();
    let err = AsyncFd::new(r).unwrap_err();
    assert!(err.to_string().contains("enable_io"), "{err}");
}
