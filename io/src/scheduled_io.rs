//! Per-resource readiness state: one atomic word, and under one small mutex the wakers
//! of the tasks waiting on it.
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
//! # Who waits (`ScheduledIo::waiters`, a mutex)
//!
//! * Two single slots, `reader` and `writer`, for the `poll_*` methods
//!   ([`ScheduledIo::poll_ready`]: `poll_read_ready`, `poll_accept`, `AsyncRead::poll_read`
//!   ...). As in tokio, only the waker of the most recent call per direction is kept:
//!   these are for one task driving the resource.
//! * A waiter list for the futures ([`Readiness`]: `accept()`, `recv_from()`,
//!   `readable()`, `ready(interest)` ...), any number of them per direction. It is a
//!   slab (`Vec` of entries plus a free list) so the futures need no `unsafe` and stay
//!   movable until first polled; each future owns its entry's key from its first
//!   `Pending` until it completes or is dropped. The idea (a per-resource list of
//!   waiters, each with its interest, all satisfied ones woken by one event) is tokio's
//!   `ScheduledIo` (tokio/src/runtime/io/scheduled_io.rs), which uses an intrusive list.
//!
//! An entry is `Vacant(next free)` or `Waiting { interest, waker }`. Transitions, all
//! under the mutex:
//!
//! ```text
//!  Vacant ──poll: Pending (insert, waker = Some)──────────► Waiting{Some}
//!  Waiting{Some} ──driver event matching interest (take)──► Waiting{None}
//!  Waiting{None|Some} ──poll: Pending again (replace)─────► Waiting{Some}
//!  Waiting{..} ──poll: Ready / future dropped (remove)────► Vacant
//! ```
//!
//! When the last `Waiting` entry is removed the list is emptied (its capacity kept), so
//! an event scans at most the entries registered since the list was last empty.
//!
//! # Protocol
//!
//! * The **driver** ([`ScheduledIo::set_readiness`]) ORs the event's bits into the word
//!   and bumps `TICK` in one RMW, *then* locks `waiters` and takes (moves out) the waker
//!   of every slot and every list entry whose interest the event satisfies; the caller
//!   wakes them after unlocking. An event wakes **every** waiter of its direction.
//! * A **task** loads the word; if its interest is ready it gets a [`ReadyEvent`] (the
//!   bits and the tick it saw). Otherwise it clones its waker (outside the lock), locks
//!   `waiters`, stores the clone, and loads the word *again* before unlocking. Either
//!   the driver's lock came after ours (it finds our waker) or before (our second load,
//!   ordered after its unlock, sees its bits): no wake-up is lost.
//! * When the operation then fails with `WouldBlock`, the task calls
//!   [`ScheduledIo::clear_readiness`] with the event: a CAS that clears those bits only if
//!   `TICK` still equals the event's tick. If the driver delivered a new event in between
//!   (the tick moved), the bits stay set and the task retries instead of sleeping through
//!   an edge that edge-triggered epoll will not repeat. A 16-bit tick could only be
//!   fooled by exactly 65,536 events on this resource between the load and the CAS.
//! * Cancellation: a dropped [`Readiness`] removes its entry. Since an event wakes every
//!   waiter, a woken waiter that is dropped before it runs takes nothing from the others
//!   (each was woken too, and re-checks the word when it runs).
//! * No waker is cloned, dropped or woken while the mutex is held: user code in a
//!   waker's `clone`/`drop`/`wake` may touch this same resource (and lock it again).
//!   Replaced and removed wakers are carried out of the critical section and dropped
//!   after it.
//! * [`ScheduledIo::shutdown`] sets `SHUTDOWN` and wakes everyone; waiting then reports
//!   an error forever.
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

/// No next free entry.
const NONE: usize = usize::MAX;

enum Entry {
    /// Free; the index of the next free entry (or [`NONE`]).
    Vacant(usize),
    /// A [`Readiness`] future waiting; `waker` is `None` once the driver took it.
    Waiting {
        interest: usize,
        waker: Option<Waker>,
    },
}

