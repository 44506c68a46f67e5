use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::task::{Context, Poll};
use std::time::Duration;

use magpie_base::coop;
use magpie_base::loom::sync::atomic::Ordering;
use pin_project_lite::pin_project;

use crate::Instant;
use crate::driver::Handle;
use crate::entry::{EntryShared, FIRED, IDLE, NO_SHARD};

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`, except that a duration too
/// large to add (up to `Duration::MAX`) saturates to a deadline about 30 years away
/// instead of panicking. The timer has millisecond granularity and never completes
/// early. Cancel it by dropping the returned [`Sleep`].
///
/// # Panics
///
/// Outside a runtime with time enabled.
///
/// ```
/// # magpie_time::__doc_runtime(|| async {
/// use magpie_time::{sleep, Duration};
///
/// sleep(Duration::from_millis(10)).await;
/// # });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = Handle::current();
    let deadline = Instant::now().saturating_add(duration);
    Sleep::new_in(handle, deadline)
}

/// Waits until `deadline` is reached.
///
/// # Panics
///
/// Outside a runtime with time enabled.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new_in(Handle::current(), deadline)
}

pin_project! {
    /// Future returned by [`sleep`] and [`sleep_until`].
    ///
    /// The timer entry lives inside the `Sleep` itself (which is why it is `!Unpin`: use
    /// `Box::pin` or `std::pin::pin!` to poll it by hand): registering, cancelling and
    /// firing allocate nothing. It registers with the driver on its first poll and
    /// unregisters when dropped.
    ///
    /// Each poll spends one unit of the task's cooperative budget.
    ///
    /// If the runtime's time driver shuts down, a pending `Sleep` completes.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Sleep {
        deadline: Instant,
        #[pin]
        entry: TimerEntry,
    }
}

impl Sleep {
    /// A sleep until `deadline` on the driver of `handle`.
    #[doc(hidden)]
    pub fn new_in(handle: Handle, deadline: Instant) -> Sleep {
        let tick = handle.deadline_to_tick(deadline);
        Sleep {
            deadline,
            entry: TimerEntry {
                handle,
                tick: AtomicU64::new(tick),
                shared: EntryShared::new(),
                _pin: PhantomPinned,
            },
        }
    }

    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the driver has fired this sleep (a `poll` would return `Ready`).
    pub fn is_elapsed(&self) -> bool {
        self.entry.shared.state.load(Ordering::Acquire) == FIRED
    }

    /// Moves the deadline (earlier or later), re-arming an elapsed sleep.
    ///
    /// Unlike dropping the `Sleep` and creating a new one, this reuses its entry. The
    /// timer stays on the wheel shard it was first registered on (that of the worker
    /// that first polled it), whichever thread resets it.
    ///
    /// ```
    /// # magpie_time::__doc_runtime(|| async {
    /// use magpie_time::{sleep, Duration, Instant};
    ///
    /// let mut s = Box::pin(sleep(Duration::from_secs(3600)));
    /// s.as_mut().reset(Instant::now() + Duration::from_millis(5));
    /// s.await;
    /// # });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let me = self.project();
        *me.deadline = deadline;
        me.entry.reset(deadline);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut restore = std::task::ready!(coop::poll_proceed(cx));
        let res = self.project().entry.poll_elapsed(cx);
        if res.is_ready() {
            restore.made_progress();
        }
        res
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("is_elapsed", &self.is_elapsed())
            .finish()
    }
}

/// The owner side of a timer entry (protocol in `entry.rs`).
///
/// `!Unpin` (`PhantomPinned`): once registered, the driver holds a pointer to `shared`,
/// so it must not move; and because it is `!Unpin`, a `&mut TimerEntry` does not claim
/// exclusive access to `shared`, which the driver may read concurrently. All accesses to
/// `shared` from here go through `&`.
pub(crate) struct TimerEntry {
    handle: Handle,
    /// The deadline in ticks. Only the owner uses it; an atomic (not a `Cell`) so that
    /// `Sleep` stays `Sync`, and so it can be updated through `&self`.
    tick: AtomicU64,
    shared: EntryShared,
    _pin: PhantomPinned,
}

// SAFETY: the raw pointers in `shared` (list links) are only dereferenced under the
// driver lock; the waker slot follows the owner/driver discipline documented in
// `entry.rs`; everything else is atomics and a `Handle` (Send + Sync).
unsafe impl Send for TimerEntry {}
// SAFETY: `&TimerEntry` only exposes atomic loads (`is_elapsed`); every mutation needs
// `Pin<&mut>` (the owner) or the driver lock.
unsafe impl Sync for TimerEntry {}

impl TimerEntry {
    /// The entry's shard, choosing it (for the calling thread) on first use.
    fn shard(&self) -> usize {
        match self.shared.shard.load(StdOrdering::Relaxed) {
            NO_SHARD => {
                let s = self.handle.pick_shard();
                // Shards are at most `MAX_SHARDS` (256): the cast is lossless.
                self.shared.shard.store(s as u32, StdOrdering::Relaxed);
                s
            }
            s => s as usize,
        }
    }

    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.into_ref().get_ref();
        let shared = &this.shared;
        let done = match shared.state.load(Ordering::Acquire) {
            FIRED => true,
            IDLE => {
                let tick = this.tick.load(StdOrdering::Relaxed);
                // SAFETY: we are the owner and the entry is pinned (we came through
                // `Pin`); `Drop` unlinks it before its memory goes.
                unsafe {
                    this.handle
                        .register(shared, this.shard(), tick, Some(cx.waker()))
                }
            }
            // SAFETY: owner, pinned; REGISTERED, so on the shard `shard()` returns.
            _ => unsafe { this.handle.update_waker(shared, this.shard(), cx.waker()) },
        };
        if done { Poll::Ready(()) } else { Poll::Pending }
    }

    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.into_ref().get_ref();
        let tick = this.handle.deadline_to_tick(deadline);
        this.tick.store(tick, StdOrdering::Relaxed);
        let shared = &this.shared;
        // A never-registered entry is IDLE: `deregister` returns before using the shard.
        let registered_on = this.shared.shard.load(StdOrdering::Relaxed) as usize;
        // SAFETY: owner; pinned; `registered_on` is its shard, if it was registered.
        unsafe { this.handle.deregister(shared, registered_on) };
        // A never-polled entry (no waker) registers on its first poll; otherwise re-arm
        // now with the stored waker, like tokio does, so the task need not re-poll.
        // SAFETY: the owner may read its own waker without the lock.
        let waker = shared.waker.with(|w| unsafe { (*w).clone() });
        let Some(waker) = waker else { return };
        // SAFETY: owner; pinned; the entry is IDLE or FIRED after `deregister`.
        if unsafe { this.handle.register(shared, this.shard(), tick, None) } {
            // Due at once: the task may be waiting on this sleep, so wake it.
            waker.wake();
        }
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        // SAFETY: owner; if the entry was ever registered it was pinned, and this is the
        // destructor the pin guarantee promises runs before the memory is reused.
        // A never-registered entry is IDLE: `deregister` returns before using the shard.
        let shard = self.shared.shard.load(StdOrdering::Relaxed) as usize;
        // SAFETY: as above; `shard` is the one it was registered on, if it was.
        unsafe { self.handle.deregister(&self.shared, shard) };
    }
}
