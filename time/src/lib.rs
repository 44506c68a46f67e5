//! magpie-time: timers for the magpie runtime.
//!
//! * [`sleep`], [`sleep_until`]: wait for a duration or a deadline;
//! * [`timeout`], [`timeout_at`]: bound how long a future may take;
//! * [`interval`], [`interval_at`]: periodic ticks, with a [`MissedTickBehavior`];
//! * [`Instant`]: `std`'s instant, read from the runtime's clock, which tests can
//!   [`pause`], [`advance`] and [`resume`].
//!
//! Names and signatures follow tokio's `tokio::time`, so code moves over by changing
//! imports.
//!
//! Timers live in hierarchical timing wheels ([`driver::Driver`]) owned by the runtime:
//! one per worker thread, each 6 levels of 64 one-millisecond-resolution slots. Each timer's entry
//! lives inside its [`Sleep`], so inserting, cancelling (dropping the `Sleep`) and
//! firing are O(1) and allocation-free. See `docs/time.md` for the design.
//!
//! Using a timer outside a runtime with time enabled panics, with a message that says
//! how to fix it.
#![warn(missing_docs)]

mod clock;
pub mod driver;
mod entry;
pub mod error;
mod instant;
mod interval;
mod shard;
mod sleep;
pub mod stream;
mod timeout;
mod wheel;

#[doc(hidden)]
pub mod __doc;

pub use std::time::Duration;

pub use clock::{Clock, advance, pause, resume};
pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Timeout, timeout, timeout_at};

#[doc(hidden)]
pub use __doc::run as __doc_runtime;