struct Waiters {
    /// The `poll_*` methods' waker per direction (most recent call wins).
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// The futures' waiter list (see the module docs).
    list: Vec<Entry>,
    free: usize,
    /// Entries in `Waiting` state. When it drops to 0 the list is emptied (capacity
    /// kept), so an event scans at most the entries since the list was last empty.
    waiting: usize,
}

impl Waiters {
    fn insert(&mut self, interest: usize, waker: Waker) -> usize {
        let entry = Entry::Waiting {
            interest,
            waker: Some(waker),
        };
        self.waiting += 1;
        if self.free == NONE {
            self.list.push(entry);
            self.list.len() - 1
        } else {
            let key = self.free;
            match std::mem::replace(&mut self.list[key], entry) {
                Entry::Vacant(next) => self.free = next,
                Entry::Waiting { .. } => unreachable!("free list points at a waiting entry"),
            }
            key
        }
    }

    /// Stores `waker` in `key`'s entry; returns the one it replaces (drop it unlocked).
    fn replace(&mut self, key: usize, waker: Waker) -> Option<Waker> {
        match &mut self.list[key] {
            Entry::Waiting { waker: w, .. } => w.replace(waker),
            Entry::Vacant(_) => unreachable!("a waiter's key names a vacant entry"),
        }
    }

    /// Frees `key`'s entry; returns its waker (drop it unlocked).
    fn remove(&mut self, key: usize) -> Option<Waker> {
        let old = std::mem::replace(&mut self.list[key], Entry::Vacant(self.free));
        self.free = key;
        self.waiting -= 1;
        if self.waiting == 0 {
            // No key is outstanding: start over (no allocation, the capacity stays).
            self.list.clear();
            self.free = NONE;
        }
        match old {
            Entry::Waiting { waker, .. } => waker,
            Entry::Vacant(_) => unreachable!("a waiter's key names a vacant entry"),
        }
    }

