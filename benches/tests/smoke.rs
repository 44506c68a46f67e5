//! Every workload once on the three runtimes at tiny sizes: proves they run and that
//! each one's own check (counter reached n, every message arrived, ...) passes.

use std::time::Duration;

use magpie_benches::{Flavor, Size, on_magpie, on_smol, on_tokio, registry};

/// Aborts the test process if a workload hangs (a lost wake-up would otherwise stall CI
/// until its global timeout). The whole file takes well under a second in release
/// and a few seconds in debug.
fn deadline(secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!("smoke test still running after {secs} s: a workload hangs");
        std::process::abort();
    });
}

#[test]
fn every_workload_runs_on_every_runtime() {
    deadline(120);
    let workers = 2;
    for w in registry() {
        // Names the workload in the output of a run that the deadline aborts.
        eprintln!("smoke: {}", w.name);
        let m = on_magpie::build(w.flavor, workers);
        (w.magpie)(&m, Size::Smoke);
        drop(m);
        let t = on_tokio::build(w.flavor, workers);
        (w.tokio)(&t, Size::Smoke);
        drop(t);
        eprintln!("smoke: {} on smol", w.name);
        let s = on_smol::build(w.flavor, workers);
        match w.smol {
            Ok(run) => drop(run(&s, Size::Smoke)),
            Err(why) => assert!(!why.is_empty(), "{}: smol n/a without a reason", w.name),
        }
        drop(s);
    }
    magpie_benches::remove_fs_fixtures();
}

#[test]
fn registry_names_are_unique_and_paired() {
    let names: Vec<_> = registry().iter().map(|w| w.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate workload name");
    assert!(names.contains(&"spawn_many_local") && names.contains(&"timer_fire"));
}

#[test]
fn idle_tasks_spawn_on_every_runtime() {
    deadline(120);
    let m = on_magpie::build(Flavor::Multi, 2);
    assert_eq!(on_magpie::spawn_idle(&m, 100).len(), 100);
    drop(m);
    let t = on_tokio::build(Flavor::Multi, 2);
    assert_eq!(on_tokio::spawn_idle(&t, 100).len(), 100);
    drop(t);
    let s = on_smol::build(Flavor::Multi, 2);
    assert_eq!(on_smol::spawn_idle(&s, 100).len(), 100);
}
