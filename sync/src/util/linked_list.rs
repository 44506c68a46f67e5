//! An intrusive, doubly linked list of nodes that live inside pinned futures.
//!
//! Every primitive that makes tasks wait (the semaphore core, `Notify`, `broadcast`) keeps
//! its waiters in one of these lists. The node is a field of the waiting future, so
//! waiting allocates nothing; the future is `!Unpin`, and it unlinks its node (under the
//! same lock that guards the list) before it is dropped, so a node is never freed while
//! linked. The list itself is not synchronised: its owner keeps it behind a lock and
//! every method is called with that lock held.
//!
//! Idea after the intrusive lists of tokio and of the Linux kernel; our own code.

use crate::loom::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomPinned;
use std::ptr::NonNull;

/// The links embedded in a node. Only the list (under its owner's lock) reads or writes
/// them.
pub(crate) struct Pointers<T> {
    inner: UnsafeCell<PointersInner<T>>,
}

struct PointersInner<T> {
    prev: Option<NonNull<T>>,
    next: Option<NonNull<T>>,
    /// A linked node must not move: make every type containing it `!Unpin`.
    _pin: PhantomPinned,
}

// SAFETY: the raw pointers are only dereferenced by the list while its owner's lock is
// held, so sharing or sending the links between threads is as safe as the lock makes it.
unsafe impl<T: Send> Send for Pointers<T> {}
// SAFETY: as above; a shared `&Pointers` gives no access without the list's lock.
unsafe impl<T: Sync> Sync for Pointers<T> {}

impl<T> Pointers<T> {
    pub(crate) fn new() -> Self {
        Pointers {
            inner: UnsafeCell::new(PointersInner {
                prev: None,
                next: None,
                _pin: PhantomPinned,
            }),
        }
    }

    fn prev(&self) -> Option<NonNull<T>> {
        // SAFETY: callers hold the list's lock, so nothing writes concurrently.
        self.inner.with(|p| unsafe { (*p).prev })
    }

    fn next(&self) -> Option<NonNull<T>> {
        // SAFETY: as in `prev`.
        self.inner.with(|p| unsafe { (*p).next })
    }

    fn set_prev(&self, v: Option<NonNull<T>>) {
        // SAFETY: callers hold the list's lock, which makes this the only access.
        self.inner.with_mut(|p| unsafe { (*p).prev = v })
    }

    fn set_next(&self, v: Option<NonNull<T>>) {
        // SAFETY: as in `set_prev`.
        self.inner.with_mut(|p| unsafe { (*p).next = v })
    }
}

impl<T> fmt::Debug for Pointers<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pointers")
    }
}

/// Implemented by node types: where the [`Pointers`] of a node are.
///
/// # Safety
///
/// `pointers` must return a pointer to a `Pointers<Self>` stored inside `*node`, the same
/// one every time.
pub(crate) unsafe trait Link: Sized {
    /// # Safety
    ///
    /// `node` must point to a live node.
    unsafe fn pointers(node: NonNull<Self>) -> NonNull<Pointers<Self>>;
}

/// The list: head and tail pointers. Nodes are owned by their futures, never by the list.
pub(crate) struct LinkedList<T: Link> {
    head: Option<NonNull<T>>,
    tail: Option<NonNull<T>>,
}

// SAFETY: the list only holds pointers to nodes whose owners keep them alive while linked;
// moving the head/tail pointers to another thread (inside the owner's lock) is fine when
// the nodes themselves may be accessed from any thread.
unsafe impl<T: Link + Send> Send for LinkedList<T> {}
// SAFETY: as above.
unsafe impl<T: Link + Sync> Sync for LinkedList<T> {}

/// Shorthand for the links of a node.
///
/// # Safety
///
/// `node` must be live.
unsafe fn ptrs<'a, T: Link>(node: NonNull<T>) -> &'a Pointers<T> {
    // SAFETY: the caller guarantees `node` is live; `Link` guarantees the pointer is into it.
    unsafe { T::pointers(node).as_ref() }
}

