//! # magpie-pool: a generic async connection pool on magpie
//!
//! deadpool and bb8 need tokio's runtime (their timeouts call `tokio::time`, bb8 spawns
//! with `tokio::spawn`), so on magpie they panic. This pool needs only magpie's
//! semaphore and timer (`magpie-sync`, `magpie-time`) and works with any client: you
//! describe how to make, check and recycle a connection with a [`Manager`], and the
//! pool does the rest:
//!
//! - at most `max_size` connections exist at once (a semaphore bounds the checkouts;
//!   idle connections wait in a list);
//! - [`Pool::get`] takes an idle connection when there is one, after
//!   [`Manager::check`] says it still works (a broken one is dropped and the next one
//!   tried, or a new one made: after a database restart the pool reconnects by itself);
//! - the whole of `get` (waiting for a slot, checking, connecting) runs under the
//!   acquire timeout ([`Builder::acquire_timeout`]), so a dead server gives an error,
//!   never a hang;
//! - a connection goes back to the idle list when its [`Pooled`] guard is dropped,
//!   unless [`Manager::recycle`] says it is broken.
//!
//! The design follows deadpool's split of a manager (create / recycle) from the pool,
//! with bb8's health check on checkout; the code is magpie's own.
//!
//! ```
//! use magpie_pool::{Manager, Pool};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! /// A "connection" that is just a number.
//! struct Numbers(AtomicUsize);
//!
//! impl Manager for Numbers {
//!     type Connection = usize;
//!     type Error = std::io::Error;
//!     async fn connect(&self) -> Result<usize, std::io::Error> {
//!         Ok(self.0.fetch_add(1, Ordering::Relaxed))
//!     }
//!     async fn check(&self, _conn: &mut usize) -> Result<(), std::io::Error> {
//!         Ok(())
//!     }
//! }
//!
//! # magpie_time::__doc_runtime(|| async {
//! let pool = Pool::builder(Numbers(AtomicUsize::new(0))).max_size(4).build();
//! let first = pool.get().await.unwrap();
//! assert_eq!(*first, 0);
//! drop(first); // back to the idle list
//! assert_eq!(*pool.get().await.unwrap(), 0); // reused, not reconnected
//! assert_eq!(pool.status().size, 1);
//! # });
//! ```
#![warn(missing_docs)]

mod error;
mod manager;
mod pool;
#[cfg(test)]
mod tests;

pub use error::PoolError;
pub use manager::Manager;
pub use pool::{Builder, Pool, Pooled, Status};
