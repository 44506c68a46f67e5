//! The message queue of [`mpsc`](crate::mpsc): a lock-free, append-only linked list of
//! fixed-size blocks.
//!
//! # Structure
//!
//! ```text
//!  free_head        head (rx)                     block_tail (tx)
//!     |               |                                 |
//!  [ 0..32 ] -> [ 32..64 ] -> [ 64..96 ] -> ... -> [ k..k+32 ] -> null
//! ```
//!
//! Every message gets a global slot index from one `fetch_add` on `tail_position`; slot
//! `i` lives in the block whose `start` is `i` rounded down to `BLOCK_CAP`. A sender
//! walks from `block_tail` to that block (allocating missing blocks with a CAS on
//! `next`), writes the value, and sets the slot's bit in the block's `ready` word
//! (release). The single receiver reads slot `index` when its bit is set (acquire), in
//! index order, so messages come out in the order their indices were taken.
//!
//! # The `ready` word of a block
//!
//! ```text
//!  bits 0..BLOCK_CAP   slot i holds a written, unread-by-the-list value
//!  bit BLOCK_CAP       RELEASED: `block_tail` has moved past this block and
//!                      `observed_tail` is valid
//!  bit BLOCK_CAP+1     TX_CLOSED: the last sender closed the channel; the close
//!                      marker's index is in this block
//! ```
//!
//! # Reclaiming blocks
//!
//! A sender that walks past a block whose slots are all written ("final") tries to move
//! `block_tail` past it (CAS). The winner then reads `tail_position` with an RMW (so it
//! sees every index handed out before its CAS) into `observed_tail`, and sets RELEASED.
//! Any sender that could still be looking at the block loaded `block_tail` before that
//! CAS, so it took its index before `observed_tail` was read: its index is below
//! `observed_tail`. The receiver frees a released block only once it has consumed every
//! index below `observed_tail`, i.e. once every such sender has finished its push (the
//! ready bit is a sender's last access to the list).
//!
//! A reclaimed block is not freed but kept as the list's one `spare` (an `AtomicPtr`
//! written with `swap` only: the receiver puts a reclaimed block there, freeing the
//! spare it replaces; a sender that needs a new block takes the spare, or allocates if
//! there is none; a sender that loses the race to link its new block puts it back).
//! Whoever `swap`s a block out owns it alone, exactly as if it had just been allocated,
//! so reuse needs no argument beyond the reclamation one above; the `swap`s (AcqRel)
//! order the previous owner's last access before the next owner's reset. This saves a
//! `malloc`/`free` pair, the free often on another thread than the malloc, per
//! `BLOCK_CAP` messages in a steady stream (issue 18).
//!
//! # Closing
//!
//! When the last sender goes, it takes one more index and sets TX_CLOSED on that
//! index's block. Every earlier push happened before (each sender finishes its pushes
//! before dropping its handle), so the receiver meets the marker only after all
//! messages, and reports the channel closed when its next slot is not ready and
//! TX_CLOSED is set.
//!
//! The block-list idea is the one tokio's mpsc uses (tokio recycles blocks by appending
//! them to the tail; we keep one spare); this is our own code.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

/// Slots per block. Small under loom so that models cross block boundaries.
#[cfg(loom)]
pub(crate) const BLOCK_CAP: usize = 2;
#[cfg(not(loom))]
pub(crate) const BLOCK_CAP: usize = if usize::BITS >= 64 { 32 } else { 16 };

const SLOT_MASK: usize = BLOCK_CAP - 1;
const READY_MASK: usize = (1 << BLOCK_CAP) - 1;
const RELEASED: usize = 1 << BLOCK_CAP;
const TX_CLOSED: usize = 1 << (BLOCK_CAP + 1);

