//! The asyncio pieces that need several crates: `wait` with a timeout (sync's `wait` +
//! time's `timeout`) and `mpsc::Sender::send_timeout`.

use magpie_sync::ReturnWhen;
use magpie_sync::mpsc::Sender;
use magpie_sync::mpsc::error::SendTimeoutError;
use std::future::Future;
use std::time::Duration;

/// [`wait`](crate::wait) with a time limit (asyncio's `wait(aws, timeout=t,
/// return_when=...)`): returns `(done, pending)` when `when` is satisfied or when
/// `timeout` has passed, whichever comes first. On timeout, `done` holds what finished
/// in time and `pending` the rest, untouched (pending tasks keep running).
///
/// ```
/// use magpie::{ReturnWhen, time::sleep};
/// use std::time::Duration;
///
/// # magpie::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let fast = magpie::spawn(async { sleep(Duration::from_secs(1)).await; "fast" });
/// let slow = magpie::spawn(async { sleep(Duration::from_secs(60)).await; "slow" });
/// let (done, pending) =
///     magpie::wait_timeout([fast, slow], ReturnWhen::AllCompleted, Duration::from_secs(5)).await;
/// assert_eq!(done.into_iter().map(Result::unwrap).collect::<Vec<_>>(), vec!["fast"]);
/// assert_eq!(pending.len(), 1);
/// # });
/// ```
pub async fn wait_timeout<I, F, T, E>(
    futures: I,
    when: ReturnWhen,
    timeout: Duration,
) -> (Vec<Result<T, E>>, Vec<F>)
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Unpin,
{
    let mut wait = magpie_sync::wait(futures, when);
    match magpie_time::timeout(timeout, &mut wait).await {
        Ok(parts) => parts,
        Err(_elapsed) => wait.into_parts(),
    }
}

/// `send_timeout` for bounded [`mpsc::Sender`](magpie_sync::mpsc::Sender): send, waiting
/// at most `timeout` for capacity (asyncio's `wait_for(queue.put(x), t)`, without
/// losing the value on timeout).
pub trait SendTimeoutExt<T: Send> {
    /// Sends `value`, waiting at most `timeout` for room in the channel. On timeout or
    /// when the receiver is gone, the value comes back inside the error. Cancel-safe:
    /// waiting uses `reserve()`, so dropping the future loses nothing and takes no
    /// place in the queue.
    ///
    /// ```
    /// use magpie::sync::{SendTimeoutExt, mpsc, mpsc::error::SendTimeoutError};
    /// use std::time::Duration;
    ///
    /// # magpie::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.send_timeout(1, Duration::from_secs(1)).await.unwrap();
    /// // The channel is full: the second send times out and gives the value back.
    /// match tx.send_timeout(2, Duration::from_secs(1)).await {
    ///     Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, 2),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(rx.recv().await, Some(1));
    /// # });
    /// ```
    fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), SendTimeoutError<T>>> + Send;
}

impl<T: Send> SendTimeoutExt<T> for Sender<T> {
    async fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match magpie_time::timeout(timeout, self.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(_closed)) => Err(SendTimeoutError::Closed(value)),
            Err(_elapsed) => Err(SendTimeoutError::Timeout(value)),
        }
    }
}
