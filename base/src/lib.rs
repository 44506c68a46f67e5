//! What every magpie crate shares, kept once at the bottom of the crate graph:
//!
//! * [`coop`]: the cooperative-scheduling budget. The scheduler refills it before each
//!   task poll; io, time and sync resources spend it, and return `Pending` once it is
//!   spent, so that one busy task cannot starve the others on its worker.
//! * [`loom`]: the shim that is `std` (plus parking_lot) in normal builds and the `loom`
//!   model checker under `--cfg loom`, so the same code compiles both ways.
//! * [`context`]: whether this thread drives a runtime (set by the runtime, read by
//!   magpie-sync's `blocking_*` methods, which must not block such a thread).
//! * [`park`]: the `Park`/`Unpark` traits through which the scheduler drives the time and
//!   I/O drivers without knowing them.
//!
//! This crate is an implementation detail of magpie; use the `magpie` facade instead.
#![doc(hidden)]
#![warn(missing_docs)]

pub mod context;
pub mod coop;
pub mod loom;
pub mod park;
