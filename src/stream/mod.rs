//! Async iterators (asyncio's `async for`): the [`Stream`] trait, [`StreamExt`] with
//! the adapters that need magpie's timer, and [`wrappers`] that turn magpie's
//! receivers, intervals, signals and listeners into streams.
//!
//! The shapes are tokio-stream's, so `tokio_stream::{StreamExt, wrappers::...}` code
//! compiles against `magpie::stream` for these items. What is not here, and why:
//! the runtime-free combinators (`map`, `filter`, `take`, `merge`, `collect`, ...) are
//! futures-util's `StreamExt`, which works on every magpie stream unchanged; magpie
//! adds only what needs a runtime (a timer). Import one `StreamExt` per module (both
//! have `next`).
//!
//! ```
//! # magpie::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use magpie::stream::{StreamExt, wrappers::ReceiverStream};
//! use magpie::time::Duration;
//!
//! let (tx, rx) = magpie::sync::mpsc::channel(16);
//! magpie::spawn(async move {
//!     for i in 0..5 {
//!         tx.send(i).await.unwrap();
//!     }
//! });
//! let mut batches = std::pin::pin!(ReceiverStream::new(rx).chunks_timeout(2, Duration::from_millis(50)));
//! let mut got = Vec::new();
//! while let Some(batch) = batches.next().await {
//!     got.extend(batch);
//! }
//! assert_eq!(got, [0, 1, 2, 3, 4]);
//! # });
//! ```

pub mod wrappers;

pub use futures_core::Stream;
pub use magpie_time::error::Elapsed;
pub use magpie_time::stream::{ChunksTimeout, Next, StreamExt, Throttle, Timeout};
