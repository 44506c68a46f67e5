//! A cell holding one task's waker, registered by one side and woken by any other.
//!
//! The protocol is the well-known one from `futures`' `AtomicWaker` (our own code):
//!
//! ```text
//! state: WAITING (0) | REGISTERING (1) | WAKING (2)   (REGISTERING|WAKING possible)
//!
//! register: CAS WAITING -> REGISTERING, store the waker, CAS REGISTERING -> WAITING.
//!           If a wake arrived meanwhile (state is REGISTERING|WAKING), take the waker
//!           back out, reset to WAITING and wake it ourselves.
//!           If the first CAS finds WAKING, a wake is in progress: wake the new waker
//!           now (its task polls again and registers again).
//! wake:     fetch_or(WAKING). If the state was WAITING, we own the cell: take the
//!           waker, clear WAKING, wake it. Otherwise the registrar (or another waker)
//!           handles it.
//! ```
//!
//! Either the waker stored by `register` is woken by a later `wake`, or `register` sees
//! the wake and wakes itself: a `wake` that happens after the condition it signals was
//! made true is never lost, provided the registrar re-checks the condition after
//! `register` returns.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;
use std::task::Waker;

const WAITING: usize = 0;
const REGISTERING: usize = 0b01;
const WAKING: usize = 0b10;

pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the waker cell is only accessed by the thread that owns it through the state
// protocol above (REGISTERING or a WAITING->WAKING transition gives exclusive access).
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(crate) fn new() -> Self {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` to be woken by the next [`AtomicWaker::wake`]. Only one thread may
    /// register at a time (the owning receiver).
    pub(crate) fn register_by_ref(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // SAFETY: REGISTERING gives us exclusive access to the cell.
                self.waker.with_mut(|w| unsafe {
                    match &*w {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *w = Some(waker.clone()),
                    }
                });
                if self
                    .state
                    .compare_exchange(REGISTERING, WAITING, AcqRel, Acquire)
                    .is_err()
                {
                    // A wake arrived while we were registering: it could not take the
                    // waker, so we wake it. The state is REGISTERING|WAKING and nobody
                    // else touches the cell until we reset it.
                    // SAFETY: still exclusive (the waker saw REGISTERING and backed off).
                    let w = self.waker.with_mut(|w| unsafe { (*w).take() });
                    self.state.swap(WAITING, AcqRel);
                    if let Some(w) = w {
                        w.wake();
                    }
                }
            }
            Err(WAKING) => {
                // A wake is in progress and will not see our waker (it was not stored),
                // and later wakes would find the cell without it: wake the task now so
                // it polls again. The hint lets the waking thread finish first (under
                // loom it yields, so the model does not spin).
                waker.wake_by_ref();
                crate::loom::hint::spin_loop();
            }
            Err(_) => {
                // Concurrent register calls: not used by this crate (single registrar).
                waker.wake_by_ref();
            }
        }
    }

    /// Takes the registered waker, if no registration is in progress. Inlined: it is
    /// on every mpsc send.
    #[inline]
    pub(crate) fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                // SAFETY: the WAITING -> WAKING transition gives exclusive access.
                let w = self.waker.with_mut(|w| unsafe { (*w).take() });
                self.state.fetch_and(!WAKING, Release);
                w
            }
            _ => None,
        }
    }

    /// Wakes the registered waker, if any.
    #[inline]
    pub(crate) fn wake(&self) {
        if let Some(w) = self.take() {
            w.wake();
        }
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AtomicWaker")
    }
}
