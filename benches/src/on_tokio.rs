//! Every workload compiled for tokio: the files under `src/workloads/` with `rt` =
//! `tokio` (on_magpie.rs and on_tokio.rs differ only in that line).

use tokio as rt;

// Each file below is compiled once here and once in the other runtime's module, on
// purpose: that is how one source serves both runtimes.

#[allow(clippy::duplicate_mod)]
#[path = "workloads/fs.rs"]
mod fs;
#[allow(clippy::duplicate_mod)]
#[path = "workloads/runtime.rs"]
mod runtime;
#[allow(clippy::duplicate_mod)]
#[path = "workloads/sched.rs"]
mod sched;
#[allow(clippy::duplicate_mod)]
#[path = "workloads/sync.rs"]
mod sync;
#[allow(clippy::duplicate_mod)]
#[path = "workloads/time.rs"]
mod time;

pub use fs::*;
pub use runtime::*;
pub use sched::*;
pub use sync::*;
pub use time::*;
