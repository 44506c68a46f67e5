//! The timer entry: the part of a [`Sleep`](crate::Sleep) that the wheel links to.
//!
//! # Ownership and memory
//!
//! An entry lives *inside* the `Sleep` that owns it (intrusive: no allocation per timer).
//! The `Sleep` is `!Unpin`; an entry is only ever linked into the wheel through a
//! `Pin<&mut Sleep>`, so its address is stable until its destructor runs, and the
//! destructor unlinks it first (the pin "drop guarantee"). The wheel therefore holds raw
//! pointers that are valid for as long as the entry is linked.
//!
//! # "The driver lock"
//!
//! The wheel is sharded (one per runtime worker, `shard.rs`); an entry is only ever
//! linked into the wheel of one shard, recorded in its `shard` field on its first
//! registration. Below, "the driver lock" means that shard's lock: the driver takes it
//! to fire the shard's entries, the owner to register, cancel or re-arm its entry.
//!
//! # State word
//!
//! Each entry has one `AtomicU8` state word. Two bits are used:
//!
//! ```text
//!   bit 0  REGISTERED   the entry is linked into the driver's wheel (a slot list, or the
//!                       wheel's `pending` list of entries about to fire). While it is set
//!                       the driver may touch the entry's links and read its waker.
//!   bit 1  FIRED        the deadline was reached (or the driver shut down). The driver
//!                       will never touch the entry again.
//! ```
//!
//! Valid values are `IDLE` (0b00), `REGISTERED` (0b01) and `FIRED` (0b10); both bits are
//! never set at once.
//!
//! Transitions, and who makes them:
//!
//! ```text
//!   IDLE       -> REGISTERED   owner, under the driver lock (first poll, or reset)
//!   IDLE       -> FIRED        owner, under the driver lock (deadline already passed when
//!                              registering, or the driver is shut down)
//!   REGISTERED -> FIRED        driver, under the driver lock; this Release store is the
//!                              driver's LAST access to the entry's memory
//!   REGISTERED -> IDLE         owner, under the driver lock (reset unlinks it, or drop)
//!   FIRED      -> IDLE         owner, under the driver lock (reset re-arms it)
//! ```
//!
//! Every *write* of the state happens with the driver lock held, so the lock alone
//! orders them. The atomic exists so that the owner can *read* the state without the
//! lock: `poll` of an elapsed `Sleep` returns `Ready` on an Acquire load of `FIRED`, and
//! dropping a `Sleep` that is `IDLE` or `FIRED` frees it without taking the lock. An
//! Acquire load of `FIRED` synchronises with the driver's Release store, which comes
//! after every other driver access to the entry, so freeing after it cannot race with the
//! driver (the same argument that lets `Arc` free after its last decrement). A `Sleep`
//! dropped while `REGISTERED` takes the lock and re-reads the state: either the driver
//! fired it meanwhile (nothing to do), or it is still linked and the owner unlinks it
//! while the driver is excluded.
//!
//! # The waker slot
//!
//! The waker is *written* only by the owner, and only under the driver lock. It is *read*
//! by the driver under the lock (the driver clones it when firing; it never takes it out)
//! and by the owner without the lock (`will_wake` check on re-poll). Readers never race
//! with a writer: the owner cannot race with itself, and the driver reads only while
//! holding the lock that every write needs. That is what makes a lock-free re-poll with
//! an unchanged waker correct: if the driver fires between the owner's state load and the
//! owner returning `Pending`, the driver woke a clone of that very waker.

use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;
use std::task::Waker;

use magpie_base::loom::cell::UnsafeCell;
use magpie_base::loom::sync::atomic::AtomicU8;

/// Not linked, not fired (never polled, or unlinked by reset/drop).
pub(crate) const IDLE: u8 = 0b00;
/// Linked into the wheel; the driver may touch the entry.
pub(crate) const REGISTERED: u8 = 0b01;
/// Fired; the driver is done with the entry.
pub(crate) const FIRED: u8 = 0b10;

/// Location value: not in any list.
pub(crate) const LOC_NONE: u16 = u16::MAX;
/// Location value: in the wheel's `pending` list (due, about to fire).
pub(crate) const LOC_PENDING: u16 = u16::MAX - 1;

