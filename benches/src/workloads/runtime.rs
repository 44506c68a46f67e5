//! The runtime itself for one instantiation: how to build it, the list of its workloads
//! in registry order, and the idle tasks of the memory rows.
//!
//! Compiled once per runtime crate (magpie, tokio) under `crate::on_magpie` and
//! `crate::on_tokio`, where `super::rt` names that crate; see the crate docs.

use super::rt;
use crate::{Entry, Flavor, Group};
use rt::runtime::{Builder, Runtime};

/// The runtime type of this instantiation.
pub type Rt = Runtime;

/// Builds a runtime of `flavor` with `workers` worker threads and every driver.
pub fn build(flavor: Flavor, workers: usize) -> Runtime {
    match flavor {
        Flavor::Multi => Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build multi-thread runtime"),
        Flavor::Current => Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build current-thread runtime"),
    }
}

/// Every workload of this runtime, in registry order.
pub fn entries() -> Vec<Entry<Runtime>> {
    use Flavor::*;
    use Group::*;
    macro_rules! e {
        ($name:ident, $fl:expr, $g:expr) => {
            Entry {
                name: stringify!($name),
                flavor: $fl,
                group: $g,
                run: super::$name,
            }
        };
    }
    vec![
        e!(spawn_many_local, Multi, Scheduler),
        e!(spawn_many_remote_idle, Multi, Scheduler),
        e!(spawn_many_remote_busy, Multi, Scheduler),
        e!(ping_pong, Multi, Scheduler),
        e!(yield_many, Multi, Scheduler),
        e!(chained_spawn, Multi, Scheduler),
        e!(remote_spawn, Multi, Scheduler),
        e!(spawn_blocking, Multi, Scheduler),
        e!(ct_spawn_many_local, Current, Scheduler),
        e!(ct_spawn_await_one, Current, Scheduler),
        e!(local_spawn_many, Current, Scheduler),
        e!(local_ping_pong, Current, Scheduler),
        e!(mpsc_contended_bounded, Multi, Sync),
        e!(mpsc_contended_bounded_full, Multi, Sync),
        e!(mpsc_contended_unbounded, Multi, Sync),
        e!(mpsc_uncontended_bounded, Multi, Sync),
        e!(mpsc_uncontended_unbounded, Multi, Sync),
        e!(mpsc_request_reply, Multi, Sync),
        e!(notify_waiters_10, Multi, Sync),
        e!(notify_waiters_100, Multi, Sync),
        e!(notify_waiters_500, Multi, Sync),
        e!(notify_one_10, Multi, Sync),
        e!(notify_one_100, Multi, Sync),
        e!(notify_one_500, Multi, Sync),
        e!(mutex_contended, Multi, Sync),
        e!(semaphore_contended, Multi, Sync),
        e!(timer_insert_cancel, Multi, Time),
        e!(timer_fire, Multi, Time),
        e!(fs_read_100mib, Multi, Fs),
        e!(fs_read_100mib_8k_reads, Multi, Fs),
    ]
}

/// Spawns `n` idle tasks (`std::future::pending`) from inside `block_on` and
/// returns their handles; the caller measures memory, then drops the runtime.
pub fn spawn_idle(rt: &Runtime, n: usize) -> Vec<rt::task::JoinHandle<()>> {
    let mut v = Vec::with_capacity(n);
    rt.block_on(async {
        for _ in 0..n {
            v.push(rt::spawn(std::future::pending::<()>()));
        }
    });
    v
}
