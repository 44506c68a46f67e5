//! TCP echo workloads: server and load generator in separate processes.
//!
//! The `compare` runner re-executes itself as an echo **server** (`--echo-server RT`,
//! on magpie, tokio or smol) and as a **client** (`--echo-client RT PORT CONNS SIZE MS`), so
//! that one runtime never shares a process (or an allocator, or a thread pool) with the
//! one it measures. The client is the same program on the same runtime (tokio, see
//! [`CLIENT_RT`]) for every server: the only thing that changes between the
//! measurements is the server's runtime.
//!
//! Each client connection sends a `SIZE`-byte message, reads the echo back in full,
//! records the round trip, and repeats until the deadline; connections are opened one
//! at a time before the clock starts (a burst of SYNs can overflow the listen queue and
//! cost a 1 s retransmit), and the first [`WARMUP`] of each run is not recorded.
//!
//! Rows: `tcp_echo_{conns}c_{size}` is the time per echoed message (the inverse of
//! throughput; lower is better like every other row), `..._p50` and `..._p99` the
//! round-trip latency percentiles.

use std::time::Duration;

/// Connection counts and message sizes.
pub const ECHO_MATRIX: (&[usize], &[usize]) = (&[1, 64, 512], &[100, 16 * 1024]);

/// The runtime the load generator runs on, for every server.
pub const CLIENT_RT: &str = "tokio";

/// Not recorded at the start of each run.
pub const WARMUP: Duration = Duration::from_millis(200);

/// One client run's result.
#[derive(Clone, Debug, Default)]
pub struct EchoResult {
    /// Messages echoed in the recorded window.
    pub msgs: u64,
    /// Length of the recorded window.
    pub window: Duration,
    /// Median round trip.
    pub p50: Duration,
    /// 99th percentile round trip.
    pub p99: Duration,
}

impl EchoResult {
    /// The line a client child prints.
    pub fn to_line(&self) -> String {
        format!(
            "ECHO {} {} {} {}",
            self.msgs,
            self.window.as_nanos(),
            self.p50.as_nanos(),
            self.p99.as_nanos()
        )
    }

    /// Parses [`to_line`](Self::to_line)'s output.
    pub fn parse(line: &str) -> Option<EchoResult> {
        let mut it = line.strip_prefix("ECHO ")?.split_whitespace();
        let mut next = || it.next()?.parse::<u64>().ok();
        Some(EchoResult {
            msgs: next()?,
            window: Duration::from_nanos(next()?),
            p50: Duration::from_nanos(next()?),
            p99: Duration::from_nanos(next()?),
        })
    }

    /// Nanoseconds per echoed message.
    pub fn ns_per_msg(&self) -> f64 {
        self.window.as_nanos() as f64 / self.msgs.max(1) as f64
    }
}

/// Percentile `p` (0..=100) of sorted nanosecond samples.
pub fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    Duration::from_nanos(sorted[i])
}

/// Row-name label of a message size (`100b`, `16k`).
pub fn size_label(size: usize) -> String {
    if size % 1024 == 0 {
        format!("{}k", size / 1024)
    } else {
        format!("{size}b")
    }
}

/// The echo server and client on magpie.
pub mod on_magpie;
/// The echo server on smol (the client stays on [`CLIENT_RT`]).
pub mod on_smol;
/// The echo server and client on tokio.
pub mod on_tokio;