struct Block<T> {
    start: usize,
    next: AtomicPtr<Block<T>>,
    ready: AtomicUsize,
    /// Written once by the sender that releases the block, before RELEASED.
    observed_tail: UnsafeCell<usize>,
    slots: [UnsafeCell<MaybeUninit<T>>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn alloc(start: usize) -> NonNull<Block<T>> {
        #[cfg(test)]
        tests::ALLOCS.with(|n| n.set(n.get() + 1));
        let b = Box::new(Block {
            start,
            next: AtomicPtr::new(ptr::null_mut()),
            ready: AtomicUsize::new(0),
            observed_tail: UnsafeCell::new(0),
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        });
        NonNull::from(Box::leak(b))
    }

    /// # Safety
    ///
    /// `b` came from `alloc`, and nobody else accesses it any more.
    unsafe fn free(b: NonNull<Block<T>>) {
        // SAFETY: per the contract, we own the allocation.
        drop(unsafe { Box::from_raw(b.as_ptr()) });
    }

    /// Makes an owned, unlinked block fresh for slot indices `start..start + BLOCK_CAP`.
    ///
    /// # Safety
    ///
    /// Nobody else accesses `b` (it was just taken out of the spare slot or allocated),
    /// and every value in its slots was already moved out.
    unsafe fn reset(b: NonNull<Block<T>>, start: usize) {
        let p = b.as_ptr();
        // SAFETY: exclusive access per the contract; `start` is written through the raw
        // pointer, the other fields through references to those fields only.
        unsafe {
            ptr::addr_of_mut!((*p).start).write(start);
            (*p).next.store(ptr::null_mut(), Relaxed);
            (*p).ready.store(0, Relaxed);
            (*p).observed_tail.with_mut(|t| *t = 0);
        }
    }

    fn is_final(&self) -> bool {
        self.ready.load(Acquire) & READY_MASK == READY_MASK
    }
}

/// Result of [`Rx::pop`].
pub(crate) enum Read<T> {
    Value(T),
    /// All senders are gone and every message was read.
    Closed,
    /// Nothing to read now.
    Empty,
}

/// The senders' half: shared by all senders.
pub(crate) struct Tx<T> {
    block_tail: AtomicPtr<Block<T>>,
    tail_position: AtomicUsize,
    /// One unlinked block kept for reuse (module docs, "Reclaiming blocks"); null if none.
    spare: AtomicPtr<Block<T>>,
}

/// The receiver's half: used by the receiver only (and by `Drop` of the channel).
pub(crate) struct Rx<T> {
    head: NonNull<Block<T>>,
    free_head: NonNull<Block<T>>,
    index: usize,
}

/// Creates the two halves over one initial block.
pub(crate) fn list<T>() -> (Tx<T>, Rx<T>) {
    let first = Block::alloc(0);
    (
        Tx {
            block_tail: AtomicPtr::new(first.as_ptr()),
            tail_position: AtomicUsize::new(0),
            spare: AtomicPtr::new(ptr::null_mut()),
        },
        Rx {
            head: first,
            free_head: first,
            index: 0,
        },
    )
}

impl<T> Tx<T> {
    /// Appends `value`.
    pub(crate) fn push(&self, value: T) {
        let index = self.tail_position.fetch_add(1, AcqRel);
        let block = self.find_block(index);
        // SAFETY: `find_block` returned the live block holding `index`, which only
        // this sender writes (indices are unique); the receiver reads it only after the
        // ready bit set below.
        unsafe {
            let b = block.as_ref();
            b.slots[index & SLOT_MASK].with_mut(|p| (*p).write(value));
            b.ready.fetch_or(1 << (index & SLOT_MASK), Release);
        }
    }

    /// Appends the close marker (called once, by the last sender).
    pub(crate) fn close(&self) {
        let index = self.tail_position.fetch_add(1, AcqRel);
        let block = self.find_block(index);
        // SAFETY: the block holding the marker is live: its index is not consumed, so
        // the receiver cannot have freed it.
        unsafe { block.as_ref() }.ready.fetch_or(TX_CLOSED, Release);
    }

    /// A fresh block for `start`: the spare if there is one, else a new allocation.
    fn new_block(&self, start: usize) -> NonNull<Block<T>> {
        match NonNull::new(self.spare.swap(ptr::null_mut(), AcqRel)) {
            Some(b) => {
                // SAFETY: swapped out of the spare slot, so it is ours alone; its values
                // were read out before it was put there.
                unsafe { Block::reset(b, start) };
                b
            }
            None => Block::alloc(start),
        }
    }

    /// Keeps `b` as the spare block, freeing the spare it replaces.
    ///
    /// # Safety
    ///
    /// `b` is unlinked or unreachable by any sender (reclaimed), nobody else accesses it,
    /// and its slots hold no value.
    unsafe fn put_spare(&self, b: NonNull<Block<T>>) {
        if let Some(old) = NonNull::new(self.spare.swap(b.as_ptr(), AcqRel)) {
            // SAFETY: swapped out of the spare slot: ours alone, holding no value.
            unsafe { Block::free(old) };
        }
    }

    /// The block holding `index`. The common case, `block_tail` itself, is inlined into
    /// `push`; walking (and growing) the list is not.
    #[inline]
    fn find_block(&self, index: usize) -> NonNull<Block<T>> {
        let start = index & !SLOT_MASK;
        let tail = self.block_tail.load(Acquire);
        // SAFETY: loaded from `block_tail` after taking `index` (see `walk_to`).
        if unsafe { (*tail).start } == start {
            // SAFETY: `block_tail` is never null.
            return unsafe { NonNull::new_unchecked(tail) };
        }
        self.walk_to(tail, start)
    }

