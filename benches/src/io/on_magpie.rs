//! The echo server and client on magpie: `io/echo.rs` compiled with `rt` = `magpie`.

use magpie as rt;

// Compiled once per runtime module on purpose (see `crate::on_magpie`).
#[allow(clippy::duplicate_mod)]
#[path = "echo.rs"]
mod echo;

pub use echo::*;
