//! Every workload once on both runtimes at tiny sizes: proves they run and that each
//! one's own check (counter reached n, every message arrived, ...) passes.

use magpie_benches::{Size, on_magpie, on_tokio, registry};

#[test]
fn every_workload_runs_on_both_runtimes() {
    let workers = 2;
    for w in registry() {
        let m = on_magpie::build(w.flavor, workers);
        (w.magpie)(&m, Size::Smoke);
        drop(m);
        let t = on_tokio::build(w.flavor, workers);
        (w.tokio)(&t, Size::Smoke);
        drop(t);
    }
    magpie_benches::remove_fs_fixtures();
}

#[test]
fn idle_tasks_spawn_on_both_runtimes() {
    let m = on_magpie::build(magpie_benches::Flavor::Multi, 2);
    assert_eq!(on_magpie::spawn_idle(&m, 100).len(), 100);
    drop(m);
    let t = on_tokio::build(magpie_benches::Flavor::Multi, 2);
    assert_eq!(on_tokio::spawn_idle(&t, 100).len(), 100);
}