impl<T: Link> LinkedList<T> {
    pub(crate) const fn new() -> Self {
        LinkedList {
            head: None,
            tail: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    pub(crate) fn front(&self) -> Option<NonNull<T>> {
        self.head
    }

    /// Links `node` at the back.
    ///
    /// # Safety
    ///
    /// `node` is live, not linked in any list, and stays live and pinned until it is
    /// unlinked again.
    pub(crate) unsafe fn push_back(&mut self, node: NonNull<T>) {
        // SAFETY: `node` is live (caller), and so is the current tail (list invariant).
        unsafe {
            let p = ptrs(node);
            p.set_next(None);
            p.set_prev(self.tail);
            match self.tail {
                Some(tail) => ptrs(tail).set_next(Some(node)),
                None => self.head = Some(node),
            }
        }
        self.tail = Some(node);
    }

    /// Unlinks and returns the front node.
    pub(crate) fn pop_front(&mut self) -> Option<NonNull<T>> {
        let head = self.head?;
        // SAFETY: linked nodes are live (invariant of `push_back`).
        unsafe {
            let p = ptrs(head);
            self.head = p.next();
            match self.head {
                Some(next) => ptrs(next).set_prev(None),
                None => self.tail = None,
            }
            p.set_next(None);
            p.set_prev(None);
        }
        Some(head)
    }

    /// Unlinks `node` if it is linked in this list; returns whether it was.
    ///
    /// # Safety
    ///
    /// `node` is live, and is either linked in this list or in no list at all (with both
    /// links `None`, which `pop_front` and `remove` restore).
    pub(crate) unsafe fn remove(&mut self, node: NonNull<T>) -> bool {
        // SAFETY: `node` is live (caller) and so are its neighbours (list invariant).
        unsafe {
            let p = ptrs(node);
            let prev = p.prev();
            let next = p.next();
            match prev {
                Some(prev) => ptrs(prev).set_next(next),
                None => {
                    if self.head != Some(node) {
                        return false;
                    }
                    self.head = next;
                }
            }
            match next {
                Some(next) => ptrs(next).set_prev(prev),
                None => self.tail = prev,
            }
            p.set_next(None);
            p.set_prev(None);
        }
        true
    }
}

impl<T: Link> fmt::Debug for LinkedList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedList")
            .field("empty", &self.is_empty())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    struct Node {
        ptrs: Pointers<Node>,
        val: u32,
    }

    // SAFETY: `pointers` returns the links embedded in the node itself, which live as
    // long as the node.
    unsafe impl Link for Node {
        unsafe fn pointers(node: NonNull<Self>) -> NonNull<Pointers<Self>> {
            // SAFETY: `node` is live (caller).
            unsafe { NonNull::from(&(*node.as_ptr()).ptrs) }
        }
    }

    fn node(val: u32) -> Box<Node> {
        Box::new(Node {
            ptrs: Pointers::new(),
            val,
        })
    }

    #[test]
    fn push_pop_remove() {
        let (a, b, c) = (node(1), node(2), node(3));
        let (pa, pb, pc) = (NonNull::from(&*a), NonNull::from(&*b), NonNull::from(&*c));
        let mut l = LinkedList::<Node>::new();
        // SAFETY: the boxed nodes outlive the list operations and are in no other list.
        unsafe {
            l.push_back(pa);
            l.push_back(pb);
            l.push_back(pc);
            assert!(l.remove(pb));
            assert!(!l.remove(pb));
        }
        let v: Vec<u32> = std::iter::from_fn(|| l.pop_front())
            // SAFETY: popped nodes point into the boxes above, still alive.
            .map(|n| unsafe { n.as_ref().val })
            .collect();
        assert_eq!(v, [1, 3]);
        assert!(l.is_empty());
        // SAFETY: as above; `pa` is in no list, `pc` is pushed then removed.
        unsafe {
            assert!(!l.remove(pa));
            l.push_back(pc);
            assert!(l.remove(pc));
        }
        assert!(l.is_empty() && l.front().is_none());
    }
}
