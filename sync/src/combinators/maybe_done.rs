//! Support for the `gather!`/`join!` family and `select!` macros (not public API).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future, then its output, then nothing (after the output was taken).
#[derive(Debug)]
pub enum MaybeDone<F: Future> {
    /// Still running.
    Future(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future.
    pub fn new(fut: F) -> Self {
        MaybeDone::Future(fut)
    }

    /// Polls the future if it still runs; `true` once it has an output.
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future is never moved out of the pinned enum: it is polled in
        // place, and replaced (dropped in place by `Pin::set`) only once it completed.
        let fut = match unsafe { self.as_mut().get_unchecked_mut() } {
            // SAFETY: `f` is inside the pinned enum and polled in place (see above).
            MaybeDone::Future(f) => unsafe { Pin::new_unchecked(f) },
            MaybeDone::Done(_) => return true,
            MaybeDone::Gone => return true,
        };
        match fut.poll(cx) {
            Poll::Ready(v) => {
                self.set(MaybeDone::Done(v));
                true
            }
            Poll::Pending => false,
        }
    }

    /// Takes the output, if the future finished and it was not taken yet.
    pub fn take_output(mut self: Pin<&mut Self>) -> Option<F::Output> {
        match &*self {
            MaybeDone::Done(_) => {}
            _ => return None,
        }
        // SAFETY: the state is `Done`, which holds no pinned data; the output is moved
        // out and the slot overwritten without moving anything pinned.
        let this = unsafe { self.as_mut().get_unchecked_mut() };
        match std::mem::replace(this, MaybeDone::Gone) {
            MaybeDone::Done(v) => Some(v),
            _ => None,
        }
    }
}

/// A future yielding `Result`: the part of `Future` that `TryMaybeDone` needs.
pub trait TryFuture: Future<Output = Result<Self::Ok, Self::Error>> {
    /// The success type.
    type Ok;
    /// The error type.
    type Error;
}

impl<F, T, E> TryFuture for F
where
    F: Future<Output = Result<T, E>>,
{
    type Ok = T;
    type Error = E;
}

/// Like [`MaybeDone`], for `try_gather!`: keeps only the `Ok` value.
#[derive(Debug)]
pub enum TryMaybeDone<F: TryFuture> {
    /// Still running.
    Future(F),
    /// Finished with `Ok`; the value waits to be taken.
    Done(F::Ok),
    /// The value was taken, or the future failed.
    Gone,
}

impl<F: TryFuture> TryMaybeDone<F> {
    /// Wraps a future.
    pub fn new(fut: F) -> Self {
        TryMaybeDone::Future(fut)
    }

    /// Polls the future if it still runs: `Ready(Ok(()))` once it has an `Ok` value,
    /// `Ready(Err(e))` when it failed.
    pub fn poll_try(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), F::Error>> {
        // SAFETY: as in `MaybeDone::poll_done`.
        let fut = match unsafe { self.as_mut().get_unchecked_mut() } {
            // SAFETY: `f` is inside the pinned enum and polled in place.
            TryMaybeDone::Future(f) => unsafe { Pin::new_unchecked(f) },
            TryMaybeDone::Done(_) | TryMaybeDone::Gone => return Poll::Ready(Ok(())),
        };
        match fut.poll(cx) {
            Poll::Ready(Ok(v)) => {
                self.set(TryMaybeDone::Done(v));
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                self.set(TryMaybeDone::Gone);
                Poll::Ready(Err(e))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Takes the `Ok` value, if there is one.
    pub fn take_output(mut self: Pin<&mut Self>) -> Option<F::Ok> {
        match &*self {
            TryMaybeDone::Done(_) => {}
            _ => return None,
        }
        // SAFETY: as in `MaybeDone::take_output`.
        let this = unsafe { self.as_mut().get_unchecked_mut() };
        match std::mem::replace(this, TryMaybeDone::Gone) {
            TryMaybeDone::Done(v) => Some(v),
            _ => None,
        }
    }
}

/// The start branch of each poll of a `gather!`/`join!` future: `0` every time when
/// biased, else `0, 1, ..., n - 1, 0, ...`, one step per poll.
#[derive(Debug)]
pub struct Turn {
    next: u32,
    branches: u32,
    biased: bool,
}

impl Turn {
    /// A turn over `branches` branches.
    pub fn new(biased: bool, branches: u32) -> Self {
        Turn {
            next: 0,
            branches,
            biased,
        }
    }

    /// The branch to poll first this time.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u32 {
        if self.biased {
            return 0;
        }
        let start = self.next;
        self.next = if start + 1 >= self.branches {
            0
        } else {
            start + 1
        };
        start
    }
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A fast, non-cryptographic random number in `0..n` (`select!`'s start branch).
pub fn thread_rng_n(n: u32) -> u32 {
    RNG.with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            // Seed from the thread-local's address and the clock (not under miri,
            // whose isolation has no clock).
            let t = if cfg!(miri) {
                0
            } else {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0)
            };
            x = (rng as *const Cell<u64> as u64) ^ t ^ 0x9E37_79B9_7F4A_7C15;
            if x == 0 {
                x = 1;
            }
        }
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng.set(x);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (((r >> 32) * n as u64) >> 32) as u32
    })
}
