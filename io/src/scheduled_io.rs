//! Per-resource readiness state: one atomic word plus one waker per direction.
//!
//! # The readiness word (`ScheduledIo::readiness`, an `AtomicUsize`)
//!
//! ```text
//!  bit  0      READABLE      the driver saw the resource readable
//!  bit  1      WRITABLE      the driver saw the resource writable
//!  bit  2      READ_CLOSED   the peer closed its write side (sticky: never cleared)
//!  bit  3      WRITE_CLOSED  our write side is closed / the peer is gone (sticky)
//!  bits 4..=6  (unused, zero)
//!  bit  7      SHUTDOWN      the driver shut down: every operation now fails
//!  bits 8..=23 TICK          16-bit counter bumped (wrapping) by every driver event
//! ```
//!
//! # Protocol
//!
//! * The **driver** ([`ScheduledIo::set_readiness`]) ORs the event's bits into the word
//!   and bumps `TICK` in one RMW, *then* locks `waiters` and takes the wakers of the
//!   directions that became ready, and wakes them after unlocking.
//! * A **task** ([`ScheduledIo::poll_ready`]) loads the word; if its direction is ready it
//!   gets a [`ReadyEvent`] (the bits and the tick it saw). Otherwise it locks `waiters`,
//!   stores its waker, and loads the word *again* before unlocking. Either the driver's
//!   lock came after ours (it finds our waker) or before (our second load, ordered after
//!   its unlock, sees its bits): no wake-up is lost.
//! * When the operation then fails with `WouldBlock`, the task calls
//!   [`ScheduledIo::clear_readiness`] with the event: a CAS that clears those bits only if
//!   `TICK` still equals the event's tick. If the driver delivered a new event in between
//!   (the tick moved), the bits stay set and the task retries instead of sleeping through
//!   an edge that edge-triggered epoll will not repeat. A 16-bit tick could only be
//!   fooled by exactly 65,536 events on this resource between the load and the CAS.
//! * [`ScheduledIo::shutdown`] sets `SHUTDOWN` and wakes everyone; `poll_ready` then
//!   reports an error forever.
//!
//! Staleness across resources (an event for a resource that was deregistered and whose
//! slot was reused) is handled one level up, by the generation in the token (see
//! `driver.rs`); this word only ever receives events for its own resource.

use std::fmt;
use std::task::{Context, Poll, Waker};

use magpie_base::loom::sync::Mutex;
use magpie_base::loom::sync::atomic::{AtomicUsize, Ordering};

const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const READY_MASK: usize = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED;
const SHUTDOWN: usize = 1 << 7;
const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = 0xFFFF << TICK_SHIFT;

/// A set of readiness bits.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(usize);

impl Ready {
    /// Nothing ready.
    pub const EMPTY: Ready = Ready(0);
    /// Readable.
    pub const READABLE: Ready = Ready(READABLE);
    /// Writable.
    pub const WRITABLE: Ready = Ready(WRITABLE);
    /// Read side closed.
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);
    /// Write side closed.
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);
    /// Everything.
    pub const ALL: Ready = Ready(READY_MASK);

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether the readable bit is set.
    pub fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }
    /// Whether the writable bit is set.
    pub fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }
    /// Whether the read-closed bit is set.
    pub fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }
    /// Whether the write-closed bit is set.
    pub fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// The bits of a mio event.
    pub(crate) fn from_mio(e: &mio::event::Event) -> Ready {
        let mut r = 0;
        if e.is_readable() {
            r |= READABLE;
        }
        if e.is_writable() {
            r |= WRITABLE;
        }
        if e.is_read_closed() {
            r |= READ_CLOSED;
        }
        if e.is_write_closed() {
            r |= WRITE_CLOSED;
        }
        // An error is reported to whoever tries the operation next, in either direction.
        if e.is_error() {
            r |= READABLE | WRITABLE;
        }
        Ready(r)
    }
}

impl std::ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl std::ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("read_closed", &self.is_read_closed())
            .field("write_closed", &self.is_write_closed())
            .finish()
    }
}

/// The direction an operation waits in; each has its own waker slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reads, accepts, receives: ready on READABLE or READ_CLOSED.
    Read,
    /// Writes, connects, sends: ready on WRITABLE or WRITE_CLOSED.
    Write,
}

