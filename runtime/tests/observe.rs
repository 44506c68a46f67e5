// Observability: debug mode, the watchdog, unretrieved panics, the unhandled-panic
// policy, metrics, task dumps, core pinning and task hooks.

use magpie_runtime::runtime::{Builder, Runtime, TaskState};
use magpie_runtime::task::{self, JoinSet};
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A task leaves the live list just after waking its JoinHandle: give it a moment.
fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..400 {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn loc_str(l: &Location<'_>) -> String {
    format!("{}:{}", l.file(), l.line())
}

#[test]
fn blocking_task_panic_with_dropped_handle_does_not_vanish_or_crash() {
    // Reported to stderr (no runtime sink for the blocking pool); must not crash.
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        drop(task::spawn_blocking(|| panic!("blocking boom")));
        task::spawn_blocking(|| ()).await.unwrap();
    });
}

#[test]
fn metrics_count_polls_parks_and_alive_tasks() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    assert_eq!(m.num_workers(), 2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..1000 {
            set.spawn(async move { i });
        }
        while set.join_next().await.is_some() {}
    });
    let polls: u64 = (0..2).map(|i| m.worker_poll_count(i)).sum();
    assert!(polls >= 1000, "polls {polls}");
    // Workers park once idle.
    for _ in 0..200 {
        if (0..2).all(|i| m.worker_park_count(i) > 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!((0..2).all(|i| m.worker_park_count(i) > 0));
    // Idle now: every worker parked as often as it unparked, plus once (odd).
    for _ in 0..200 {
        if (0..2).all(|i| m.worker_park_unpark_count(i) % 2 == 1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..2 {
        let n = m.worker_park_unpark_count(i);
        assert_eq!(
            n,
            2 * m.worker_park_count(i) - 1,
            "worker {i}: parked, then as many unparks as parks"
        );
    }
    assert_eq!(rt.metrics().num_workers(), 2, "Runtime::metrics");
    assert!((0..2).any(|i| m.worker_total_busy_duration(i) > Duration::ZERO));
    assert_eq!(m.worker_overflow_count(0), 0);
    assert_eq!(m.global_queue_depth(), 0);
    assert!(wait_until(|| m.num_alive_tasks() == 0));

    // Alive tasks rise and fall.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(Mutex::new(rx));
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                task::spawn_blocking(move || {
                    let _ = rx.lock().unwrap().recv();
                })
                .await
                .unwrap()
            })
        })
        .collect();
    assert_eq!(m.num_alive_tasks(), 10);
    for _ in 0..10 {
        tx.send(()).unwrap();
    }
    rt.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(m.num_blocking_threads() >= 1);
    assert!(
        wait_until(|| m.num_alive_tasks() == 0),
        "{}",
        m.num_alive_tasks()
    );
}