    /// Walks from `cur` (loaded from `block_tail`) to the block starting at `start`,
    /// linking new blocks and moving `block_tail` past final ones on the way.
    #[inline(never)]
    fn walk_to(&self, mut cur: *mut Block<T>, start: usize) -> NonNull<Block<T>> {
        let mut may_advance = true;
        loop {
            // SAFETY: we loaded `cur` from `block_tail` after taking `index`, or followed
            // `next` from such a block. Per the reclamation argument (module docs), it is
            // not freed before our push completes.
            let b = unsafe { &*cur };
            if b.start == start {
                // SAFETY: non-null (from block_tail or a non-null `next`).
                return unsafe { NonNull::new_unchecked(cur) };
            }
            debug_assert!(b.start.wrapping_sub(start) as isize <= 0);
            let mut next = b.next.load(Acquire);
            if next.is_null() {
                let new = self.new_block(b.start.wrapping_add(BLOCK_CAP));
                match b
                    .next
                    .compare_exchange(ptr::null_mut(), new.as_ptr(), AcqRel, Acquire)
                {
                    Ok(_) => next = new.as_ptr(),
                    Err(actual) => {
                        // SAFETY: `new` was never published, and holds no value.
                        unsafe { self.put_spare(new) };
                        next = actual;
                    }
                }
            }
            if may_advance && b.is_final() {
                match self.block_tail.compare_exchange(cur, next, AcqRel, Acquire) {
                    Ok(_) => {
                        // An RMW reads the latest `tail_position`: every index taken
                        // by a sender that saw `cur` as the tail is below it.
                        let tail = self.tail_position.fetch_add(0, AcqRel);
                        // SAFETY: only the sender that won the CAS writes this, once,
                        // before RELEASED; the receiver reads it after RELEASED.
                        b.observed_tail.with_mut(|p| unsafe { *p = tail });
                        // Last access to `b`: the receiver may free it from here on.
                        b.ready.fetch_or(RELEASED, Release);
                    }
                    Err(_) => may_advance = false,
                }
            } else {
                may_advance = false;
            }
            cur = next;
        }
    }
}

impl<T> Rx<T> {
    /// Takes the next message, if it is ready. Blocks it has finished with go to `tx`'s
    /// spare slot.
    #[inline]
    pub(crate) fn pop(&mut self, tx: &Tx<T>) -> Read<T> {
        let start = self.index & !SLOT_MASK;
        // SAFETY: `head` is live: only the receiver frees blocks, never `head`.
        if unsafe { self.head.as_ref() }.start != start && !self.advance_head(start) {
            return Read::Empty;
        }
        if self.free_head != self.head {
            self.reclaim(tx);
        }
        // SAFETY: as above.
        let head = unsafe { self.head.as_ref() };
        let slot = self.index & SLOT_MASK;
        let ready = head.ready.load(Acquire);
        if ready & (1 << slot) != 0 {
            // SAFETY: the ready bit (acquired) says the slot was fully written, and the
            // receiver reads each index once (we advance `index` now).
            let v = head.slots[slot].with(|p| unsafe { (*p).assume_init_read() });
            self.index = self.index.wrapping_add(1);
            return Read::Value(v);
        }
        if ready & TX_CLOSED != 0 {
            return Read::Closed;
        }
        Read::Empty
    }

    /// Moves `head` forward to the block starting at `start` (once per block, off the
    /// per-message path); `false` if that block is not linked yet.
    #[inline(never)]
    fn advance_head(&mut self, start: usize) -> bool {
        loop {
            // SAFETY: `head` is live: only the receiver frees blocks, never `head`.
            let head = unsafe { self.head.as_ref() };
            if head.start == start {
                return true;
            }
            match NonNull::new(head.next.load(Acquire)) {
                Some(next) => self.head = next,
                None => return false,
            }
        }
    }

    /// Messages written and not yet read (a push still in progress is not counted).
    pub(crate) fn len(&self) -> usize {
        let mut n = 0;
        let mut cur = Some(self.head);
        while let Some(b) = cur {
            // SAFETY: `head` and the blocks after it are live: only the receiver frees
            // blocks (behind `head`), and it is not running (we are borrowed by it).
            let block = unsafe { b.as_ref() };
            let mut ready = block.ready.load(Acquire) & READY_MASK;
            let index_block = self.index & !SLOT_MASK;
            if block.start == index_block {
                // Slots before `index` in its block were read already.
                ready &= !((1 << (self.index & SLOT_MASK)) - 1);
            } else if (block.start.wrapping_sub(index_block) as isize) < 0 {
                // `head` may still be the block just read to the end: nothing unread.
                ready = 0;
            }
            n += ready.count_ones() as usize;
            cur = NonNull::new(block.next.load(Acquire));
        }
        n
    }

