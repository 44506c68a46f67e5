//! `OwnedTasks`: every live task of a scheduler, so that shutdown can find and cancel
//! each one exactly once.
//!
//! An intrusive doubly linked list through the task trailers (no allocation per task),
//! split into shards, each with its lock and its task count on a cache line of its own.
//! The multi-thread scheduler binds a task to the shard of the worker that spawns it
//! (tasks spawned from outside the workers spread by task id), and a task usually
//! completes on the worker that spawned it: a spawn-to-completion then writes only that
//! worker's shard line, never one that another worker writes for its own spawns (the
//! shard and its count were shared lines before: shards by task id, one global count).
//! The shard is recorded in the task's `owner` word, so `remove` finds it without a
//! lookup. The list holds one reference to each task.
//!
//! Closing: `close_and_shutdown_all` sets `closed` and then locks each shard. `bind`
//! checks `closed` under the shard lock, so a task is either inserted before the closer
//! walks its shard (and is shut down by it) or sees `closed` and is shut down at once.

use super::core::{Header, OWNER_SHARD_BITS};
use super::{JoinHandle, Notified, RawTask, Schedule, Task};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[CachePadded<Shard>]>,
    mask: usize,
    id: u64,
    closed: AtomicBool,
    _p: PhantomData<S>,
}

struct Shard {
    list: Mutex<List>,
    /// Tasks in `list`; written under its lock, read without it by `len`.
    len: AtomicUsize,
}

struct List {
    head: Option<NonNull<Header>>,
}

// SAFETY: the raw pointers in a list are only followed under its shard's lock, and the
// tasks they point to are Send + Sync.
unsafe impl Send for List {}

/// Largest list id: the id fills the bits of `Header::owner` above the shard index.
const MAX_LIST_ID: u64 = (1 << (64 - OWNER_SHARD_BITS)) - 1;

fn next_list_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // 2^48 lists: a million a second for nine years.
    assert!(id <= MAX_LIST_ID, "owned-task list ids exhausted");
    id
}

impl<S: Schedule> OwnedTasks<S> {
    pub(crate) fn new(shards: usize) -> OwnedTasks<S> {
        let n = shards.clamp(1, 1 << OWNER_SHARD_BITS).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Shard {
                        list: Mutex::new(List { head: None }),
                        len: AtomicUsize::new(0),
                    })
                })
                .collect(),
            mask: n - 1,
            id: next_list_id(),
            closed: AtomicBool::new(false),
            _p: PhantomData,
        }
    }

    /// The shard a task bound with shard hint `shard` lands in.
    pub(crate) fn shard_index(&self, shard: usize) -> usize {
        shard & self.mask
    }

    /// Number of shards.
    pub(crate) fn num_shards(&self) -> usize {
        self.shards.len()
    }

    /// Creates a task for `future`, adds it to the list's shard `shard` (taken modulo
    /// the number of shards), and returns its `JoinHandle` and the `Notified` to queue.
    /// When the list is closed the task is cancelled at once and no `Notified` is
    /// returned.
    pub(crate) fn bind<T>(
        &self,
        future: T,
        scheduler: S,
        id: super::Id,
        meta: super::SpawnMeta,
        shard: usize,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + Send + 'static,
        T::Output: Send + 'static,
    {
        // SAFETY: the future and its output are Send: any thread may poll or drop them.
        unsafe { self.bind_local(future, scheduler, id, meta, shard) }
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
        shard: usize,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + 'static,
        T::Output: 'static,
    {
        let shard = shard & self.mask;
        let owner = (self.id << OWNER_SHARD_BITS) | shard as u64;
        let raw = RawTask::new(future, scheduler, id, owner, meta);
        // SAFETY: the task starts with three references: one each for the join handle,
        // the first `Notified` and the list, handed out here.
        let join = unsafe { JoinHandle::new(raw) };
        // SAFETY: the second of the three initial references: the first `Notified`.
        let notified = unsafe { Notified::<S>::from_raw(raw.header_ptr()) };
        // SAFETY: the third initial reference: the owned list's.
        let list_ref = unsafe { Task::<S>::from_raw(raw.header_ptr()) };
        {
            let shard = &self.shards[shard];
            let mut list = shard.list.lock();
            if !self.closed.load(Ordering::Acquire) {
                let ptr = list_ref.into_raw().header_ptr();
                // SAFETY: we hold the shard lock, which guards the links of every task
                // in this shard; the new task is in no list yet.
                unsafe { push_front(&mut list, ptr) };
                shard.len.fetch_add(1, Ordering::Relaxed);
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
        let owner = task.header().owner;
        if owner >> OWNER_SHARD_BITS != self.id {
            return None;
        }
        let ptr = task.header_ptr();
        let shard = &self.shards[owner as usize & self.mask];
        let mut list = shard.list.lock();
        // SAFETY: the shard lock guards the links of the tasks in this shard, and the
        // task's owner word names this list and shard.
        let removed = unsafe { unlink(&mut list, ptr) };
        if removed {
            shard.len.fetch_sub(1, Ordering::Relaxed);
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
                    let mut guard = shard.list.lock();
                    match guard.head {
                        Some(ptr) => {
                            // SAFETY: under the lock; `ptr` is in this shard.
                            unsafe { unlink(&mut guard, ptr) };
                            shard.len.fetch_sub(1, Ordering::Relaxed);
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
            let guard = shard.list.lock();
            let mut cur = guard.head;
            while let Some(ptr) = cur {
                // SAFETY: under the shard lock the task is in the list, which holds a
                // reference to it, and its links are stable.
                let h = unsafe { ptr.as_ref() };
                f(h);
                // SAFETY: as above, the task is live; its links are only written under
                // this shard lock, which we hold.
                cur = unsafe { Header::owned_links(ptr).with(|p| (*p).next) };
            }
        }
    }

    /// Number of live tasks in the list (a sum of per-shard counts: exact when no
    /// spawn or completion runs meanwhile).
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.len.load(Ordering::Relaxed))
            .sum()
    }
}

/// # Safety
/// The shard lock is held and `ptr` (a live task) is in no list.
unsafe fn push_front(list: &mut List, ptr: NonNull<Header>) {
    // SAFETY: per the contract, the links of `ptr` and of every task in the list (all
    // live: the list holds a reference to each) are ours to write.
    unsafe {
        Header::owned_links(ptr).with_mut(|p| {
            (*p).prev = None;
            (*p).next = list.head;
        });
        if let Some(old) = list.head {
            Header::owned_links(old).with_mut(|p| (*p).prev = Some(ptr));
        }
    }
    list.head = Some(ptr);
}

/// Unlinks `ptr` if it is in the shard's list. Returns whether it was.
///
/// # Safety
/// The shard lock is held and `ptr` (a live task) maps to this shard.
unsafe fn unlink(list: &mut List, ptr: NonNull<Header>) -> bool {
    // SAFETY: per the contract, the links of `ptr` and of every task in this shard (all
    // live: the list holds a reference to each) are ours.
    unsafe {
        let links = Header::owned_links(ptr);
        let (prev, next) = links.with(|p| ((*p).prev, (*p).next));
        match prev {
            Some(prev) => Header::owned_links(prev).with_mut(|p| (*p).next = next),
            None => {
                if list.head != Some(ptr) {
                    return false; // not in the list
                }
                list.head = next;
            }
        }
        if let Some(next) = next {
            Header::owned_links(next).with_mut(|p| (*p).prev = prev);
        }
        links.with_mut(|p| {
            (*p).prev = None;
            (*p).next = None;
        });
    }
    true
}
