//! Building blocks shared by the primitives: the intrusive waiter list, a batch of
//! wakers to fire outside a lock, an atomic waker cell, and a tiny blocking executor.

pub(crate) mod atomic_waker;
pub(crate) mod block_on;
pub(crate) mod linked_list;
#[allow(unused_imports)]
pub(crate) mod rwlock;
pub(crate) mod wake_list;