    /// Recycles blocks behind `head` that no sender can still be looking at.
    #[inline(never)]
    fn reclaim(&mut self, tx: &Tx<T>) {
        while self.free_head != self.head {
            // SAFETY: blocks from `free_head` up to `head` are live until freed here.
            let b = unsafe { self.free_head.as_ref() };
            if b.ready.load(Acquire) & RELEASED == 0 {
                return;
            }
            // SAFETY: written before RELEASED, which we acquired.
            let observed = b.observed_tail.with(|p| unsafe { *p });
            if (self.index.wrapping_sub(observed) as isize) < 0 {
                return;
            }
            let next = b.next.load(Acquire);
            let old = self.free_head;
            // SAFETY: `head` is further on, so `next` is non-null.
            self.free_head = unsafe { NonNull::new_unchecked(next) };
            // SAFETY: released, every sender that could see it has finished, and the
            // receiver read every value out of it (all its indices are below `index`).
            unsafe { tx.put_spare(old) };
        }
    }
}

/// Drops every unread message and frees every block. Requires exclusive access to
/// both halves (the channel is being dropped). A message whose `Drop` panics does not
/// stop the others from being dropped; the first panic is resumed at the end.
pub(crate) fn drop_list<T>(tx: &mut Tx<T>, rx: &mut Rx<T>) {
    if let Some(spare) = NonNull::new(tx.spare.swap(ptr::null_mut(), Acquire)) {
        // SAFETY: exclusive access; the spare is unlinked and holds no value.
        unsafe { Block::free(spare) };
    }
    let mut panic = None;
    let mut cur = Some(rx.free_head);
    while let Some(b) = cur {
        // SAFETY: exclusive access: no sender or receiver is left.
        let block = unsafe { b.as_ref() };
        let ready = block.ready.load(Acquire);
        for slot in 0..BLOCK_CAP {
            let index = block.start.wrapping_add(slot);
            let unread = (index.wrapping_sub(rx.index) as isize) >= 0;
            if unread && ready & (1 << slot) != 0 {
                // SAFETY: written (ready bit) and never read (index >= rx.index); read
                // out once here and dropped.
                let v = block.slots[slot].with(|p| unsafe { (*p).assume_init_read() });
                crate::util::drop_catching(v, &mut panic);
            }
        }
        cur = NonNull::new(block.next.load(Acquire));
        // SAFETY: exclusive access; the block is not used again.
        unsafe { Block::free(b) };
    }
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    thread_local! {
        /// Blocks allocated on this thread (each test runs on its own thread).
        pub(super) static ALLOCS: Cell<usize> = const { Cell::new(0) };
    }

    fn allocs() -> usize {
        ALLOCS.with(Cell::get)
    }

    struct Counted(usize, Rc<Cell<usize>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
        }
    }

    fn pop_value<T>(rx: &mut Rx<T>, tx: &Tx<T>) -> T {
        match rx.pop(tx) {
            Read::Value(v) => v,
            Read::Empty => panic!("empty"),
            Read::Closed => panic!("closed"),
        }
    }

    #[test]
    fn a_steady_stream_reuses_the_spare_block() {
        let (mut tx, mut rx) = list::<usize>();
        let blocks = if cfg!(miri) { 4 } else { 20 };
        for i in 0..BLOCK_CAP * blocks {
            tx.push(i);
            assert_eq!(pop_value(&mut rx, &tx), i);
        }
        // One block at first, a second while the first is still being released, then
        // the two take turns through the spare slot: without reuse, one per block.
        assert_eq!(allocs(), 2, "blocks allocated for {blocks} blocks' worth");
        drop_list(&mut tx, &mut rx);
    }

    #[test]
    fn values_in_reused_blocks_are_dropped_exactly_once() {
        let drops = Rc::new(Cell::new(0));
        let (mut tx, mut rx) = list::<Counted>();
        let n = BLOCK_CAP * 5 + 3;
        for i in 0..n {
            tx.push(Counted(i, drops.clone()));
        }
        // Read a bit more than three blocks (their blocks go to the spare slot), write
        // more (reusing it), and leave the rest, in several blocks, to `drop_list`.
        let read = BLOCK_CAP * 3 + 1;
        for i in 0..read {
            assert_eq!(pop_value(&mut rx, &tx).0, i);
        }
        assert_eq!(drops.get(), read);
        for i in n..n + BLOCK_CAP * 2 {
            tx.push(Counted(i, drops.clone()));
        }
        assert_eq!(pop_value(&mut rx, &tx).0, read);
        drop_list(&mut tx, &mut rx);
        assert_eq!(drops.get(), n + BLOCK_CAP * 2);
    }
}
