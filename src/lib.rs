//! # magpie
//!
//! An async runtime for Rust server applications, with the model Python's asyncio made
//! familiar — an event loop, tasks you can cancel and inspect, `gather`, `wait`,
//! `sleep`, `timeout`, running blocking work in an executor — on a multi-threaded
//! work-stealing scheduler.
//!
//! ```
//! #[magpie::main]
//! async fn main() {
//!     let task = magpie::spawn(async { 6 * 7 });
//!     assert_eq!(task.await.unwrap(), 42);
//!
//!     // asyncio's Task.cancel(): abort a task and see that it was cancelled.
//!     let forever = magpie::spawn(std::future::pending::<()>());
//!     forever.abort();
//!     assert!(forever.await.unwrap_err().is_cancelled());
//! }
//! ```
//!
//! | asyncio                         | magpie                                       |
//! |---------------------------------|----------------------------------------------|
//! | `asyncio.run(main())`           | [`run`]`(main())` or `#[magpie::main]`       |
//! | `asyncio.create_task(coro)`     | [`spawn`]`(fut)` → [`task::JoinHandle`]      |
//! | `task.cancel()` / `task.done()` | `handle.abort()` / `handle.is_finished()`    |
//! | `task.cancelled()`, `exception()` | [`task::JoinError`]`::is_cancelled / is_panic` |
//! | `loop.run_in_executor(None, f)` | [`task::spawn_blocking`]`(f)`                |
//! | `await asyncio.sleep(0)`        | [`task::yield_now`]`().await`                |
//! | `asyncio.sleep(s)`, `wait_for`  | [`time::sleep`], [`time::timeout`]           |
//! | `asyncio.Queue`, `Lock`, `Event`, `Semaphore` | [`sync::mpsc`], [`sync::Mutex`], [`sync::Event`], [`sync::Semaphore`] |
//! | `gather(a, b)`, `gather(*aws)`  | [`gather!`]`(a, b)`, [`gather_all`]`(aws)` (`try_` forms stop at the first error); tokio's [`join!`], [`try_join!`] |
//! | `wait(aws, return_when=...)`    | [`wait`]`(handles, `[`ReturnWhen`]`::..)`, [`wait_timeout`] |
//! | `as_completed(aws)`             | [`as_completed`]`(aws)` (a `Stream`)          |
//! | `TaskGroup()`, `shield(aw)`     | [`task::TaskGroup`], [`shield`]               |
//! | `contextvars.ContextVar`        | [`task_local!`], [`task::LocalKey`]           |
//! | one event loop, non-thread-safe task state | [`runtime::LocalRuntime`] / `#[magpie::main(flavor = "local")]`, [`task::spawn_local`], [`task::LocalSet`] |
//!
//! The full guide is `docs/asyncio.md` in the repository.
//!
//! Cargo features (all off by default): `hyper` adds `magpie::hyper` (hyper 1.x
//! on magpie: executor, timer, I/O adapters, `serve`, `Client`); `tracing` gives every task a `tracing`
//! span entered around each of its polls (off, no code is compiled in for it).
//!
//! The crates behind the facade: `magpie-runtime` (tasks, schedulers, blocking pool),
//! `magpie-time` (timer wheel), `magpie-sync` (channels and locks, usable under any
//! executor), `magpie-macros`. See `docs/architecture.md` in the repository.
#![warn(missing_docs)]

pub use magpie_macros::{main, test};
pub use magpie_runtime::spawn;
pub use magpie_runtime::task::shield;
pub use magpie_runtime::task_local;
pub use magpie_sync::{
    ReturnWhen, as_completed, gather, gather_all, join, pin, select, try_gather, try_gather_all,
    try_join, wait,
};

/// Building and running a runtime (tokio-compatible names).
pub mod runtime {
    pub use magpie_runtime::runtime::{
        Builder, Dump, EnterGuard, Handle, LocalRuntime, Runtime, RuntimeFlavor, RuntimeMetrics,
        TaskDump, TaskMeta, TaskState, TryCurrentError, UnhandledPanic, is_rt_shutdown_err,
    };
}

/// Tasks: spawning, joining, cancelling, yielding, blocking work.
pub mod task {
    pub use magpie_runtime::spawn;
    pub use magpie_runtime::task::{
        AbortHandle, AccessError, Builder, GroupError, GroupJoin, Id, JoinError, JoinHandle,
        JoinSet, LocalEnterGuard, LocalKey, LocalSet, RunUntil, Shield, TaskFailure, TaskGroup,
        TaskLocalFuture, Unconstrained, YieldNow, block_in_place, consume_budget, coop, id, shield,
        spawn_blocking, spawn_local, try_id, unconstrained, worker_index, yield_now,
    };
}

