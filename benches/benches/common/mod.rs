//! Shared by the criterion bench files: registers every selected workload as a group
//! `<workload>` with the functions `magpie`, `tokio` and, where smol has the workload,
//! `smol` (ids `workload/magpie`, `workload/tokio`, `workload/smol`).
//! Each workload times itself (setup and teardown left out), hence
//! `iter_custom`.

use std::time::Duration;

use criterion::Criterion;
use magpie_benches::{Size, Workload, on_magpie, on_smol, on_tokio, registry, workers};

pub fn bench_selected(c: &mut Criterion, pick: impl Fn(&Workload) -> bool) {
    let n = workers();
    for w in registry().into_iter().filter(|w| pick(w)) {
        let mut g = c.benchmark_group(w.name);
        g.sample_size(20).warm_up_time(Duration::from_millis(500));
        {
            let rt = on_magpie::build(w.flavor, n);
            g.bench_function("magpie", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| (w.magpie)(&rt, Size::Full)).sum())
            });
        }
        {
            let rt = on_tokio::build(w.flavor, n);
            g.bench_function("tokio", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| (w.tokio)(&rt, Size::Full)).sum())
            });
        }
        if let Ok(f) = w.smol {
            let rt = on_smol::build(w.flavor, n);
            g.bench_function("smol", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| f(&rt, Size::Full)).sum())
            });
        }
        g.finish();
    }
}
