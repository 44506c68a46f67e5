//! magpie-runtime: the task system, the multi-thread work-stealing scheduler, the
//! current-thread scheduler, the blocking pool, and the `Builder`/`Runtime`/`Handle`
//! API. Use it through the `magpie` facade.
//!
//! See `docs/architecture.md` in the repository for the task lifecycle and the worker
//! loop.
#![warn(missing_docs)]

mod blocking;
mod context;
mod driver;
mod loom;
mod obs;
pub mod runtime;
mod scheduler;
pub mod task;

pub use runtime::spawn;

// The loom models' window on the internals; in-crate tests (and miri) use the same
// minimal scheduler over the real task code.
#[cfg(any(loom, test))]
#[doc(hidden)]
pub mod __loom;
