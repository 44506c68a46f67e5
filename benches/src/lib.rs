//! Workloads shared by the criterion benches, the `compare` runner and the smoke test.
//!
//! Every workload is written once, as plain functions in the files under
//! `src/workloads/` (`sched.rs`, `sync.rs`, `time.rs`, `fs.rs`, and `runtime.rs` for
//! building the runtime and listing the workloads), against a module alias `rt` and
//! paths that magpie and tokio share (`rt::spawn`, `rt::sync::oneshot`,
//! `rt::time::sleep`, ...). Those files are compiled twice, by `#[path]` modules:
//! [`on_magpie`] (`use magpie as rt;`) and [`on_tokio`] (`use tokio as rt;`), so both
//! runtimes run exactly the same code. [`on_smol`] is the third peer, written
//! separately because smol's API differs (an executor value instead of an ambient
//! runtime, async-channel, async-lock, event-listener, async-io's `Timer`); a workload
//! smol has no equivalent for says why. [`registry`] pairs the three by name.
//!
//! Each workload function takes the runtime (built once per workload, outside the timed
//! region) and a [`Size`], runs one iteration, checks its result (a counter reached `n`,
//! every message arrived, ...) with `assert!`, and returns the time of the measured part.
//! Measuring inside the function lets a workload leave setup and teardown out (for
//! instance the background tasks of `spawn_many_remote_busy`, which must not keep
//! spinning while the other runtime is measured).
//!
//! Parameters follow tokio's own benches (`benches/rt_multi_threaded.rs`,
//! `rt_current_thread.rs`, `spawn.rs`, `sync_mpsc.rs`, `sync_notify.rs`,
//! `sync_semaphore.rs`, `sync_mutex.rs`, `time_timeout.rs`) so that numbers can be
//! compared with theirs; see `docs/benchmarks.md` for the table.

use std::time::Duration;

pub mod alloc;
pub mod io;
pub mod on_magpie;
pub mod on_smol;
pub mod on_tokio;

/// Which scheduler flavour a workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `Builder::new_multi_thread().worker_threads(workers())`.
    Multi,
    /// `Builder::new_current_thread()`.
    Current,
}

/// Full sizes (tokio's parameters) or tiny ones for the smoke test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// The sizes tokio's benches use.
    Full,
    /// Tiny sizes: prove the workload runs and checks its result.
    Smoke,
}

impl Size {
    /// `full` at [`Size::Full`], `smoke` at [`Size::Smoke`].
    pub fn pick(self, full: usize, smoke: usize) -> usize {
        match self {
            Size::Full => full,
            Size::Smoke => smoke,
        }
    }
}

/// The area a workload belongs to (criterion bench file, docs section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Scheduler and task paths (`rt_multi_threaded`, `rt_current_thread`).
    Scheduler,
    /// Channels, locks, Notify, Semaphore.
    Sync,
    /// Timers.
    Time,
    /// Files (`magpie::fs` vs `tokio::fs`).
    Fs,
}

/// Number of worker threads for both runtimes: `MAGPIE_BENCH_WORKERS` if set, else the
/// machine's available parallelism.
pub fn workers() -> usize {
    if let Some(n) = std::env::var("MAGPIE_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One workload as a function of its runtime.
pub type WorkFn<R> = fn(&R, Size) -> Duration;

/// One entry of a runtime's workload list.
pub struct Entry<R> {
    /// Name (the same on every runtime).
    pub name: &'static str,
    /// Scheduler flavour it needs.
    pub flavor: Flavor,
    /// Area.
    pub group: Group,
    /// The workload.
    pub run: WorkFn<R>,
}

/// A workload on the three runtimes.
pub struct Workload {
    /// Name, e.g. `spawn_many_local`.
    pub name: &'static str,
    /// Scheduler flavour.
    pub flavor: Flavor,
    /// Area.
    pub group: Group,
    /// Its magpie instantiation.
    pub magpie: WorkFn<on_magpie::Rt>,
    /// Its tokio instantiation.
    pub tokio: WorkFn<on_tokio::Rt>,
    /// smol's variant, or why smol cannot run it (`Err("no LocalSet ...")`).
    pub smol: Result<WorkFn<on_smol::Rt>, &'static str>,
}

/// Every workload, magpie, tokio and smol side by side, in a fixed order.
pub fn registry() -> Vec<Workload> {
    let m = on_magpie::entries();
    let t = on_tokio::entries();
    let s = on_smol::entries();
    assert_eq!(m.len(), t.len());
    assert_eq!(m.len(), s.len());
    m.into_iter()
        .zip(t)
        .zip(s)
        .map(|((m, t), (s_name, s))| {
            assert_eq!(m.name, t.name);
            assert_eq!(m.name, s_name);
            Workload {
                name: m.name,
                flavor: m.flavor,
                group: m.group,
                magpie: m.run,
                tokio: t.run,
                smol: s,
            }
        })
        .collect()
}

/// The file the fs workloads read: 100 MiB (1 MiB at [`Size::Smoke`]) in the temp
/// directory, written once per process (byte `i` is `i % 253`); returns its path and
/// length. [`remove_fs_fixtures`] deletes it.
pub fn fs_fixture(size: Size) -> (&'static std::path::Path, usize) {
    use std::sync::OnceLock;
    static FULL: OnceLock<(std::path::PathBuf, usize)> = OnceLock::new();
    static SMOKE: OnceLock<(std::path::PathBuf, usize)> = OnceLock::new();
    let (cell, len) = match size {
        Size::Full => (&FULL, 100 << 20),
        Size::Smoke => (&SMOKE, 1 << 20),
    };
    let (p, l) = cell.get_or_init(|| {
        let path = std::env::temp_dir().join(format!(
            "magpie-bench-fs-{}-{}",
            len >> 20,
            std::process::id()
        ));
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).expect("write the fs fixture");
        (path, len)
    });
    (p.as_path(), *l)
}

/// Removes the fs fixtures this process wrote (call at exit).
pub fn remove_fs_fixtures() {
    for mib in [1, 100] {
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("magpie-bench-fs-{mib}-{}", std::process::id())),
        );
    }
}

/// Median of `v` (sorted in place); zero when empty.
pub fn median(v: &mut [Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2
    }
}
