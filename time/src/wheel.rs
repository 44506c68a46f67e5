//! The hierarchical timing wheel.
//!
//! Six levels of 64 slots. A tick is one millisecond. Level `k` has slots `64^k` ticks
//! wide, so level 0 covers the next 64 ms one millisecond at a time, level 1 the next
//! 4 s in 64 ms steps, ... and level 5 about 795 days in 12.4-day steps. (The layout is
//! the classic one of Varghese and Lauck's hierarchical timing wheels, as also used by
//! tokio and the Linux kernel; the code here is our own.)
//!
//! Each slot is an intrusive doubly linked list of entries, and each level keeps a `u64`
//! bitmap of occupied slots, so that:
//!
//! * insert is O(1): pick the level from the highest bit in which the deadline differs
//!   from the wheel's current time (`elapsed`), the slot from the deadline's bits at that
//!   level, and push onto the list;
//! * cancel is O(1): each entry remembers which list it is in, and unlinks itself;
//! * finding the next deadline is O(levels): one `trailing_zeros` per level's bitmap.
//!
//! # Invariants
//!
//! * An entry placed at level `k` agrees with `elapsed` in every bit above `6(k+1)`, so
//!   its slot is ahead of the level's current slot by 1..=63 positions (0 only at level
//!   0, meaning "due now"). The lowest non-empty level therefore holds the earliest
//!   deadline.
//! * `elapsed` only moves forward, to the start of a slot being processed or to `now`
//!   after every slot starting at or before `now` has been processed; it never moves into
//!   the range of an occupied slot without processing it first.
//!
//! # Firing in deadline order
//!
//! Processing a slot at level `k > 0` does not fire its entries wholesale: `elapsed` is
//! set to the slot's start, entries whose deadline *is* that tick move to the `pending`
//! list, and the others are re-inserted relative to the new `elapsed`, which puts them on
//! a lower level. So entries leave the wheel in exact tick order, and entries due in the
//! same tick in insertion order.
//!
//! # Deadlines beyond the wheel
//!
//! A deadline more than `MAX_SPAN` ticks ahead (about 780 days) is *placed* at
//! `elapsed + MAX_SPAN` (level 5) while it keeps its true deadline; when that slot is
//! processed the entry is not due yet, and is placed again. A 30-year sleep costs about
//! 14 such re-placements in 30 years.

use crate::entry::{EntryPtr, LOC_NONE, LOC_PENDING, List, with_links};

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = (SLOTS as u64) - 1;

/// How far ahead of `elapsed` an entry may be placed: 63 level-5 slots, so that its
/// level-5 slot is never the current one.
const MAX_SPAN: u64 = (SLOTS as u64 - 1) << (SLOT_BITS * (LEVELS as u32 - 1));

/// The largest tick the driver uses; every deadline is clamped to it. Small enough that
/// adding `MAX_SPAN` or 1 never overflows.
pub(crate) const MAX_TICK: u64 = 1 << 62;

struct Level {
    /// Bit `s` is set iff `slots[s]` is non-empty.
    occupied: u64,
    slots: [List; SLOTS],
}

/// The next slot to process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiration {
    level: usize,
    slot: usize,
    /// Start tick of the slot: when it must be processed.
    deadline: u64,
}

pub(crate) struct Wheel {
    /// Every slot starting at or before this tick has been processed.
    elapsed: u64,
    levels: [Level; LEVELS],
    /// Due entries taken out of their slot, about to fire (in deadline order).
    pending: List,
    /// Number of linked entries (slots plus `pending`).
    len: usize,
}

// SAFETY: the wheel holds raw pointers to entries that are shared with their owners by
// the protocol in `entry.rs`; the wheel itself is only used under the driver lock, and
// entries are `Send + Sync` by that protocol.
unsafe impl Send for Wheel {}

/// Level at which an entry with placement tick `when` (> or = `elapsed`) goes.
fn level_for(elapsed: u64, when: u64) -> usize {
    // Or-ing in the slot mask makes level 0 the answer when only the low bits differ.
    let masked = (elapsed ^ when) | SLOT_MASK;
    let significant = 63 - masked.leading_zeros();
    // A placement up to MAX_SPAN ahead can still differ from `elapsed` above bit 36
    // (when it crosses a multiple of 2^36); it belongs on the top level, where its slot
    // is 1..=63 positions ahead of the current one, which is all `next_expiration`
    // needs.
    ((significant / SLOT_BITS) as usize).min(LEVELS - 1)
}

fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (SLOT_BITS * level as u32)) & SLOT_MASK) as usize
}

impl Level {
    fn new() -> Level {
        Level {
            occupied: 0,
            slots: std::array::from_fn(|_| List::default()),
        }
    }

