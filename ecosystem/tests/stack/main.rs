//! Real stacks on magpie, against the real things: one test binary (one link of the
//! heavy crates) with a module per stack. Run with `scripts/test`, which starts
//! PostgreSQL and Redis and exports their addresses; a missing service fails the test.
//! Every test asserts that no tokio runtime exists and runs under a deadline.

mod grpc;
mod postgres;
mod redis;
mod tls;
mod websocket;
