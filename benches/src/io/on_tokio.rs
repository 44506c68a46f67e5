//! The echo server and client on tokio: `io/echo.rs` compiled with `rt` = `tokio`.

use tokio as rt;

// Compiled once per runtime module on purpose (see `crate::on_magpie`).
#[allow(clippy::duplicate_mod)]
#[path = "echo.rs"]
mod echo;

pub use echo::*;
