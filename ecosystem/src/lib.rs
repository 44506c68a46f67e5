//! # magpie-ecosystem: real stacks on magpie, with no tokio runtime
//!
//! The tests in `tests/stack/` run tokio-postgres, redis-rs, rustls (through
//! tokio-rustls and futures-rustls), hyper over TLS, tokio-tungstenite and tonic on
//! magpie, against the real things: a PostgreSQL server and a `redis-server` started by
//! `scripts/services` (`scripts/test` starts them, runs the tests, stops them), `curl`,
//! certificates made at test time. Every test asserts that no tokio runtime exists
//! ([`assert_no_tokio`]).
//!
//! This library holds what the tests share and what a user would copy: the pool
//! managers for tokio-postgres ([`pg::PgManager`]) and redis ([`redis_conn::RedisManager`]),
//! a tower service over hyper's HTTP/2 client for tonic ([`grpc::Http2Channel`]), TLS
//! material ([`tls`]), and servers a test may stop and restart ([`servers`]).
//! `docs/ecosystem.md` is the table of what runs and how.
#![warn(missing_docs)]

pub mod grpc;
pub mod pg;
pub mod redis_conn;
pub mod servers;
pub mod tls;

use std::future::Future;
use std::time::Duration;

/// The code tonic-build generated from `proto/echo.proto`.
#[allow(missing_docs)]
pub mod echo {
    tonic::include_proto!("echo");
}

/// Panics unless this thread is outside any tokio runtime: the ecosystem crates must
/// run on magpie alone.
#[track_caller]
pub fn assert_no_tokio() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "a tokio runtime is running: the test must run on magpie alone"
    );
}

/// The value of the environment variable `name`, which `scripts/test` exports; panics
/// with what to do when it is missing (a missing service fails the test, it never skips).
#[track_caller]
pub fn service_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() || name == "MAGPIE_PG_RUN_AS" => v,
        _ => panic!(
            "{name} is not set: run the tests with scripts/test (it starts PostgreSQL and \
             Redis and exports their addresses), or `scripts/services start && . \
             target/services.env` first"
        ),
    }
}

/// Runs `fut` with a deadline: a test that would hang fails instead.
#[track_caller]
pub fn deadline<F: Future>(secs: u64, fut: F) -> impl Future<Output = F::Output> {
    let caller = std::panic::Location::caller();
    let limited = magpie::time::timeout(Duration::from_secs(secs), fut);
    async move {
        match limited.await {
            Ok(out) => out,
            Err(_) => panic!("{caller}: still running after {secs} s (a hang)"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "run the tests with scripts/test")]
    fn a_missing_service_fails_with_what_to_do() {
        super::service_env("MAGPIE_NO_SUCH_SERVICE_ADDR");
    }

    #[test]
    fn outside_any_runtime_no_tokio_runtime_is_found() {
        super::assert_no_tokio();
    }
}
