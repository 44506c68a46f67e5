//! Task names (`task::Builder::name`) in every report that names a task: slow poll,
//! stuck worker, unretrieved panic, task dumps, and the `TaskMeta` hooks receive; and
//! the builder's spawn paths (current runtime, a handle, the blocking pool, outside a
//! runtime).

use super::tests::Reports;
use crate::runtime::{Builder, Handle};
use crate::task;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn flavours() -> [Builder; 2] {
    let mut mt = Builder::new_multi_thread();
    mt.worker_threads(2);
    [Builder::new_current_thread(), mt]
}

#[test]
fn slow_poll_and_unretrieved_panic_reports_name_the_task() {
    for mut b in flavours() {
        let reports = Reports::default();
        let rt = b.debug(true).debug_sink(reports.sink()).build().unwrap();
        let unnamed = rt.block_on(async {
            task::Builder::new()
                .name("slowpoke")
                .spawn(async { std::thread::sleep(Duration::from_millis(150)) })
                .unwrap()
                .await
                .unwrap();
            let lost = task::Builder::new()
                .name("lost-cause")
                .spawn(async { panic!("named boom") })
                .unwrap();
            while !lost.is_finished() {
                task::yield_now().await;
            }
            drop(lost);
            // An unnamed task's report carries no name.
            let unnamed = crate::spawn(async { std::thread::sleep(Duration::from_millis(150)) });
            let id = unnamed.id();
            unnamed.await.unwrap();
            id
        });
        let slow = reports.matching("slow poll");
        let named = reports.matching("slow poll: task");
        assert!(
            named.iter().any(|l| l.contains("\"slowpoke\" (spawned at")),
            "{slow:?}"
        );
        let plain = format!("slow poll: task {unnamed} (spawned at");
        assert!(slow.iter().any(|l| l.contains(&plain)), "{slow:?}");
        let lost = reports.matching("named boom");
        assert_eq!(lost.len(), 1, "{:?}", reports.lines());
        assert!(lost[0].contains("\"lost-cause\""), "{}", lost[0]);
    }
}

#[test]
fn the_watchdog_names_the_stuck_task() {
    let reports = Reports::default();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .debug(true)
        .debug_sink(reports.sink())
        .watchdog_threshold(Duration::from_millis(100))
        .build()
        .unwrap();
    rt.block_on(async {
        task::Builder::new()
            .name("blocker")
            .spawn(async { std::thread::sleep(Duration::from_millis(600)) })
            .unwrap()
            .await
            .unwrap();
    });
    let w = reports.matching("watchdog");
    assert_eq!(w.len(), 1, "{:?}", reports.lines());
    assert!(w[0].contains("\"blocker\""), "{}", w[0]);
}

#[test]
fn dumps_and_hooks_see_the_name() {
    for mut b in flavours() {
        let spawned = Arc::new(Mutex::new(Vec::new()));
        let s2 = spawned.clone();
        let rt = b
            .on_task_spawn(move |m| s2.lock().unwrap().push(m.name().map(str::to_owned)))
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, rx) = magpie_sync::oneshot::channel::<()>();
            let h = task::Builder::new()
                .name("waiter")
                .spawn(async move { rx.await.ok() })
                .unwrap();
            let dump = Handle::current().dump();
            let t = dump.tasks().iter().find(|t| t.id() == h.id()).unwrap();
            assert_eq!(t.name(), Some("waiter"));
            assert!(dump.to_string().contains("\"waiter\""), "{dump}");
            tx.send(()).unwrap();
            h.await.unwrap();
        });
        let spawned = spawned.lock().unwrap();
        assert_eq!(spawned.as_slice(), [Some("waiter".to_owned())]);
    }
}

#[test]
fn builder_spawn_paths() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    // Outside a runtime: an error that says so, not a panic.
    let err = task::Builder::new().name("x").spawn(async {}).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
    let err = task::Builder::new().spawn_blocking(|| ()).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
    // With a handle, from outside.
    let h = task::Builder::new()
        .name("on")
        .spawn_on(async { task::id() }, rt.handle())
        .unwrap();
    let id = h.id();
    assert_eq!(rt.block_on(h).unwrap(), id);
    let b = task::Builder::new()
        .name("blocking")
        .spawn_blocking_on(|| 5, rt.handle())
        .unwrap();
    assert_eq!(rt.block_on(b).unwrap(), 5);
    let inside = rt.block_on(async {
        task::Builder::new()
            .spawn_blocking(|| 6)
            .unwrap()
            .await
            .unwrap()
    });
    assert_eq!(inside, 6);
}