#[test]
fn metrics_count_steals_under_imbalance() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    rt.block_on(async {
        // One task spawns many CPU-bound children onto its own worker's queue: the
        // other worker must steal to help.
        magpie_runtime::spawn(async {
            let mut hs = Vec::new();
            for _ in 0..200 {
                hs.push(magpie_runtime::spawn(async {
                    std::thread::sleep(Duration::from_micros(200));
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let steals: u64 = (0..2).map(|i| m.worker_steal_count(i)).sum();
    let ops: u64 = (0..2).map(|i| m.worker_steal_operations(i)).sum();
    assert!(steals > 0, "no steals");
    assert!(ops > 0 && ops <= steals, "ops {ops} steals {steals}");
}

#[test]
fn metrics_lifo_hits_and_current_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let m = rt.handle().metrics();
    rt.block_on(async {
        magpie_runtime::spawn(async {
            // Ping-pong through a oneshot-like channel: the woken receiver goes to the
            // LIFO slot.
            let (tx, mut rx) = magpie_sync::mpsc::channel::<u32>(1);
            let h = magpie_runtime::spawn(async move {
                let mut n = 0;
                while let Some(v) = rx.recv().await {
                    n += v;
                }
                n
            });
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
            drop(tx);
            h.await.unwrap()
        })
        .await
        .unwrap();
    });
    assert!(m.worker_lifo_hits(0) > 0);

    let ct = Builder::new_current_thread().build().unwrap();
    let m = ct.handle().metrics();
    assert_eq!(m.num_workers(), 1);
    ct.block_on(async {
        for _ in 0..100 {
            magpie_runtime::spawn(async {}).await.unwrap();
        }
    });
    assert!(m.worker_poll_count(0) >= 100);
    assert!(wait_until(|| m.num_alive_tasks() == 0));
}

#[test]
fn dump_lists_live_tasks_with_locations_and_states() {
    for debug in [false, true] {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .debug(debug)
            .build()
            .unwrap();
        let mut expected = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..3 {
            let loc = Location::caller();
            let h = rt.spawn(std::future::pending::<()>());
            expected.push((h.id(), format!("{}:{}", loc.file(), loc.line() + 1)));
            handles.push(h);
        }
        // Wait until each has been polled once (idle, not scheduled): a worker of a
        // loaded machine may take a while to get to them, and `since_last_poll` below
        // counts from that poll.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !rt
            .handle()
            .dump()
            .tasks()
            .iter()
            .all(|t| t.state() == TaskState::Idle)
        {
            assert!(std::time::Instant::now() < deadline, "tasks never polled");
            rt.block_on(task::yield_now());
        }
        std::thread::sleep(Duration::from_millis(50));
        let dump = rt.handle().dump();
        assert_eq!(dump.tasks().len(), 3, "{dump}");
        for (id, loc) in &expected {
            let t = dump
                .tasks()
                .iter()
                .find(|t| t.id() == *id)
                .expect("task listed");
            assert_eq!(&loc_str(t.spawned_at()), loc);
            assert_eq!(t.state(), TaskState::Idle, "{dump}");
            assert_eq!(t.since_last_poll().is_some(), debug);
            if debug {
                assert!(t.since_last_poll().unwrap() >= Duration::from_millis(40));
            }
        }
        let text = dump.to_string();
        assert!(text.contains("idle"), "{text}");
        // A running task shows as running.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let running = rt.spawn(async move {
            started_tx.send(()).unwrap();
            let _ = rx.recv_timeout(Duration::from_secs(5));
        });
        started_rx.recv().unwrap();
        let dump = rt.handle().dump();
        let t = dump
            .tasks()
            .iter()
            .find(|t| t.id() == running.id())
            .unwrap();
        assert_eq!(t.state(), TaskState::Running);
        tx.send(()).unwrap();
        for h in &handles {
            h.abort();
        }
        rt.block_on(async move {
            running.await.unwrap();
            for h in handles {
                assert!(h.await.unwrap_err().is_cancelled());
            }
        });
        assert!(wait_until(|| rt.handle().dump().tasks().is_empty()));
    }
}

#[test]
fn dump_shows_scheduled_tasks_on_current_thread() {
    let rt = Builder::new_current_thread().build().unwrap();
    // Spawned from outside while nobody drives the runtime: queued, not yet polled.
    let h = rt.spawn(async {});
    let dump = rt.handle().dump();
    assert_eq!(dump.tasks().len(), 1);
    assert_eq!(dump.tasks()[0].state(), TaskState::Scheduled);
    assert_eq!(dump.tasks()[0].id(), h.id());
    rt.block_on(h).unwrap();
}

#[cfg(target_os = "linux")]
fn affinity_of_current_thread() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let r = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        assert_eq!(r, 0);
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

#[cfg(target_os = "linux")]
#[test]
fn pin_workers_sets_affinity() {
    let allowed = affinity_of_current_thread();
    let n = allowed.len().min(2);
    // Pin to cores this process may use (the CI box may restrict them).
    let rt = Builder::new_multi_thread()
        .worker_threads(n)
        .worker_cores(allowed.clone())
        .build()
        .unwrap();
    let seen = rt.block_on(async move {
        let mut seen = Vec::new();
        for _ in 0..50 {
            let (w, aff) = magpie_runtime::spawn(async {
                (task::worker_index().unwrap(), affinity_of_current_thread())
            })
            .await
            .unwrap();
            seen.push((w, aff));
        }
        seen
    });
    for (w, aff) in seen {
        assert_eq!(aff, vec![allowed[w % allowed.len()]], "worker {w}");
    }

    // pin_workers(true): worker i on core i.
    if allowed.contains(&0) {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .pin_workers(true)
            .build()
            .unwrap();
        let aff = rt.block_on(async {
            magpie_runtime::spawn(async { affinity_of_current_thread() })
                .await
                .unwrap()
        });
        assert_eq!(aff, vec![0]);
    }
    // Not pinned by default.
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let aff = rt.block_on(async {
        magpie_runtime::spawn(async { affinity_of_current_thread() })
            .await
            .unwrap()
    });
    assert_eq!(aff, allowed);
}

#[test]
fn worker_index_on_and_off_workers() {
    assert_eq!(task::worker_index(), None);
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    rt.block_on(async {
        // block_on of a multi-thread runtime is not a worker.
        assert_eq!(task::worker_index(), None);
        for _ in 0..20 {
            let i = magpie_runtime::spawn(async { task::worker_index() })
                .await
                .unwrap();
            assert!(matches!(i, Some(0..=2)), "{i:?}");
        }
        let b = task::spawn_blocking(task::worker_index).await.unwrap();
        assert_eq!(b, None);
    });
    let ct = Runtime::new().unwrap();
    drop(ct);
    let ct = Builder::new_current_thread().build().unwrap();
    ct.block_on(async {
        let i = magpie_runtime::spawn(async { task::worker_index() })
            .await
            .unwrap();
        assert_eq!(i, Some(0));
    });
}

#[test]
fn hooks_are_called_the_right_number_of_times() {
    for mt in [false, true] {
        let spawned = Arc::new(AtomicUsize::new(0));
        let terminated = Arc::new(AtomicUsize::new(0));
        let before = Arc::new(AtomicUsize::new(0));
        let after = Arc::new(AtomicUsize::new(0));
        let locs = Arc::new(Mutex::new(Vec::new()));
        let mut b = if mt {
            Builder::new_multi_thread()
        } else {
            Builder::new_current_thread()
        };
        let (s, t, bp, ap, l) = (
            spawned.clone(),
            terminated.clone(),
            before.clone(),
            after.clone(),
            locs.clone(),
        );
        let rt = b
            .on_task_spawn(move |m| {
                s.fetch_add(1, Ordering::SeqCst);
                l.lock().unwrap().push(loc_str(m.spawned_at()));
            })
            .on_task_terminate(move |_| {
                t.fetch_add(1, Ordering::SeqCst);
            })
            .on_before_task_poll(move |_| {
                bp.fetch_add(1, Ordering::SeqCst);
            })
            .on_after_task_poll(move |_| {
                ap.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let loc = rt.block_on(async {
            let loc = Location::caller();
            let mut hs = Vec::new();
            for _ in 0..10 {
                hs.push(magpie_runtime::spawn(async {
                    // Two polls each.
                    task::yield_now().await;
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
            loc
        });
        assert_eq!(spawned.load(Ordering::SeqCst), 10);
        assert_eq!(terminated.load(Ordering::SeqCst), 10);
        assert_eq!(before.load(Ordering::SeqCst), 20);
        assert_eq!(after.load(Ordering::SeqCst), 20);
        let expected = format!("{}:{}", loc.file(), loc.line() + 3);
        assert!(
            locs.lock().unwrap().iter().all(|l| *l == expected),
            "{:?}",
            locs
        );
        // A cancelled task terminates too.
        let h = rt.spawn(std::future::pending::<()>());
        h.abort();
        rt.block_on(async { assert!(h.await.unwrap_err().is_cancelled()) });
        assert_eq!(spawned.load(Ordering::SeqCst), 11);
        assert_eq!(terminated.load(Ordering::SeqCst), 11);
    }
}

#[test]
fn spawn_paths_record_the_callers_location() {
    let rt = Builder::new_current_thread().build().unwrap();
    let locs = rt.block_on(async {
        let mut out = Vec::new();
        let here = Location::caller();
        let a = magpie_runtime::spawn(std::future::pending::<()>());
        let b = magpie_runtime::runtime::Handle::current().spawn(std::future::pending::<()>());
        let mut set = JoinSet::new();
        let c = set.spawn(std::future::pending::<()>());
        let dump = magpie_runtime::runtime::Handle::current().dump();
        for id in [a.id(), b.id(), c.id()] {
            let t = dump.tasks().iter().find(|t| t.id() == id).unwrap();
            out.push(t.spawned_at().line() - here.line());
        }
        a.abort();
        b.abort();
        out
    });
    assert_eq!(locs, vec![1, 2, 4]);
    let loc = Location::caller();
    let h = rt.spawn(std::future::pending::<()>());
    let dump = rt.handle().dump();
    let t = dump.tasks().iter().find(|t| t.id() == h.id()).unwrap();
    assert_eq!(t.spawned_at().line(), loc.line() + 1);
    assert_eq!(t.spawned_at().file(), loc.file());
}
