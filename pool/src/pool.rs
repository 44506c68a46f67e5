//! The pool: a semaphore of `max_size` permits bounds the checkouts, a mutex-guarded
//! list holds the idle connections.
//!
//! A connection is in one of three places:
//!
//! ```text
//!   connect ──► checked out (a Pooled, holding one permit) ──drop, recycle()──► idle list
//!                      ▲                                                          │
//!                      └──────────── get(): pop, check() ok ◄─────────────────────┘
//!   check() fails, recycle() says no, the pool closes: the connection is dropped.
//! ```
//!
//! Why at most `max_size` connections exist: `get` connects only while holding a permit
//! and only after finding the idle list empty (under its lock). At that moment every
//! live connection is held by, or being made by, one of the other permit holders, so
//! there are at most `max_size - 1` of them. A returning connection goes into the list
//! *before* its permit is released, so the next permit holder finds it instead of
//! connecting. Every connection is wrapped in [`Tracked`], whose `Drop` keeps the live
//! count right however the connection leaves (a cancelled `get`, a failed check, a
//! closed pool).

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use magpie_sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Manager, PoolError};

/// A connection the pool counts: the live count goes down when it is dropped.
struct Tracked<C> {
    conn: C,
    live: Arc<AtomicUsize>,
}

impl<C> Tracked<C> {
    fn new(conn: C, live: &Arc<AtomicUsize>) -> Tracked<C> {
        live.fetch_add(1, Ordering::AcqRel);
        Tracked {
            conn,
            live: live.clone(),
        }
    }
}

impl<C> Drop for Tracked<C> {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Shared<M: Manager> {
    manager: M,
    permits: Arc<Semaphore>,
    idle: Mutex<VecDeque<Tracked<M::Connection>>>,
    live: Arc<AtomicUsize>,
    max_size: usize,
    acquire_timeout: Option<Duration>,
}

impl<M: Manager> Shared<M> {
    /// The idle list; a panic in another thread while it held the lock (only `VecDeque`
    /// operations run under it) leaves the list valid, so poisoning is ignored.
    fn idle(&self) -> MutexGuard<'_, VecDeque<Tracked<M::Connection>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pool of connections made by a [`Manager`]. Cheap to clone (an `Arc`); every clone
/// is the same pool.
pub struct Pool<M: Manager> {
    shared: Arc<Shared<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool {
            shared: self.shared.clone(),
        }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .finish()
    }
}

/// Configures a [`Pool`]; made by [`Pool::builder`].
#[derive(Debug)]
pub struct Builder<M> {
    manager: M,
    max_size: usize,
    acquire_timeout: Option<Duration>,
}

impl<M: Manager> Builder<M> {
    /// The most connections that exist at once (default 16; at least 1).
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size.max(1);
        self
    }

    /// How long [`Pool::get`] may take in all: waiting for a free slot, checking an
    /// idle connection, connecting (default 30 s; `None` waits for ever).
    pub fn acquire_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The pool, with no connection yet (they are made on demand).
    pub fn build(self) -> Pool<M> {
        Pool {
            shared: Arc::new(Shared {
                manager: self.manager,
                permits: Arc::new(Semaphore::new(self.max_size)),
                idle: Mutex::new(VecDeque::new()),
                live: Arc::new(AtomicUsize::new(0)),
                max_size: self.max_size,
                acquire_timeout: self.acquire_timeout,
            }),
        }
    }
}

/// A snapshot of a pool's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Connections that exist now: idle, checked out, or being checked.
    pub size: usize,
    /// Connections waiting in the idle list.
    pub idle: usize,
    /// The configured maximum.
    pub max_size: usize,
}

impl<M: Manager> Pool<M> {
    /// A builder for a pool of `manager`'s connections.
    pub fn builder(manager: M) -> Builder<M> {
        Builder {
            manager,
            max_size: 16,
            acquire_timeout: Some(Duration::from_secs(30)),
        }
    }

    /// A pool with the default settings.
    pub fn new(manager: M) -> Pool<M> {
        Pool::builder(manager).build()
    }

    /// The manager this pool was built with.
    pub fn manager(&self) -> &M {
        &self.shared.manager
    }

