//! Runtime-free combinators: asyncio's `gather`, `as_completed` and `wait`, and
//! tokio's `join!`, `try_join!`, `select!` and `pin!`. They run their futures inside the task that awaits them (nothing
//! is spawned), under any executor.
//!
//! The many-future forms (`gather_all`, `try_gather_all`, `as_completed`, `wait`) share
//! one engine, `set::FutureSet`, whose per-child wakers make each wake-up cost one child
//! poll (see `set.rs` for the design and its atomic protocol).

mod as_completed;
mod gather;
mod join;
mod macros;
mod maybe_done;
pub(crate) mod set;
mod wait;

pub use as_completed::{AsCompleted, as_completed};
pub use gather::{GatherAll, TryGatherAll, gather_all, try_gather_all};
pub use wait::{ReturnWhen, Wait, wait};

/// Helpers of the macros and of other magpie crates. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::maybe_done::{MaybeDone, TryFuture, TryMaybeDone, Turn, thread_rng_n};
    pub use super::set::FutureSet;
    pub use magpie_macros::__select_clean_pattern as clean_pattern;
}
