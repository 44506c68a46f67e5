//! Programs that run ecosystem crates on magpie (see `examples/`), kept in their own
//! workspace member so that their heavy dependencies (axum, serde) never enter the
//! dependency tree of magpie's own crates.
//!
//! ```sh
//! cargo run -p magpie-examples --example axum               # http://127.0.0.1:3000
//! cargo run -p magpie-examples --example axum -- --selftest # what CI runs
//! ```
