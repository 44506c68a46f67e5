//! HOOK: TCP echo workloads, waiting for `magpie-io`.
//!
//! The io crate (`magpie::net`) is being built in parallel and is not in the facade yet,
//! so there are no io workloads. When it lands, add here, following the same pattern as
//! the scheduler workloads (one body, instantiated for `magpie` and `tokio`):
//!
//! * an echo **server** and a load-generating **client**, each run in its own process
//!   (the `compare` binary re-executing itself with a hidden `--io-server RT` /
//!   `--io-client RT ADDR` flag, like `--rss-child`), so that one runtime never measures
//!   the other;
//! * 1, 64 and 512 concurrent connections, 100-byte and 16 KiB messages;
//! * report throughput (messages/s and bytes/s) and the p50 / p99 round-trip latency
//!   from the client's per-request samples;
//! * rows named `tcp_echo_{conns}c_{size}` in `compare`'s table and JSON.
//!
//! [`IO_WORKLOADS_AVAILABLE`] tells `compare` to print that the io rows are pending.

/// False until the TCP echo workloads exist.
pub const IO_WORKLOADS_AVAILABLE: bool = false;

/// Connection counts and message sizes the echo workloads will use.
pub const ECHO_MATRIX: (&[usize], &[usize]) = (&[1, 64, 512], &[100, 16 * 1024]);
