//! Liveness: a task that yields, spends its budget or keeps waking itself never keeps
//! the drivers, other tasks or yielded tasks from running (issue 14, defects 1-3).

mod common;

use common::*;
use magpie_runtime::spawn;
use magpie_runtime::task::{self, yield_now};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// The `block_on` future spins on `yield_now` while a spawned task waits on a timer:
/// the loop must still poll the driver.
#[test]
fn block_on_yield_loop_lets_a_timer_fire() {
    for flavour in ["current_thread", "multi_thread"] {
        with_deadline(LIMIT, flavour, move || {
            let rt = rt_all(flavour, 2);
            rt.block_on(async {
                let flag = Arc::new(AtomicBool::new(false));
                let f = flag.clone();
                spawn(async move {
                    magpie_time::sleep(Duration::from_millis(20)).await;
                    f.store(true, Ordering::SeqCst);
                });
                while !flag.load(Ordering::SeqCst) {
                    yield_now().await;
                }
            });
        });
    }
}

/// The same with the timer in the `block_on` future itself, raced by a yield loop
/// in a spawned task that never ends.
#[test]
fn spinning_task_does_not_starve_the_block_on_timer() {
    with_deadline(LIMIT, "current_thread", || {
        let rt = ct_all();
        rt.block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            let spinner = spawn(async move {
                while !s.load(Ordering::SeqCst) {
                    yield_now().await;
                }
            });
            magpie_time::sleep(Duration::from_millis(20)).await;
            stop.store(true, Ordering::SeqCst);
            spinner.await.unwrap();
        });
    });
}

/// I/O: an `accept` in a spawned task completes while the `block_on` future yields.
#[test]
fn block_on_yield_loop_lets_io_progress() {
    with_deadline(LIMIT, "current_thread", || {
        let rt = ct_all();
        rt.block_on(async {
            let listener = magpie_io::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let accepted = Arc::new(AtomicBool::new(false));
            let a = accepted.clone();
            spawn(async move {
                listener.accept().await.unwrap();
                a.store(true, Ordering::SeqCst);
            });
            let client = std::thread::spawn(move || std::net::TcpStream::connect(addr));
            while !accepted.load(Ordering::SeqCst) {
                yield_now().await;
            }
            client.join().unwrap().unwrap();
        });
    });
}

/// Two tasks ping-pong over a channel on one worker; a third yields once. It must run
/// again within a bounded delay (defect 2: yielded tasks waited for every queue to be
/// empty).
#[test]
fn yielded_task_runs_while_others_ping_pong() {
    for workers in [1, 2] {
        with_deadline(LIMIT, "multi_thread", move || {
            let rt = mt_all(workers);
            rt.block_on(async {
                spawn(async {
                    let stop = Arc::new(AtomicBool::new(false));
                    let (tx_a, mut rx_a) = magpie_sync::mpsc::unbounded_channel::<u32>();
                    let (tx_b, mut rx_b) = magpie_sync::mpsc::unbounded_channel::<u32>();
                    let s = stop.clone();
                    let tb = tx_b.clone();
                    let ping = spawn(async move {
                        tb.send(0).unwrap();
                        while let Some(n) = rx_a.recv().await {
                            if s.load(Ordering::SeqCst) {
                                break;
                            }
                            tb.send(n + 1).unwrap();
                        }
                    });
                    let s = stop.clone();
                    let pong = spawn(async move {
                        while let Some(n) = rx_b.recv().await {
                            if s.load(Ordering::SeqCst) || tx_a.send(n + 1).is_err() {
                                break;
                            }
                        }
                    });
                    let yielder = spawn(async {
                        yield_now().await;
                    });
                    yielder.await.unwrap();
                    stop.store(true, Ordering::SeqCst);
                    drop(tx_b);
                    ping.await.unwrap();
                    pong.await.unwrap();
                })
                .await
                .unwrap();
            });
        });
    }
}