    /// The first occupied slot at or after the one `elapsed` is in, with its start tick.
    fn next_expiration(&self, level: usize, elapsed: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let shift = SLOT_BITS * level as u32;
        let current = (elapsed >> shift) & SLOT_MASK;
        let distance = u64::from(self.occupied.rotate_right(current as u32).trailing_zeros());
        let slot = ((current + distance) & SLOT_MASK) as usize;
        let deadline = ((elapsed >> shift) + distance) << shift;
        Some(Expiration {
            level,
            slot,
            deadline,
        })
    }
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level::new()),
            pending: List::default(),
            len: 0,
        }
    }

    /// The tick up to which the wheel has been processed.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of linked entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Links `e` with `deadline` (in ticks).
    ///
    /// # Safety
    ///
    /// Driver lock held; `e` is live, in no list, and stays live until it is removed or
    /// returned by [`Wheel::poll`]/[`Wheel::drain`]. `deadline > self.elapsed()`.
    pub(crate) unsafe fn insert(&mut self, e: EntryPtr, deadline: u64) {
        debug_assert!(deadline > self.elapsed);
        // SAFETY: forwarded from the caller.
        unsafe { self.place(e, deadline) };
        self.len += 1;
    }

    /// # Safety
    ///
    /// As for [`Wheel::insert`]; `deadline` may equal `elapsed` (level 0, due now).
    unsafe fn place(&mut self, e: EntryPtr, deadline: u64) {
        let when = deadline.min(self.elapsed + MAX_SPAN);
        let level = level_for(self.elapsed, when);
        let slot = slot_for(when, level);
        // SAFETY: lock held and `e` live (caller).
        unsafe {
            with_links(e, |l| {
                l.loc = (level * SLOTS + slot) as u16;
                l.deadline = deadline;
            });
            self.levels[level].slots[slot].push_back(e);
        }
        self.levels[level].occupied |= 1 << slot;
    }

    /// Unlinks `e` from whichever list holds it (no-op if none).
    ///
    /// # Safety
    ///
    /// Driver lock held; `e` is live and, if linked, linked into *this* wheel.
    pub(crate) unsafe fn remove(&mut self, e: EntryPtr) {
        // SAFETY: lock held, `e` live.
        let loc = unsafe { with_links(e, |l| std::mem::replace(&mut l.loc, LOC_NONE)) };
        match loc {
            LOC_NONE => return,
            // SAFETY: `loc` says `e` is in `pending`.
            LOC_PENDING => unsafe { self.pending.remove(e) },
            loc => {
                let (level, slot) = (loc as usize / SLOTS, loc as usize % SLOTS);
                let lvl = &mut self.levels[level];
                // SAFETY: `loc` says `e` is in this slot's list.
                unsafe { lvl.slots[slot].remove(e) };
                if lvl.slots[slot].is_empty() {
                    lvl.occupied &= !(1 << slot);
                }
            }
        }
        self.len -= 1;
    }

    fn next_expiration(&self) -> Option<Expiration> {
        // The lowest non-empty level holds the earliest deadline (module invariants).
        self.levels
            .iter()
            .enumerate()
            .find_map(|(k, lvl)| lvl.next_expiration(k, self.elapsed))
    }

    /// The tick at which the next entry is due, if any.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if !self.pending.is_empty() {
            return Some(self.elapsed);
        }
        self.next_expiration().map(|e| e.deadline)
    }

    /// Returns the next entry due at or before `now`, unlinked (its `loc` is `LOC_NONE`),
    /// or `None` once none is due; then `elapsed` is `now` (or more, if it was already).
    ///
    /// # Safety
    ///
    /// Driver lock held.
    pub(crate) unsafe fn poll(&mut self, now: u64) -> Option<EntryPtr> {
        loop {
            // SAFETY: lock held; entries in `pending` are live (they unlink on drop).
            if let Some(e) = unsafe { self.pending.pop_front() } {
                // SAFETY: `e` was just in `pending`, so live.
                unsafe { with_links(e, |l| l.loc = LOC_NONE) };
                self.len -= 1;
                return Some(e);
            }
            match self.next_expiration() {
                // SAFETY: lock held.
                Some(exp) if exp.deadline <= now => unsafe { self.process(exp) },
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Empties slot `exp`: due entries go to `pending`, the others one level down.
    ///
    /// # Safety
    ///
    /// Driver lock held.
    unsafe fn process(&mut self, exp: Expiration) {
        debug_assert!(exp.deadline >= self.elapsed);
        self.elapsed = exp.deadline;
        let lvl = &mut self.levels[exp.level];
        let mut list = std::mem::take(&mut lvl.slots[exp.slot]);
        lvl.occupied &= !(1 << exp.slot);
        // SAFETY: lock held; every entry of the slot is live (entries unlink before
        // they die), and once popped it is in no list, as `push_back`/`place` require.
        unsafe {
            while let Some(e) = list.pop_front() {
                let deadline = with_links(e, |l| l.deadline);
                if deadline <= exp.deadline {
                    with_links(e, |l| l.loc = LOC_PENDING);
                    self.pending.push_back(e);
                } else {
                    self.place(e, deadline);
                }
            }
        }
    }

    /// Removes and returns any linked entry, ignoring deadlines (for shutdown).
    ///
    /// # Safety
    ///
    /// Driver lock held.
    pub(crate) unsafe fn drain(&mut self) -> Option<EntryPtr> {
        let Some(exp) = self.levels.iter().enumerate().find_map(|(k, lvl)| {
            (lvl.occupied != 0).then(|| Expiration {
                level: k,
                slot: lvl.occupied.trailing_zeros() as usize,
                deadline: 0,
            })
        }) else {
            // SAFETY: lock held.
            return unsafe { self.poll(self.elapsed) };
        };
        let lvl = &mut self.levels[exp.level];
        // SAFETY: lock held; slot entries are live.
        let e = unsafe { lvl.slots[exp.slot].pop_front() }.expect("occupied slot is empty");
        if lvl.slots[exp.slot].is_empty() {
            lvl.occupied &= !(1 << exp.slot);
        }
        // SAFETY: `e` was just in a slot, so live.
        unsafe { with_links(e, |l| l.loc = LOC_NONE) };
        self.len -= 1;
        Some(e)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::entry::EntryShared;
    use std::ptr::NonNull;

    // Entries must not move once linked: the Vec is built once and never grown.
    fn entries(n: usize) -> Vec<EntryShared> {
        (0..n).map(|_| EntryShared::new()).collect()
    }

    fn ptr(e: &EntryShared) -> EntryPtr {
        NonNull::from(e)
    }

    fn deadline_of(e: EntryPtr) -> u64 {
        // SAFETY: single-threaded test, entry live.
        unsafe { with_links(e, |l| l.deadline) }
    }

    #[test]
    fn level_and_slot() {
        assert_eq!(level_for(0, 0), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(60, 70), 1);
        assert_eq!(level_for(5, MAX_SPAN + 5), 5);
        assert_eq!(slot_for(70, 1), 1);
    }

    #[test]
    fn fires_in_order_with_cascade() {
        let es = entries(6);
        let deadlines = [5000u64, 3, 70, 64, 1 << 33, 4096];
        let mut w = Wheel::new();
        for (e, &d) in es.iter().zip(&deadlines) {
            // SAFETY: entries outlive the wheel's use of them.
            unsafe { w.insert(ptr(e), d) };
        }
        assert_eq!(w.len(), 6);
        let mut sorted = deadlines.to_vec();
        sorted.sort();
        let mut got = Vec::new();
        for &d in &sorted {
            assert_eq!(w.next_deadline().map(|n| n <= d), Some(true));
            // SAFETY: single-threaded.
            while let Some(e) = unsafe { w.poll(d) } {
                got.push(deadline_of(e));
            }
        }
        assert_eq!(got, sorted);
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn not_fired_early() {
        let es = entries(1);
        let mut w = Wheel::new();
        // SAFETY: entry outlives use.
        unsafe { w.insert(ptr(&es[0]), 1000) };
        // SAFETY: single-threaded.
        unsafe {
            assert!(w.poll(999).is_none());
            assert_eq!(w.elapsed(), 999);
            assert_eq!(w.next_deadline(), Some(1000));
            assert!(w.poll(1000).is_some());
        }
    }

    #[test]
    fn remove_from_slot_and_pending() {
        let es = entries(3);
        let mut w = Wheel::new();
        // SAFETY: single-threaded, entries outlive use.
        unsafe {
            w.insert(ptr(&es[0]), 10);
            w.insert(ptr(&es[1]), 10);
            w.insert(ptr(&es[2]), 200);
            w.remove(ptr(&es[2]));
            assert_eq!(w.next_deadline(), Some(10));
            let first = w.poll(500).unwrap();
            assert_eq!(first, ptr(&es[0]));
            // es[1] now sits in `pending`; removing it must work.
            w.remove(ptr(&es[1]));
            assert!(w.poll(500).is_none());
            assert_eq!(w.len(), 0);
        }
    }

    #[test]
    fn far_deadline_is_replaced_until_due() {
        let es = entries(1);
        let mut w = Wheel::new();
        let far = MAX_SPAN * 3 + 12345;
        // SAFETY: single-threaded, entry outlives use.
        unsafe {
            w.insert(ptr(&es[0]), far);
            let mut now = 0;
            let mut steps = 0;
            while let Some(d) = w.next_deadline() {
                assert!(d > now || d == far);
                now = d;
                steps += 1;
                if let Some(e) = w.poll(now) {
                    assert_eq!(deadline_of(e), far);
                    assert_eq!(now, far);
                    break;
                }
                assert!(steps < 100);
            }
        }
    }

    #[test]
    fn random_deadlines_fire_sorted() {
        let n = if cfg!(miri) { 200 } else { 2000 };
        let es = entries(n);
        let mut w = Wheel::new();
        let mut seed = 0x1234_5678u64;
        let mut ds = Vec::new();
        for e in &es {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let d = 1 + (seed >> 33) % 10_000_000;
            ds.push(d);
            // SAFETY: single-threaded, entries outlive use.
            unsafe { w.insert(ptr(e), d) };
        }
        let mut got = Vec::new();
        while let Some(next) = w.next_deadline() {
            // SAFETY: single-threaded.
            while let Some(e) = unsafe { w.poll(next) } {
                assert_eq!(deadline_of(e), next);
                got.push(next);
            }
        }
        ds.sort();
        assert_eq!(got, ds);
    }
}