    /// Moves out the wakers of every waiter that `ready` satisfies.
    fn take_satisfied(&mut self, ready: usize, wakers: &mut Vec<Waker>) {
        if ready & Direction::Read.mask().0 != 0 {
            wakers.extend(self.reader.take());
        }
        if ready & Direction::Write.mask().0 != 0 {
            wakers.extend(self.writer.take());
        }
        for entry in &mut self.list {
            if let Entry::Waiting { interest, waker } = entry {
                if *interest & ready != 0 {
                    wakers.extend(waker.take());
                }
            }
        }
    }
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
    /// Nothing ready, no waiter.
    pub fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters {
                reader: None,
                writer: None,
                list: Vec::new(),
                free: NONE,
                waiting: 0,
            }),
        }
    }

    /// Driver side: records `ready` (ORing it in and bumping the tick), then pushes onto
    /// `wakers` the wakers of every waiter it satisfies (both `poll_*` slots and list
    /// entries). The caller wakes them after releasing any lock of its own.
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
        self.waiters.lock().take_satisfied(ready.0, wakers);
    }

    /// Marks the resource shut down and wakes every waiter. Idempotent.
    pub fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let mut wakers = Vec::new();
        self.waiters.lock().take_satisfied(READY_MASK, &mut wakers);
        for w in wakers {
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
        self.ready_in(dir.mask())
    }

    /// The current readiness among `interest`'s bits (a [`Direction::mask`] or a union
    /// of them), without registering interest: `Ok(None)` when not ready.
    pub fn ready_in(&self, interest: Ready) -> Result<Option<ReadyEvent>, Shutdown> {
        let word = self.readiness.load(Ordering::Acquire);
        if word & SHUTDOWN != 0 {
            return Err(Shutdown);
        }
        let ready = Ready(word) & interest;
        if ready.is_empty() {
            Ok(None)
        } else {
            Ok(Some(ReadyEvent {
                ready,
                tick: word & TICK_MASK,
            }))
        }
    }

    /// Task side, for the `poll_*` methods: ready in `dir`, or stores `cx`'s waker in
    /// the direction's single slot (replacing the previous caller's) and returns
    /// `Pending`. Futures that may wait together use [`Readiness`] instead.
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<Result<ReadyEvent, Shutdown>> {
        if let Some(ev) = self.ready_now(dir).transpose() {
            return Poll::Ready(ev);
        }
        // Cloned before locking, and the replaced waker dropped after unlocking: both
        // run user code that may touch this resource.
        let waker = cx.waker().clone();
        let (old, res) = {
            let mut w = self.waiters.lock();
            let slot = match dir {
                Direction::Read => &mut w.reader,
                Direction::Write => &mut w.writer,
            };
            let old = slot.replace(waker);
            // Re-check under the lock: the driver sets bits before it takes the lock.
            (old, self.ready_now(dir).transpose())
        };
        drop(old);
        match res {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// Task side, for [`Readiness`]: ready among `interest`, or registers (or refreshes)
    /// the waiter `key` with `cx`'s waker and returns `Pending`. On `Ready` the entry is
    /// freed and `key` reset.
    fn poll_waiter(
        &self,
        key: &mut Option<usize>,
        interest: Ready,
        cx: &mut Context<'_>,
    ) -> Poll<Result<ReadyEvent, Shutdown>> {
        if let Some(ev) = self.ready_in(interest).transpose() {
            self.remove_waiter(key);
            return Poll::Ready(ev);
        }
        let waker = cx.waker().clone(); // user code: outside the lock
        let (old, removed, res) = {
            let mut w = self.waiters.lock();
            let old = match *key {
                Some(k) => w.replace(k, waker),
                None => {
                    *key = Some(w.insert(interest.0, waker));
                    None
                }
            };
            // Re-check under the lock: the driver sets bits before it takes the lock.
            let res = self.ready_in(interest).transpose();
            let removed = match (&res, key.take()) {
                (Some(_), Some(k)) => w.remove(k),
                (None, k) => {
                    *key = k;
                    None
                }
                (Some(_), None) => None,
            };
            (old, removed, res)
        };
        drop((old, removed));
        match res {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    /// Frees the waiter `key` (if any) and drops its waker after unlocking.
    fn remove_waiter(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let waker = self.waiters.lock().remove(k);
            drop(waker);
        }
    }

    /// A future that resolves when the resource is ready among `interest` (one of
    /// [`Direction::mask`], or their union); any number may wait at once.
    pub fn readiness(&self, interest: Ready) -> Readiness<'_> {
        Readiness {
            io: self,
            interest: interest & Ready(READY_MASK),
            key: None,
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

    /// Drops the `poll_*` slots' wakers (the resource is going away; no [`Readiness`]
    /// can outlive it, they borrow it).
    pub fn clear_wakers(&self) {
        let (r, w) = {
            let mut w = self.waiters.lock();
            (w.reader.take(), w.writer.take())
        };
        drop((r, w));
    }

    /// The number of [`Readiness`] futures registered (for tests).
    #[doc(hidden)]
    pub fn num_waiters(&self) -> usize {
        let w = self.waiters.lock();
        debug_assert_eq!(
            w.waiting,
            w.list
                .iter()
                .filter(|e| matches!(e, Entry::Waiting { .. }))
                .count()
        );
        w.waiting
    }
}

/// Waits for readiness as one entry of the resource's waiter list (see the module
/// docs). Poll it with [`Readiness::poll`], or `.await` it. Dropping it removes the
/// entry (cancellation safe).
pub struct Readiness<'a> {
    io: &'a ScheduledIo,
    interest: Ready,
    key: Option<usize>,
}

impl Readiness<'_> {
    /// Ready (the bits among the interest, and the tick: hand it to
    /// [`ScheduledIo::clear_readiness`] on `WouldBlock`), or `Pending` with `cx`'s waker
    /// registered. May be polled again after `Ready` (it waits anew).
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<ReadyEvent, Shutdown>> {
        self.io.poll_waiter(&mut self.key, self.interest, cx)
    }
}

impl std::future::Future for Readiness<'_> {
    type Output = Result<ReadyEvent, Shutdown>;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Readiness::poll(self.get_mut(), cx)
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        self.io.remove_waiter(&mut self.key);
    }
}

impl fmt::Debug for Readiness<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("interest", &self.interest)
            .field("registered", &self.key.is_some())
            .finish()
    }
}