    /// Checks out a connection: an idle one that passes [`Manager::check`], or a new one.
    ///
    /// Cancel-safe: dropping the future gives back its slot, and a connection it was
    /// checking is dropped.
    ///
    /// # Errors
    /// [`PoolError::Timeout`] when the acquire timeout passes first,
    /// [`PoolError::Closed`] after [`Pool::close`], [`PoolError::Backend`] when
    /// connecting fails.
    ///
    /// # Panics
    /// With an acquire timeout, outside a magpie runtime with time enabled.
    pub async fn get(&self) -> Result<Pooled<M>, PoolError<M::Error>> {
        match self.shared.acquire_timeout {
            Some(limit) => magpie_time::timeout(limit, self.get_inner())
                .await
                .unwrap_or(Err(PoolError::Timeout)),
            None => self.get_inner().await,
        }
    }

    async fn get_inner(&self) -> Result<Pooled<M>, PoolError<M::Error>> {
        let shared = &self.shared;
        let permit = shared
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Closed)?;
        loop {
            let next = shared.idle().pop_front();
            let Some(mut tracked) = next else { break };
            if shared.manager.check(&mut tracked.conn).await.is_ok() {
                return Ok(self.pooled(tracked, permit));
            }
            // Broken (the server restarted, the socket closed): drop it, try the next.
        }
        let conn = shared.manager.connect().await.map_err(PoolError::Backend)?;
        Ok(self.pooled(Tracked::new(conn, &shared.live), permit))
    }

    fn pooled(&self, tracked: Tracked<M::Connection>, permit: OwnedSemaphorePermit) -> Pooled<M> {
        Pooled {
            tracked: Some(tracked),
            permit: Some(permit),
            pool: self.clone(),
        }
    }

    /// The pool's counts now.
    pub fn status(&self) -> Status {
        Status {
            size: self.shared.live.load(Ordering::Acquire),
            idle: self.shared.idle().len(),
            max_size: self.shared.max_size,
        }
    }

    /// Closes the pool: pending and later [`get`](Pool::get)s fail with
    /// [`PoolError::Closed`], idle connections are dropped now, checked-out ones when
    /// they are given back.
    pub fn close(&self) {
        self.shared.permits.close();
        let idle = std::mem::take(&mut *self.shared.idle());
        drop(idle);
    }

    /// Whether [`close`](Pool::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.permits.is_closed()
    }
}

/// A checked-out connection; dereferences to it. Dropping it gives the connection back
/// to the pool (unless [`Manager::recycle`] says no, or the pool is closed).
pub struct Pooled<M: Manager> {
    tracked: Option<Tracked<M::Connection>>,
    permit: Option<OwnedSemaphorePermit>,
    pool: Pool<M>,
}

impl<M: Manager> Pooled<M> {
    /// Drops the connection instead of giving it back (say, after an error that left it
    /// in an unknown state); its slot is freed.
    pub fn discard(mut self) {
        self.tracked = None;
    }
}

impl<M: Manager> Deref for Pooled<M> {
    type Target = M::Connection;
    fn deref(&self) -> &M::Connection {
        match &self.tracked {
            Some(t) => &t.conn,
            None => unreachable!("a Pooled holds its connection until dropped"),
        }
    }
}

impl<M: Manager> DerefMut for Pooled<M> {
    fn deref_mut(&mut self) -> &mut M::Connection {
        match &mut self.tracked {
            Some(t) => &mut t.conn,
            None => unreachable!("a Pooled holds its connection until dropped"),
        }
    }
}

impl<M: Manager> fmt::Debug for Pooled<M>
where
    M::Connection: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&**self).finish()
    }
}

impl<M: Manager> Drop for Pooled<M> {
    fn drop(&mut self) {
        let shared = &self.pool.shared;
        if let Some(mut tracked) = self.tracked.take()
            && !shared.permits.is_closed()
            && shared.manager.recycle(&mut tracked.conn)
        {
            // Into the list before the permit is released (see the top of the file).
            // `close` closes the permits before it empties the list under this lock, so
            // checking again under the lock means a connection never lands in the list
            // of a pool that closed while it was being recycled.
            let mut idle = shared.idle();
            if shared.permits.is_closed() {
                drop(idle);
                drop(tracked);
            } else {
                idle.push_back(tracked);
            }
        }
        drop(self.permit.take());
    }
}
