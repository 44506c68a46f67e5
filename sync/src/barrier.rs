//! `Barrier`: a rendezvous point for a fixed number of tasks (asyncio's `Barrier`).

use crate::loom::sync::Mutex;
use crate::notify::Notify;
use std::fmt;

/// Makes `n` tasks wait until all of them have reached [`wait`](Barrier::wait); then all
/// are released together, and the barrier can be used again. One task per round is
/// told it is the leader.
///
/// # Examples
///
/// ```
/// use magpie_sync::Barrier;
/// use std::sync::Arc;
/// let b = Arc::new(Barrier::new(3));
/// let handles: Vec<_> = (0..3)
///     .map(|_| {
///         let b = b.clone();
///         std::thread::spawn(move || magpie_sync::__block_on(b.wait()).is_leader())
///     })
///     .collect();
/// let leaders = handles
///     .into_iter()
///     .map(|h| h.join().unwrap())
///     .filter(|&leader| leader)
///     .count();
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
    notify: Notify,
}

struct State {
    arrived: usize,
    generation: u64,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the round's leader (exactly one per round: the last to
    /// arrive).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks (`0` behaves like `1`).
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
            }),
            notify: Notify::new(),
        }
    }

    /// Waits until `n` tasks have called `wait` in this round.
    ///
    /// Not cancel-safe: a task counts as arrived from its first poll; dropping the
    /// future afterwards does not take the arrival back (so the round can complete with
    /// fewer tasks actually waiting), as in tokio.
    pub async fn wait(&self) -> BarrierWaitResult {
        // One budget unit for the whole wait, also for the leader (which never waits).
        crate::util::cooperative(async {
            let notified = {
                let mut st = self.state.lock();
                st.arrived += 1;
                if st.arrived == self.n {
                    st.arrived = 0;
                    st.generation = st.generation.wrapping_add(1);
                    drop(st);
                    self.notify.notify_waiters();
                    return BarrierWaitResult(true);
                }
                // Created under the lock, before the leader can bump the generation and
                // notify, so that notification reaches it.
                self.notify.notified_unbudgeted()
            };
            notified.await;
            BarrierWaitResult(false)
        })
        .await
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}
