//! `OwnedTasks`: every live task of a scheduler, so that shutdown can find and cancel
//! each one exactly once.
//!
//! An intrusive doubly linked list through the task headers (no allocation per task),
//! split into shards by task id so that concurrent spawns and completions on different
//! workers rarely touch the same lock. The list holds one reference to each task.
//!
//! Closing: `close_and_shutdown_all` sets `closed` and then locks each shard. `bind`
//! checks `closed` under the shard lock, so a task is either inserted before the closer
//! walks its shard (and is shut down by it) or sees `closed` and is shut down at once.

use super::core::Header;
use super::{JoinHandle, Notified, RawTask, Schedule, Task};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    id: u64,
    closed: AtomicBool,
    count: AtomicUsize,
    _p: PhantomData<S>,
}

struct Shard {
    head: Option<NonNull<Header>>,
}

// SAFETY: the raw pointers in a shard are only followed under its lock, and the tasks
// they point to are Send + Sync.
unsafe impl Send for Shard {}

fn next_list_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl<S: Schedule> OwnedTasks<S> {
    pub(crate) fn new(shards: usize) -> OwnedTasks<S> {
        let n = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n).map(|_| Mutex::new(Shard { head: None })).collect(),
            mask: n - 1,
            id: next_list_id(),
            closed: AtomicBool::new(false),
            count: AtomicUsize::new(0),
            _p: PhantomData,
        }
    }

    fn shard(&self, id: u64) -> &Mutex<Shard> {
        &self.shards[id as usize & self.mask]
    }

    /// Creates a task for `future`, adds it to the list, and returns its `JoinHandle`
    /// and the `Notified` to queue. When the list is closed the task is cancelled at
    /// once and no `Notified` is returned.
    pub(crate) fn bind<T>(
        &self,
        future: T,
        scheduler: S,
        id: super::Id,
        meta: super::SpawnMeta,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + Send + 'static,
        T::Output: Send + 'static,
    {
        // SAFETY: the future and its output are Send: any thread may poll or drop them.
        unsafe { self.bind_local(future, scheduler, id, meta) }
    }

    /// `bind` for a future that is not `Send` (a local task).
    ///
    /// # Safety
    /// `scheduler` polls the task, and shuts the list down, only on the thread that
    /// calls this (the `LocalSet`'s thread, `task/local_set/`): the future is then
    /// polled and dropped only there. Every reference the task ever had is gone or
    /// the task is complete before the cell can be freed elsewhere (the list holds a
    /// reference until the task completes), so a foreign thread never drops the
    /// future.
    pub(crate) unsafe fn bind_local<T>(
        &self,
        future: T,
        scheduler: S,
        id: super::Id,
        meta: super::SpawnMeta,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + 'static,
        T::Output: 'static,
    {
        let raw = RawTask::new(future, scheduler, id, self.id, meta);
        // SAFETY: the task starts with three references: one each for the join handle,
        // the first `Notified` and the list, handed out here.
        let join = unsafe { JoinHandle::new(raw) };
        // SAFETY: the second of the three initial references: the first `Notified`.
        let notified = unsafe { Notified::<S>::from_raw(raw.header_ptr()) };
        // SAFETY: the third initial reference: the owned list's.
        let list_ref = unsafe { Task::<S>::from_raw(raw.header_ptr()) };
        {
            let mut shard = self.shard(id.as_u64()).lock();
            if !self.closed.load(Ordering::Acquire) {
                let ptr = list_ref.into_raw().header_ptr();
                // SAFETY: we hold the shard lock, which guards the links of every task
                // in this shard; the new task is in no list yet.
                unsafe { push_front(&mut shard, ptr) };
                self.count.fetch_add(1, Ordering::Relaxed);
                return (join, Some(notified));
            }
        }
        // Closed: cancel now. `shutdown` consumes the list's reference (the task is in
        // no list, so completing it releases nothing else).
        list_ref.shutdown();
        drop(notified);
        (join, None)
    }

    /// Removes `task` from the list, returning the list's reference, or `None` if it
    /// is not in this list (any more).
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let header = task.header();
        if header.owner_id != self.id {
            return None;
        }
        let ptr = task.header_ptr();
        let mut shard = self.shard(header.id.as_u64()).lock();
        // SAFETY: the shard lock guards the links of the tasks in this shard, and a task
        // with our owner id maps to this shard.
        let removed = unsafe { unlink(&mut shard, ptr) };
        if removed {
            self.count.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: the list's reference is handed back to the caller.
            Some(unsafe { Task::from_raw(ptr) })
        } else {
            None
        }
    }

    /// Closes the list (later binds are cancelled at once) and shuts down every task in
    /// it. Safe to call from several threads at once: each task is popped by exactly
    /// one of them.
    pub(crate) fn close_and_shutdown_all(&self, start: usize) {
        self.closed.store(true, Ordering::Release);
        let n = self.shards.len();
        for i in 0..n {
            let shard = &self.shards[(start + i) & self.mask];
            loop {
                let task = {
                    let mut guard = shard.lock();
                    match guard.head {
                        Some(ptr) => {
                            // SAFETY: under the lock; `ptr` is in this shard.
                            unsafe { unlink(&mut guard, ptr) };
                            self.count.fetch_sub(1, Ordering::Relaxed);
                            // SAFETY: the list's reference moves to `task`.
                            Some(unsafe { Task::<S>::from_raw(ptr) })
                        }
                        None => None,
                    }
                };
                match task {
                    // Not under the lock: cancelling runs user Drop code, and the task
                    // completing calls `remove`, which locks the shard.
                    Some(task) => task.shutdown(),
                    None => break,
                }
            }
        }
    }

    /// Calls `f` on every task in the list, each shard under its lock (`f` must not
    /// touch the list).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let guard = shard.lock();
            let mut cur = guard.head;
            while let Some(ptr) = cur {
                // SAFETY: under the shard lock the task is in the list, which holds a
                // reference to it, and its links are stable.
                let h = unsafe { ptr.as_ref() };
                f(h);
                // SAFETY: the links are only written under this shard lock, which we hold.
                cur = h.owned.with(|p| unsafe { (*p).next });
            }
        }
    }

    /// Number of live tasks in the list.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// # Safety
/// The shard lock is held and `ptr` is in no list.
unsafe fn push_front(shard: &mut Shard, ptr: NonNull<Header>) {
    // SAFETY: per the contract, the links are ours to write.
    unsafe {
        let h = ptr.as_ref();
        h.owned.with_mut(|p| {
            (*p).prev = None;
            (*p).next = shard.head;
        });
        if let Some(old) = shard.head {
            old.as_ref().owned.with_mut(|p| (*p).prev = Some(ptr));
        }
    }
    shard.head = Some(ptr);
}

/// Unlinks `ptr` if it is in the shard's list. Returns whether it was.
///
/// # Safety
/// The shard lock is held and `ptr` maps to this shard.
unsafe fn unlink(shard: &mut Shard, ptr: NonNull<Header>) -> bool {
    // SAFETY: per the contract, the links of every task in this shard are ours.
    unsafe {
        let h = ptr.as_ref();
        let (prev, next) = h.owned.with(|p| ((*p).prev, (*p).next));
        match prev {
            Some(prev) => prev.as_ref().owned.with_mut(|p| (*p).next = next),
            None => {
                if shard.head != Some(ptr) {
                    return false; // not in the list
                }
                shard.head = next;
            }
        }
        if let Some(next) = next {
            next.as_ref().owned.with_mut(|p| (*p).prev = prev);
        }
        h.owned.with_mut(|p| {
            (*p).prev = None;
            (*p).next = None;
        });
    }
    true
}