/// Networking: TCP, UDP and Unix sockets on the runtime's shared I/O driver.
pub mod net {
    pub use magpie_io::net::*;
}

/// Unix signals: [`signal::ctrl_c`] and listeners for any signal
/// ([`signal::unix::signal`]). Every listener sees every delivery made after it was
/// created.
///
/// ```
/// use magpie::signal::unix::{signal, SignalKind};
///
/// magpie::run(async {
///     // Listen first (this installs the handler), then have SIGUSR1 sent to us.
///     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
///     let kill = std::process::Command::new("kill")
///         .args(["-USR1", &std::process::id().to_string()])
///         .status()
///         .unwrap();
///     assert!(kill.success());
///     assert_eq!(usr1.recv().await, Some(()));
/// });
/// ```
pub mod signal {
    pub use magpie_io::signal::{ctrl_c, unix};
}

/// Child processes: [`process::Command`] (std's, plus `kill_on_drop`) spawns a
/// [`process::Child`] that is waited for asynchronously, with async stdio pipes. Dropped
/// children are reaped, never left as zombies.
///
/// ```
/// use magpie::process::Command;
///
/// magpie::run(async {
///     let out = Command::new("echo").arg("hello").output().await.unwrap();
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"hello\n");
///
///     let status = Command::new("sh").args(["-c", "exit 3"]).status().await.unwrap();
///     assert_eq!(status.code(), Some(3));
/// });
/// ```
pub mod process {
    pub use magpie_io::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
}

pub mod io;
pub mod stream;

/// Files and directories: `std::fs` on the runtime's blocking pool, with read-ahead and
/// write batching in [`fs::File`] (see the `magpie-fs` crate docs).
pub mod fs {
    pub use magpie_fs::*;
}

/// Time: `sleep`, `timeout`, `interval`, and a pausable clock for tests.
pub mod time {
    pub use magpie_time::*;
}

/// Channels, locks and notification primitives (they work under any executor).
pub mod sync {
    pub use magpie_sync::*;

    pub use crate::asyncio::SendTimeoutExt;
}

/// A generic connection pool (the `magpie-pool` crate): a [`Manager`](pool::Manager)
/// says how to connect, check and recycle; [`Pool::get`](pool::Pool::get) hands out
/// connections, at most `max_size` at once, under an acquire timeout, replacing broken
/// ones (after a database restart). deadpool and bb8 need tokio's runtime; this does
/// not. `docs/ecosystem.md` shows it with tokio-postgres and redis.
pub mod pool {
    pub use magpie_pool::*;
}

/// hyper 1.x on magpie (feature `hyper`): the `magpie-hyper` crate.
///
/// [`MagpieExecutor`](hyper::MagpieExecutor), [`MagpieTimer`](hyper::MagpieTimer) and
/// [`MagpieIo`](hyper::MagpieIo) are what hyper's connection builders and client
/// handshakes ask for; [`serve`](hyper::serve) serves a tower service (an axum
/// `Router`) over HTTP/1.1 and HTTP/2 with graceful shutdown, and
/// [`Client`](hyper::Client) is an HTTP/1.1 client with a keep-alive pool. `magpie = { version = "0.1", features = ["hyper"] }` in `Cargo.toml`,
/// next to hyper itself, then:
///
/// ```
/// use magpie::hyper::{MagpieExecutor, MagpieIo, MagpieTimer};
/// ```
///
/// `examples/http.rs` in the repository is a complete server with graceful shutdown;
/// `docs/http.md` is the guide.
#[cfg(feature = "hyper")]
pub use magpie_hyper as hyper;

mod asyncio;
pub use asyncio::wait_timeout;

/// Runs `future` to completion on a new multi-thread runtime with every driver enabled,
/// then shuts the runtime down: asyncio's `asyncio.run(main())`.
///
/// # Panics
/// When called from inside a runtime (use `.await` there), or when the runtime cannot
/// be built (the OS refused its threads).
///
/// ```
/// let answer = magpie::run(async {
///     let a = magpie::spawn(async { 40 });
///     a.await.unwrap() + 2
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    let rt = match runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("magpie::run could not build the runtime: {e}"),
    };
    rt.block_on(future)
}