impl Direction {
    /// The readiness bits that satisfy this direction.
    pub fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready(READABLE | READ_CLOSED),
            Direction::Write => Ready(WRITABLE | WRITE_CLOSED),
        }
    }
}

/// What [`ScheduledIo::poll_ready`] observed: the ready bits (of the asked direction) and
/// the tick they were seen at. Hand it back to [`ScheduledIo::clear_readiness`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    /// The ready bits of the direction asked for.
    pub ready: Ready,
    tick: usize,
}

/// The error of an operation on a resource whose driver shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shutdown;

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// Readiness state of one registered resource (see the module docs for the protocol).
pub struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl Default for ScheduledIo {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.readiness.load(Ordering::Relaxed);
        f.debug_struct("ScheduledIo")
            .field("ready", &Ready(w & READY_MASK))
            .field("shutdown", &(w & SHUTDOWN != 0))
            .field("tick", &((w & TICK_MASK) >> TICK_SHIFT))
            .finish()
    }
}

impl ScheduledIo {
    /// Nothing ready, no waker.
    pub fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Driver side: records `ready` (ORing it in and bumping the tick), then pushes onto
    /// `wakers` the wakers of the directions it satisfies. The caller wakes them (after
    /// releasing any lock of its own).
    pub fn set_readiness(&self, ready: Ready, wakers: &mut Vec<Waker>) {
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            let tick = (((cur & TICK_MASK) >> TICK_SHIFT) + 1) & 0xFFFF;
            let new = (cur & !TICK_MASK) | ready.0 | (tick << TICK_SHIFT);
            match self.readiness.compare_exchange_weak(
                cur,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut w = self.waiters.lock();
        if !(ready & Direction::Read.mask()).is_empty() {
            if let Some(waker) = w.reader.take() {
                wakers.push(waker);
            }
        }
        if !(ready & Direction::Write.mask()).is_empty() {
            if let Some(waker) = w.writer.take() {
                wakers.push(waker);
            }
        }
    }

    /// Marks the resource shut down and wakes both directions' wakers. Idempotent.
    pub fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let (r, w) = {
            let mut w = self.waiters.lock();
            (w.reader.take(), w.writer.take())
        };
        if let Some(r) = r {
            r.wake();
        }
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.readiness.load(Ordering::Acquire) & SHUTDOWN != 0
    }

    /// The current readiness in `dir`, without registering interest: `Ok(None)` when not
    /// ready.
    pub fn ready_now(&self, dir: Direction) -> Result<Option<ReadyEvent>, Shutdown> {
        Self::event_of(self.readiness.load(Ordering::Acquire), dir)
    }

    fn event_of(word: usize, dir: Direction) -> Result<Option<ReadyEvent>, Shutdown> {
        if word & SHUTDOWN != 0 {
            return Err(Shutdown);
        }
        let ready = Ready(word) & dir.mask();
        if ready.is_empty() {
            Ok(None)
        } else {
            Ok(Some(ReadyEvent {
                ready,
                tick: word & TICK_MASK,
            }))
        }
    }

    /// Task side: ready in `dir`, or stores `cx`'s waker (replacing the previous waiter
    /// of that direction) and returns `Pending`.
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<Result<ReadyEvent, Shutdown>> {
        if let Some(ev) = self.ready_now(dir).transpose() {
            return Poll::Ready(ev);
        }
        let mut w = self.waiters.lock();
        let slot = match dir {
            Direction::Read => &mut w.reader,
            Direction::Write => &mut w.writer,
        };
        match slot {
            Some(existing) if existing.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        // Re-check under the lock: the driver sets bits before it takes the lock.
        match self.ready_now(dir).transpose() {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// Task side: the operation that `event` allowed hit `WouldBlock`; clears those bits
    /// unless a newer event arrived since (the tick moved). Closed bits are sticky.
    pub fn clear_readiness(&self, event: ReadyEvent) {
        let mask = event.ready.0 & !(READ_CLOSED | WRITE_CLOSED);
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            if cur & TICK_MASK != event.tick {
                return;
            }
            let new = cur & !mask;
            if new == cur {
                return;
            }
            match self.readiness.compare_exchange_weak(
                cur,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Drops the stored wakers (the resource is going away).
    pub fn clear_wakers(&self) {
        let (r, w) = {
            let mut w = self.waiters.lock();
            (w.reader.take(), w.writer.take())
        };
        drop((r, w));
    }
}
