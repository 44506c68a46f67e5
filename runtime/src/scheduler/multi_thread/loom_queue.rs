//! Under `cfg(loom)` only: stand-ins for crossbeam-deque's `Worker`, `Stealer` and
//! `Injector`, with the same methods the worker loop calls, built on the loom shim's
//! mutex. crossbeam's queues use std atomics, which loom cannot see: a task pushed on
//! one loom thread and popped on another would have no happens-before edge in loom's
//! eyes (it reports a causality violation on the task's state word). With these, the
//! models in `loom-tests/tests/rt_multi_thread.rs` run the real worker loop, idle
//! protocol, parker, LIFO slot, deferred list and shutdown; only the queues' own
//! lock-freedom is not modelled (crossbeam has its own tests for that).
//!
//! `Steal::Retry` is never returned: a steal under the mutex cannot be interrupted.

use crate::loom::sync::{Arc, Mutex};
use std::collections::VecDeque;

/// The outcome of a steal, as crossbeam's.
pub(crate) enum Steal<T> {
    Empty,
    Success(T),
    #[allow(dead_code)]
    Retry,
}

/// A worker's own FIFO queue.
pub(crate) struct Worker<T> {
    queue: Arc<Mutex<VecDeque<T>>>,
}

/// Another worker's handle on a [`Worker`] queue.
pub(crate) struct Stealer<T> {
    queue: Arc<Mutex<VecDeque<T>>>,
}

/// The global queue.
pub(crate) struct Injector<T> {
    queue: Mutex<VecDeque<T>>,
}

/// How many tasks a batch steal moves, at most (crossbeam moves about half).
fn batch(len: usize) -> usize {
    len.div_ceil(2)
}

impl<T> Worker<T> {
    pub(crate) fn new_fifo() -> Worker<T> {
        Worker {
            queue: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    pub(crate) fn stealer(&self) -> Stealer<T> {
        Stealer {
            queue: self.queue.clone(),
        }
    }

    pub(crate) fn push(&self, task: T) {
        self.queue.lock().push_back(task);
    }

    pub(crate) fn pop(&self) -> Option<T> {
        self.queue.lock().pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }
}

/// Moves about half of `from` into `dest` and returns the first of them.
fn steal_into<T>(from: &mut VecDeque<T>, dest: &Worker<T>) -> Steal<T> {
    let Some(first) = from.pop_front() else {
        return Steal::Empty;
    };
    let n = batch(from.len() + 1) - 1;
    let mut dest = dest.queue.lock();
    for _ in 0..n {
        match from.pop_front() {
            Some(t) => dest.push_back(t),
            None => break,
        }
    }
    Steal::Success(first)
}

impl<T> Stealer<T> {
    pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
        if Arc::ptr_eq(&self.queue, &dest.queue) {
            return Steal::Empty;
        }
        steal_into(&mut self.queue.lock(), dest)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }
}

impl<T> Injector<T> {
    pub(crate) fn new() -> Injector<T> {
        Injector {
            queue: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, task: T) {
        self.queue.lock().push_back(task);
    }

    pub(crate) fn steal(&self) -> Steal<T> {
        match self.queue.lock().pop_front() {
            Some(t) => Steal::Success(t),
            None => Steal::Empty,
        }
    }

    pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
        steal_into(&mut self.queue.lock(), dest)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }
}