/// The shared part of a timer entry (see the module docs for the protocol).
pub(crate) struct EntryShared {
    /// `IDLE`, `REGISTERED` or `FIRED`.
    pub(crate) state: AtomicU8,
    /// List links and wheel bookkeeping; only accessed with the driver lock held.
    pub(crate) links: UnsafeCell<Links>,
    /// Task to wake when the entry fires. Written by the owner under the lock; read by
    /// the driver under the lock and by the owner at any time.
    pub(crate) waker: UnsafeCell<Option<Waker>>,
    /// The wheel shard whose lock is "the driver lock" for this entry: chosen by the
    /// owner on the first registration and kept for the entry's life (`NO_SHARD`
    /// before). Only the owner reads or writes it (a std atomic, so that `Sleep` stays
    /// `Sync`; it sits in what would be padding after `state`).
    pub(crate) shard: AtomicU32,
}

/// `EntryShared::shard` before the first registration.
pub(crate) const NO_SHARD: u32 = u32::MAX;

/// Pointer to a linked entry, as the wheel stores it.
pub(crate) type EntryPtr = NonNull<EntryShared>;

/// Wheel bookkeeping of one entry (guarded by the driver lock).
pub(crate) struct Links {
    pub(crate) prev: Option<EntryPtr>,
    pub(crate) next: Option<EntryPtr>,
    /// Which list holds the entry: `level * 64 + slot`, `LOC_PENDING` or `LOC_NONE`.
    pub(crate) loc: u16,
    /// The deadline, in wheel ticks (milliseconds since the driver started).
    pub(crate) deadline: u64,
}

impl EntryShared {
    pub(crate) fn new() -> EntryShared {
        EntryShared {
            state: AtomicU8::new(IDLE),
            links: UnsafeCell::new(Links {
                prev: None,
                next: None,
                loc: LOC_NONE,
                deadline: 0,
            }),
            waker: UnsafeCell::new(None),
            shard: AtomicU32::new(NO_SHARD),
        }
    }
}

/// Runs `f` on the links of `e`.
///
/// # Safety
///
/// The caller holds the driver lock (or otherwise has exclusive access to the links of
/// `e`), `e` points to a live entry, and `f` does not itself access the links of `e`.
#[inline]
pub(crate) unsafe fn with_links<R>(e: EntryPtr, f: impl FnOnce(&mut Links) -> R) -> R {
    // SAFETY: `e` is live (caller). The links are only accessed under the driver lock,
    // which the caller holds, and `f` does not re-enter them, so this `&mut` is unique.
    unsafe { e.as_ref().links.with_mut(|p| f(&mut *p)) }
}

/// An intrusive doubly linked list of entries (FIFO).
#[derive(Debug, Default)]
pub(crate) struct List {
    head: Option<EntryPtr>,
    tail: Option<EntryPtr>,
}

impl List {
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Appends `e`.
    ///
    /// # Safety
    ///
    /// Driver lock held; `e` is live and in no list.
    pub(crate) unsafe fn push_back(&mut self, e: EntryPtr) {
        let tail = self.tail;
        // SAFETY: lock held, `e` live (caller).
        unsafe {
            with_links(e, |l| {
                l.prev = tail;
                l.next = None;
            })
        };
        match tail {
            // SAFETY: `t` is in this list, hence live (entries unlink before they die).
            Some(t) => unsafe { with_links(t, |l| l.next = Some(e)) },
            None => self.head = Some(e),
        }
        self.tail = Some(e);
    }

    /// Removes and returns the first entry.
    ///
    /// # Safety
    ///
    /// Driver lock held.
    pub(crate) unsafe fn pop_front(&mut self) -> Option<EntryPtr> {
        let head = self.head?;
        // SAFETY: `head` is in this list, hence live; lock held.
        let next = unsafe {
            with_links(head, |l| {
                l.prev = None;
                l.next.take()
            })
        };
        self.head = next;
        match next {
            // SAFETY: `n` is in this list, hence live.
            Some(n) => unsafe { with_links(n, |l| l.prev = None) },
            None => self.tail = None,
        }
        Some(head)
    }

    /// Unlinks `e`.
    ///
    /// # Safety
    ///
    /// Driver lock held; `e` is live and in *this* list.
    pub(crate) unsafe fn remove(&mut self, e: EntryPtr) {
        // SAFETY: lock held, `e` live and in this list (caller).
        let (prev, next) = unsafe { with_links(e, |l| (l.prev.take(), l.next.take())) };
        match prev {
            // SAFETY: neighbours of a listed entry are in the list, hence live.
            Some(p) => unsafe { with_links(p, |l| l.next = next) },
            None => self.head = next,
        }
        match next {
            // SAFETY: as above.
            Some(n) => unsafe { with_links(n, |l| l.prev = prev) },
            None => self.tail = prev,
        }
    }
}
