//! `wait`: wait for a set of fallible futures (typically `JoinHandle`s) until the first
//! completes, the first fails, or all complete; get back the finished outputs and the
//! futures still pending (asyncio's `asyncio.wait(aws, return_when=...)`).

use super::set::FutureSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// When [`wait`] returns (asyncio's `return_when`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any future completes (`FIRST_COMPLETED`).
    FirstCompleted,
    /// As soon as any future yields `Err`, or when all have completed
    /// (`FIRST_EXCEPTION`).
    FirstException,
    /// When every future has completed (`ALL_COMPLETED`, the default).
    #[default]
    AllCompleted,
}

/// Runs the futures concurrently inside the calling task until `when` is satisfied,
/// then returns `(done, pending)`: the outputs of the futures that completed, in
/// completion order, and the futures that have not, in input order.
///
/// It works on anything that resolves to a `Result` and is `Unpin`: `JoinHandle<T>`s
/// (whose output is `Result<T, JoinError>`), or boxed futures. The pending futures are
/// handed back untouched: pending `JoinHandle`s keep their tasks running. Each future
/// has its own waker, so a wake-up polls only the future that was woken.
///
/// With a timeout, use `magpie::wait_timeout`.
///
/// ```
/// use magpie_sync::{ReturnWhen, oneshot, wait};
/// # magpie_sync::__block_on(async {
/// let (tx1, rx1) = oneshot::channel::<u32>();
/// let (_tx2, rx2) = oneshot::channel::<u32>();
/// tx1.send(1).unwrap();
/// let (done, pending) = wait([rx1, rx2], ReturnWhen::FirstCompleted).await;
/// assert_eq!(done, vec![Ok(1)]);
/// assert_eq!(pending.len(), 1);
/// # });
/// ```
pub fn wait<I, F, T, E>(futures: I, when: ReturnWhen) -> Wait<F>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Unpin,
{
    let iter = futures.into_iter();
    let mut set = FutureSet::with_capacity(iter.size_hint().0);
    for f in iter {
        set.push(f);
    }
    Wait {
        set,
        done: Vec::new(),
        when,
    }
}

/// Future returned by [`wait`].
#[must_use = "futures do nothing unless polled"]
pub struct Wait<F: Future> {
    set: FutureSet<F>,
    done: Vec<F::Output>,
    when: ReturnWhen,
}

impl<F: Future> Unpin for Wait<F> {}

impl<F: Future + Unpin> Wait<F> {
    /// Stops waiting: the outputs gathered so far (completion order) and the futures
    /// still pending (input order). `wait_timeout` uses this when its timer fires.
    pub fn into_parts(mut self) -> (Vec<F::Output>, Vec<F>) {
        self.take_parts()
    }

    fn take_parts(&mut self) -> (Vec<F::Output>, Vec<F>) {
        let pending = self
            .set
            .drain()
            .into_iter()
            .map(|b| *Pin::into_inner(b))
            .collect();
        (std::mem::take(&mut self.done), pending)
    }
}

impl<F, T, E> Future for Wait<F>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    type Output = (Vec<Result<T, E>>, Vec<F>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((_, out))) => {
                    let failed = out.is_err();
                    this.done.push(out);
                    let stop = match this.when {
                        ReturnWhen::FirstCompleted => true,
                        ReturnWhen::FirstException => failed,
                        ReturnWhen::AllCompleted => false,
                    };
                    if stop {
                        return Poll::Ready(this.take_parts());
                    }
                }
                Poll::Ready(None) => return Poll::Ready(this.take_parts()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<F: Future> fmt::Debug for Wait<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("pending", &self.set.len())
            .field("done", &self.done.len())
            .field("when", &self.when)
            .finish()
    }
}
