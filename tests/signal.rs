//! Signals on the real runtime. These tests send signals to the whole test process, so
//! they live in their own test binary; each test uses its own signal number, and
//! registers a listener (installing the handler) before raising it, since the default
//! action of these signals would end the process.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use magpie::runtime::Builder;
use magpie::signal::unix::{SignalKind, signal};
use magpie::time::timeout;

fn raise(signum: i32) {
    // SAFETY: kill(2) with our own pid and a valid signal number touches no memory.
    let rc = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(rc, 0, "kill failed: {}", io::Error::last_os_error());
}

const WAIT: Duration = Duration::from_secs(10);

#[magpie::test]
async fn two_listeners_both_receive_one_signal() {
    let mut a = signal(SignalKind::user_defined1()).unwrap();
    let mut b = signal(SignalKind::user_defined1()).unwrap();
    assert_eq!(a.kind().as_raw_value(), libc::SIGUSR1);
    raise(libc::SIGUSR1);
    // `a` waits for it...
    timeout(WAIT, a.recv())
        .await
        .expect("listener a missed SIGUSR1")
        .unwrap();
    // ...`b` was not waiting when it was broadcast, and still sees it.
    timeout(WAIT, b.recv())
        .await
        .expect("listener b missed SIGUSR1")
        .unwrap();
    // Nothing more is pending: both are now waiting again.
    assert!(
        timeout(Duration::from_millis(100), a.recv()).await.is_err(),
        "a got a second, phantom signal"
    );
    // A second delivery is seen by both again, and by a listener created now.
    let mut c = signal(SignalKind::user_defined1()).unwrap();
    raise(libc::SIGUSR1);
    for (name, l) in [("a", &mut a), ("b", &mut b), ("c", &mut c)] {
        timeout(WAIT, l.recv())
            .await
            .unwrap_or_else(|_| panic!("listener {name} missed the second SIGUSR1"))
            .unwrap();
    }
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_in_separate_tasks_all_wake() {
    let mut tasks = Vec::new();
    let (ready_tx, mut ready_rx) = magpie::sync::mpsc::unbounded_channel();
    for _ in 0..4 {
        let mut l = signal(SignalKind::window_change()).unwrap();
        let ready_tx = ready_tx.clone();
        tasks.push(magpie::spawn(async move {
            ready_tx.send(()).unwrap();
            l.recv().await
        }));
    }
    for _ in 0..4 {
        ready_rx.recv().await.unwrap();
    }
    raise(libc::SIGWINCH);
    for t in tasks {
        let got = timeout(WAIT, t)
            .await
            .expect("a task missed SIGWINCH")
            .unwrap();
        assert_eq!(got, Some(()));
    }
}

#[magpie::test]
async fn ctrl_c_receives_a_raised_sigint() {
    // Install the SIGINT handler first: without it, SIGINT would end the test process.
    let _guard = signal(SignalKind::interrupt()).unwrap();
    let mut ctrl_c = Box::pin(magpie::signal::ctrl_c());
    // `ctrl_c` starts listening when first polled: raise until it has seen one.
    let mut got = None;
    for _ in 0..100 {
        raise(libc::SIGINT);
        if let Ok(res) = timeout(Duration::from_millis(100), ctrl_c.as_mut()).await {
            got = Some(res);
            break;
        }
    }
    got.expect("ctrl_c never completed").unwrap();
}

#[magpie::test]
async fn child_signal_is_seen_when_a_child_exits() {
    let mut sigchld = signal(SignalKind::child()).unwrap();
    let status = magpie::process::Command::new("true")
        .status()
        .await
        .unwrap();
    assert!(status.success());
    timeout(WAIT, sigchld.recv())
        .await
        .expect("no SIGCHLD seen")
        .unwrap();
}

#[magpie::test]
async fn forbidden_and_out_of_range_signals_are_errors() {
    for signum in [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGSEGV,
    ] {
        let err = signal(SignalKind::from_raw(signum)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
        assert!(err.to_string().contains("forbidden"), "{err}");
    }
    for signum in [0, -1, 65, 1000] {
        let err = signal(SignalKind::from_raw(signum)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
    }
}

#[test]
fn signal_outside_a_runtime_is_an_error() {
    let err = signal(SignalKind::hangup()).unwrap_err();
    assert!(err.to_string().contains("magpie runtime"), "{err}");
    // ctrl_c too: its first poll fails, without blocking or panicking.
    let mut fut = pin!(magpie::signal::ctrl_c());
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("magpie runtime"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A listener outlives its runtime: `recv` returns `None` (also for a task that was
/// waiting in `recv` when the runtime shut down).
#[test]
fn recv_returns_none_after_the_runtime_shuts_down() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut sig = rt.block_on(async { signal(SignalKind::hangup()) }).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut waiting = rt.block_on(async { signal(SignalKind::hangup()) }).unwrap();
    rt.spawn(async move {
        let got = waiting.recv().await;
        tx.send(got).unwrap();
    });
    std::thread::sleep(Duration::from_millis(100));
    drop(rt);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(sig.poll_recv(&mut cx), Poll::Ready(None));
    // The spawned task was either woken with `None` or cancelled by the shutdown
    // (then the sender is dropped); it must not hang.
    match rx.recv_timeout(WAIT) {
        Ok(got) => assert_eq!(got, None),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
        Err(e) => panic!("waiting listener hung: {e}"),
    }
}

/// Two runtimes, two drivers, one process-wide pipe: a listener in each gets the
/// signal, and it still works after one of the runtimes is gone.
#[test]
fn listeners_in_two_runtimes_both_receive() {
    let build = || Builder::new_current_thread().enable_all().build().unwrap();
    let (rt1, rt2) = (build(), build());
    let mut l1 = rt1
        .block_on(async { signal(SignalKind::user_defined2()) })
        .unwrap();
    let mut l2 = rt2
        .block_on(async { signal(SignalKind::user_defined2()) })
        .unwrap();
    let (got_first, first) = std::sync::mpsc::channel();
    let t2 = std::thread::spawn(move || {
        rt2.block_on(async {
            timeout(WAIT, l2.recv())
                .await
                .expect("runtime 2 missed it")
                .unwrap();
            got_first.send(()).unwrap();
            // Second round: runtime 1 is gone by then.
            timeout(WAIT, l2.recv())
                .await
                .expect("runtime 2 missed the second signal")
                .unwrap();
        });
    });
    std::thread::sleep(Duration::from_millis(50));
    raise(libc::SIGUSR2);
    rt1.block_on(async {
        timeout(WAIT, l1.recv())
            .await
            .expect("runtime 1 missed it")
            .unwrap();
    });
    drop(l1);
    drop(rt1);
    // Both deliveries would coalesce into one if the second came before runtime 2
    // reported the first.
    first.recv_timeout(WAIT).unwrap();
    raise(libc::SIGUSR2);
    t2.join().unwrap();
}
