//! Multi-producer, single-consumer queues (asyncio's `Queue`, as a channel).
//!
//! [`channel`] creates a bounded channel: `send` waits while `capacity` messages are
//! queued, which gives back-pressure. [`unbounded_channel`] never waits to send.
//! Messages arrive in the order their sends were linearised; a receiver sees `None`
//! once every sender is gone and every message was received.
//!
//! Both flavours share one structure: a lock-free linked list of 32-slot blocks (see
//! the `list` module docs in `docs/sync.md`); the bounded flavour adds a FIFO semaphore
//! for capacity, so waiting senders are admitted in order and a dropped `send`/`reserve`
//! future gives its slot back.
//!
//! Dropping the receiver closes the channel (sends fail, returning the message) and
//! drops every queued message exactly once.
//!
//! # Examples
//!
//! ```
//! use magpie_sync::mpsc;
//! # magpie_sync::__block_on(async {
//! let (tx, mut rx) = mpsc::channel(8);
//! for i in 0..3 {
//!     let tx = tx.clone();
//!     std::thread::spawn(move || tx.blocking_send(i).unwrap());
//! }
//! drop(tx);
//! let mut got = Vec::new();
//! while let Some(v) = rx.recv().await {
//!     got.push(v);
//! }
//! got.sort();
//! assert_eq!(got, [0, 1, 2]);
//! # });
//! ```

mod bounded;
mod chan;
pub mod error;
mod list;
mod unbounded;

pub use bounded::{OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender, channel};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender, unbounded_channel};
