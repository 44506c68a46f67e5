//! `fs` workloads on magpie and tokio (see `magpie_benches` for each workload).
//! Run with `cargo bench -p magpie-benches --bench fs`; the comparison runner `compare`
//! runs the same workloads interleaved.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use magpie_benches::Group;

fn benches(c: &mut Criterion) {
    common::bench_selected(c, |w| w.group == Group::Fs);
    magpie_benches::remove_fs_fixtures();
}

criterion_group!(group, benches);
criterion_main!(group);
