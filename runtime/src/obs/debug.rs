//! Debug mode's shared state and the stuck-worker watchdog thread.

use super::{Sink, now_ns};
use crossbeam_utils::CachePadded;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The poll a worker is in, published for the watchdog.
#[derive(Default)]
pub(super) struct PollSlot {
    /// Epoch ns when the poll started, 0 when not polling.
    pub(super) started: AtomicU64,
    pub(super) task: AtomicU64,
    pub(super) location: AtomicPtr<Location<'static>>,
    /// The polled task's name (set only for named tasks; `has_name` says whether the
    /// slot holds one, so unnamed polls skip the lock).
    pub(super) name: parking_lot::Mutex<Option<Arc<String>>>,
    pub(super) has_name: AtomicBool,
}

/// Debug-mode state, shared with the watchdog thread.
pub(super) struct DebugState {
    pub(super) slow_poll: Duration,
    pub(super) watchdog: Duration,
    pub(super) slots: Box<[CachePadded<PollSlot>]>,
    pub(super) sink: Sink,
    pub(super) stop: parking_lot::Mutex<bool>,
    pub(super) stop_cv: parking_lot::Condvar,
}

/// The watchdog: every ~250 ms, looks for a worker stuck in one poll for longer than
/// the threshold, and reports it (once per stuck poll) while it is still stuck.
pub(super) fn watchdog(d: Arc<DebugState>) {
    let period = (d.watchdog / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let mut reported = vec![0u64; d.slots.len()];
    let mut stop = d.stop.lock();
    loop {
        if *stop {
            return;
        }
        d.stop_cv.wait_for(&mut stop, period);
        if *stop {
            return;
        }
        let now = now_ns();
        for (i, s) in d.slots.iter().enumerate() {
            let started = s.started.load(Relaxed);
            if started == 0 || reported[i] == started {
                continue;
            }
            let stuck = Duration::from_nanos(now.saturating_sub(started));
            if stuck < d.watchdog {
                continue;
            }
            let task = s.task.load(Relaxed);
            let loc = s.location.load(Relaxed);
            let name = match &*s.name.lock() {
                Some(n) if s.has_name.load(Relaxed) => format!(" {:?}", n.as_str()),
                _ => String::new(),
            };
            if s.started.load(Relaxed) != started {
                continue; // the poll ended meanwhile
            }
            reported[i] = started;
            let loc = if loc.is_null() {
                "<unknown>".to_string()
            } else {
                // SAFETY: only `&'static Location`s are stored in the slot.
                unsafe { &*loc }.to_string()
            };
            (d.sink)(&format!(
                "magpie debug: watchdog: worker {i} is stuck in one poll of task \
                 {task}{name} (spawned at {loc}) for {stuck:?} and counting; the task blocks the \
                 thread (a blocking call in async code?)"
            ));
        }
    }
}
