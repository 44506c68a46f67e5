//! A small fixed-capacity batch of wakers, filled under a lock and fired after it is
//! released (waking under the lock would make the woken task contend on it at once).

use std::task::Waker;

const CAP: usize = 32;

pub(crate) struct WakeList {
    wakers: [Option<Waker>; CAP],
    len: usize,
}

impl WakeList {
    pub(crate) fn new() -> Self {
        WakeList {
            wakers: [const { None }; CAP],
            len: 0,
        }
    }

    pub(crate) fn can_push(&self) -> bool {
        self.len < CAP
    }

    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        debug_assert!(self.can_push());
        if let Some(w) = waker {
            self.wakers[self.len] = Some(w);
            self.len += 1;
        }
    }

    pub(crate) fn wake_all(&mut self) {
        for slot in &mut self.wakers[..self.len] {
            if let Some(w) = slot.take() {
                w.wake();
            }
        }
        self.len = 0;
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        self.wake_all();
    }
}