/// A task that spends its budget every poll (a busy channel loop) still lets a task
/// that yielded run, on both flavours.
#[test]
fn budget_spinner_does_not_starve_a_yielder() {
    for flavour in ["current_thread", "multi_thread"] {
        with_deadline(LIMIT, flavour, move || {
            let rt = rt_all(flavour, 1);
            rt.block_on(async {
                spawn(async {
                    let stop = Arc::new(AtomicBool::new(false));
                    let s = stop.clone();
                    let busy = spawn(async move {
                        let (tx, mut rx) = magpie_sync::mpsc::unbounded_channel::<u32>();
                        while !s.load(Ordering::SeqCst) {
                            tx.send(1).unwrap();
                            rx.recv().await;
                        }
                    });
                    let ran = Arc::new(AtomicUsize::new(0));
                    let r = ran.clone();
                    let yielder = spawn(async move {
                        for _ in 0..10 {
                            yield_now().await;
                            r.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                    yielder.await.unwrap();
                    assert_eq!(ran.load(Ordering::SeqCst), 10);
                    stop.store(true, Ordering::SeqCst);
                    busy.await.unwrap();
                })
                .await
                .unwrap();
            });
        });
    }
}

/// `block_in_place` runs its closure with a fresh budget: sync primitives used from a
/// task after 128 operations still make progress inside it (defect 3).
#[test]
fn block_in_place_runs_without_the_callers_budget() {
    with_deadline(LIMIT, "multi_thread", || {
        let rt = mt_all(2);
        rt.block_on(async {
            spawn(async {
                // Spend the task's whole budget on ready receives.
                let (tx, mut rx) = magpie_sync::mpsc::unbounded_channel::<u32>();
                for i in 0..u32::from(magpie_base::coop::INITIAL_BUDGET) {
                    tx.send(i).unwrap();
                    rx.recv().await;
                }
                assert!(!magpie_base::coop::has_budget_remaining());
                task::block_in_place(|| {
                    assert!(
                        magpie_base::coop::has_budget_remaining(),
                        "the closure inherited the caller's spent budget"
                    );
                });
                // The caller's budget is its own again afterwards.
                assert!(!magpie_base::coop::has_budget_remaining());
            })
            .await
            .unwrap();
        });
    });
}

/// `block_in_place` reuses threads: a loop of calls does not grow the process by a
/// thread stack per call (defect 3: every call left an exited but never joined thread,
/// whose stack stays mapped, in `shared.threads`).
#[cfg(target_os = "linux")]
#[test]
fn block_in_place_loop_reuses_threads() {
    fn vm_size_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
    const CALLS: usize = 1_200;
    with_deadline(Duration::from_secs(60), "multi_thread", || {
        let rt = mt_all(2);
        // Warm up: the pool's first threads and their malloc arenas.
        let run = |n: usize| {
            rt.block_on(async move {
                spawn(async move {
                    for _ in 0..n {
                        task::block_in_place(|| std::hint::black_box(1));
                        yield_now().await;
                    }
                })
                .await
                .unwrap();
            })
        };
        run(20);
        let before = vm_size_kib();
        run(CALLS);
        let grown_mib = vm_size_kib().saturating_sub(before) / 1024;
        // A leak keeps one 2 MiB stack per call (~2.4 GiB here). Live pool threads
        // may add malloc arenas (64 MiB each, at most 8 per core), hence the margin.
        assert!(
            grown_mib < 1_536,
            "VmSize grew by {grown_mib} MiB over {CALLS} block_in_place calls"
        );
    });
}

/// `JoinSet::try_join_next` is not an async operation: a sweep of many finished
/// tasks returns every one of them, whatever budget the calling task has left (it
/// used to return `None` after ~128).
#[test]
fn try_join_next_sweeps_every_finished_task() {
    for flavour in ["current_thread", "multi_thread"] {
        with_deadline(LIMIT, flavour, move || {
            let rt = rt_all(flavour, 2);
            rt.block_on(async {
                let mut set = magpie_runtime::task::JoinSet::new();
                for i in 0..1_000u32 {
                    set.spawn(async move { i });
                }
                // Let them all finish.
                while !set.is_empty()
                    && magpie_runtime::runtime::Handle::current().num_alive_tasks() > 0
                {
                    yield_now().await;
                }
                let mut got = 0;
                while let Some(r) = set.try_join_next() {
                    r.unwrap();
                    got += 1;
                }
                assert_eq!(got, 1_000, "{flavour}: try_join_next stopped early");
            });
        });
    }
}

/// A park hook that wakes the `block_on` future, or a task, from the driving thread
/// itself: the thread must not then block in the driver (nothing would unpark it; with
/// all drivers on and no timer, that was a hang).
#[test]
fn a_park_hook_that_wakes_work_does_not_strand_it() {
    with_deadline(LIMIT, "park hook wakes block_on", || {
        let notify = Arc::new(magpie_sync::Notify::new());
        let n2 = notify.clone();
        let rt = magpie_runtime::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || n2.notify_one())
            .build()
            .unwrap();
        rt.block_on(notify.notified());
    });
    with_deadline(LIMIT, "park hook wakes a task", || {
        let notify = Arc::new(magpie_sync::Notify::new());
        let n2 = notify.clone();
        let rt = magpie_runtime::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || n2.notify_one())
            .build()
            .unwrap();
        rt.block_on(async move {
            spawn(async move { notify.notified().await }).await.unwrap();
        });
    });
    with_deadline(LIMIT, "park hook wakes a task on a worker", || {
        let notify = Arc::new(magpie_sync::Notify::new());
        let n2 = notify.clone();
        let rt = magpie_runtime::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .on_thread_park(move || n2.notify_one())
            .build()
            .unwrap();
        rt.block_on(async move {
            spawn(async move { notify.notified().await }).await.unwrap();
        });
    });
}

/// A current-thread runtime with its clock paused, and a Unix socket pair whose peer
/// end writes one byte (at virtual time 0) from a task once spawned by `write_soon`.
fn paused_runtime_and_socket() -> (
    magpie_runtime::runtime::Runtime,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixStream,
) {
    let rt = magpie_runtime::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let (theirs, ours) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    (rt, theirs, ours)
}

/// Spawns the peer's write, keeping the peer open well past every deadline below.
fn write_soon(mut theirs: std::os::unix::net::UnixStream) {
    use std::io::Write;
    spawn(async move {
        theirs.write_all(b"x").unwrap();
        magpie_time::sleep(Duration::from_secs(100)).await;
    });
}

/// Waits for `ours` to be readable under a 5 s timeout: whether it was, and the virtual
/// time that passed.
async fn readable_within_5s(ours: magpie_io::net::UnixStream) -> (bool, Duration) {
    let start = magpie_time::Instant::now();
    let r = magpie_time::timeout(Duration::from_secs(5), ours.readable()).await;
    (r.is_ok(), start.elapsed())
}

/// With a paused clock, an I/O event that wakes the `block_on` future must stop the
/// clock from auto-advancing: the data arrived at virtual time 0, so no virtual time
/// may pass (the time driver advances only when nothing was woken by its poll).
#[test]
fn paused_clock_does_not_jump_past_io_that_woke_block_on() {
    with_deadline(LIMIT, "paused clock and I/O", || {
        let (rt, theirs, ours) = paused_runtime_and_socket();
        rt.block_on(async {
            let ours = magpie_io::net::UnixStream::from_std(ours).unwrap();
            write_soon(theirs);
            let (ok, elapsed) = readable_within_5s(ours).await;
            assert!(ok, "the readiness lost to the timer");
            assert_eq!(elapsed, Duration::ZERO, "the clock jumped");
        });
    });
}

/// The same for a task woken by I/O on the driving thread (queued locally): the paused
/// clock must not jump past the event that woke it.
#[test]
fn paused_clock_does_not_jump_past_io_that_woke_a_task() {
    with_deadline(LIMIT, "paused clock and I/O in a task", || {
        let (rt, theirs, ours) = paused_runtime_and_socket();
        rt.block_on(async {
            let ours = magpie_io::net::UnixStream::from_std(ours).unwrap();
            let reader = spawn(readable_within_5s(ours));
            write_soon(theirs);
            let (ok, elapsed) = reader.await.unwrap();
            assert!(ok, "the readiness lost to the timer");
            assert_eq!(elapsed, Duration::ZERO, "the clock jumped");
        });
    });
}
