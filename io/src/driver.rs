//! The I/O driver: one `mio::Poll` per runtime, shared by all workers.
//!
//! # Who polls, how events reach tasks
//!
//! * [`Driver`] owns the `mio::Poll` and its event buffer. It implements
//!   [`magpie_base::park::Park`]: `park_timeout(d)` is `Poll::poll` with timeout `d`,
//!   followed by dispatching every event. Only the thread that holds the driver (`&mut`)
//!   parks on it; in the runtime that is the worker that currently owns the driver stack
//!   (time driver on top of this one).
//! * [`Handle`] (an `Arc`) is what resources register with, from any thread: it holds a
//!   clone of the `mio::Registry`, the registration table and the `mio::Waker`.
//! * The registration table is a slab (`Vec` of slots plus a free list) under a mutex.
//!   Each slot holds an `Arc<ScheduledIo>` and a generation. A resource's mio `Token` is
//!   `generation << INDEX_BITS | index`. When the driver dispatches an event it looks the
//!   slot up *and compares generations*: an event that was already read out of epoll for
//!   a resource that has since been deregistered (and whose slot may have been reused by
//!   another resource) is dropped instead of waking the new owner.
//! * Dispatch ORs the event into the resource's readiness word and collects the wakers
//!   of the directions it satisfies, under the slab lock; the wakers are woken after the
//!   lock is released (a waker may re-enter the driver, e.g. to deregister).
//! * The unparker ([`Park::unparker`]) is the `mio::Waker` (an eventfd on Linux): any
//!   thread can interrupt a blocked `poll`, and an unpark before `poll` makes the next
//!   `poll` return at once (the eventfd stays readable), so none is lost.
//!
//! This is the bottom layer of the driver stack (`crate::stack`): it knows nothing of
//! signals or processes. The signal layer registers its pipe here like any resource.
//!
//! Shutdown ([`Handle::shutdown`], also called by `Park::shutdown` and when the driver
//! is dropped) marks the table closed and every registered resource shut down, waking
//! its waiters; their operations then fail with "runtime shut down", and new
//! registrations fail the same way.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use magpie_base::park::{Park, Unpark};
use mio::{Events, Interest, Token};

use crate::scheduled_io::{Ready, ScheduledIo};

/// The error message of an I/O resource used outside a runtime with I/O enabled.
pub(crate) const NO_DRIVER: &str = "there is no magpie I/O driver running: call this inside a magpie runtime built with `enable_io()` or `enable_all()` (or inside `magpie::run`)";

/// The error message of an I/O resource whose driver shut down.
pub(crate) const SHUT_DOWN: &str = "runtime shut down: the magpie I/O driver is gone";

/// Low bits of a token: the slab index.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// At most this many resources at once (the highest indexes are never used, so no
/// token equals `WAKE_TOKEN`).
const MAX_SLOTS: usize = INDEX_MASK - 1;
const GEN_MASK: usize = usize::MAX >> INDEX_BITS;
/// The mio waker's token.
const WAKE_TOKEN: Token = Token(usize::MAX);

const EVENTS_CAPACITY: usize = 1024;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

pub(crate) fn no_driver() -> io::Error {
    io::Error::other(NO_DRIVER)
}

pub(crate) fn shut_down() -> io::Error {
    io::Error::other(RuntimeShutdown)
}

/// The inner error of an I/O operation whose driver shut down (so that
/// [`is_shutdown_err`] can tell it from any other error without matching text).
#[derive(Debug)]
struct RuntimeShutdown;

impl std::fmt::Display for RuntimeShutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(SHUT_DOWN)
    }
}

impl std::error::Error for RuntimeShutdown {}

/// Whether `err` is the error an I/O operation gets because its runtime (its I/O
/// driver) shut down. tokio's `runtime::is_rt_shutdown_err`.
///
/// ```
/// let other = std::io::Error::other("something else");
/// assert!(!magpie_io::driver::is_shutdown_err(&other));
/// ```
pub fn is_shutdown_err(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<RuntimeShutdown>())
}

/// The I/O driver: a `mio::Poll` and its event buffer. Park on it (it implements
/// [`Park`]) to wait for I/O events; see the [module docs](self).
pub struct Driver {
    poll: mio::Poll,
    events: Events,
    /// Events read by the last `poll` and not yet dispatched (see `poll_events`).
    undispatched: bool,
    wakers: Vec<Waker>,
    handle: Handle,
}

/// A handle to an I/O driver: what sockets register with. `Send + Sync`, cheap to
/// clone (an `Arc`).
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

/// Returned by [`Handle::enter`]; restores the previous current handle when dropped.
#[must_use = "the handle is current only while the guard lives"]
pub struct EnterGuard {
    prev: Option<Handle>,
    _not_send: PhantomData<*const ()>,
}

type BlockingSpawner = Arc<dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync>;

struct Inner {
    registry: mio::Registry,
    waker: Arc<IoUnpark>,
    slab: Mutex<Slab>,
    is_shutdown: AtomicBool,
    blocking: Mutex<Option<BlockingSpawner>>,
}

struct IoUnpark(mio::Waker);

impl Unpark for IoUnpark {
    fn unpark(&self) {
        // Fails only if the eventfd write fails (it cannot overflow: mio resets it);
        // nothing useful to do then, and a spurious missing wake is bounded by the
        // caller's next timeout.
        let _ = self.0.wake();
    }
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    len: usize,
    closed: bool,
}

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

impl Driver {
    /// Creates a driver (an epoll instance, an eventfd waker) and its handle. Errors
    /// creating them (EMFILE, ENOMEM) are returned.
    pub fn new() -> io::Result<(Driver, Handle)> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let handle = Handle {
            inner: Arc::new(Inner {
                registry,
                waker: Arc::new(IoUnpark(waker)),
                slab: Mutex::new(Slab::default()),
                is_shutdown: AtomicBool::new(false),
                blocking: Mutex::new(None),
            }),
        };
        let driver = Driver {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            undispatched: false,
            wakers: Vec::with_capacity(32),
            handle: handle.clone(),
        };
        Ok((driver, handle))
    }

    /// The driver's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn turn(&mut self, timeout: Option<Duration>) {
        self.poll_events(timeout);
        self.dispatch_events();
    }

    /// Polls the OS for events without dispatching them (tests use this, with
    /// [`dispatch_events`](Self::dispatch_events), to widen the window in which an event
    /// is in flight). Errors other than `EINTR` are not expected from `epoll_wait` on a
    /// valid epoll fd; they end this turn early (the next park tries again).
    #[doc(hidden)]
    pub fn poll_events(&mut self, timeout: Option<Duration>) {
        if self.undispatched {
            self.dispatch_events();
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => self.undispatched = true,
            Err(_) => self.events.clear(),
        }
    }

    /// Delivers the events read by the last [`poll_events`](Self::poll_events).
    #[doc(hidden)]
    pub fn dispatch_events(&mut self) {
        if !self.undispatched {
            return;
        }
        self.undispatched = false;
        let inner = &*self.handle.inner;
        {
            let slab = inner.lock_slab();
            for event in self.events.iter() {
                let token = event.token();
                if token == WAKE_TOKEN {
                    continue;
                }
                let index = token.0 & INDEX_MASK;
                let generation = token.0 >> INDEX_BITS;
                let Some(slot) = slab.slots.get(index) else {
                    continue;
                };
                if slot.generation != generation {
                    continue; // stale: the resource was deregistered.
                }
                if let Some(io) = &slot.io {
                    io.set_readiness(Ready::from_mio(event), &mut self.wakers);
                }
            }
        }
        for w in self.wakers.drain(..) {
            w.wake();
        }
    }
}

impl Park for Driver {
    fn park(&mut self) {
        self.turn(None);
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.turn(Some(duration));
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.handle.inner.waker.clone()
    }

    fn shutdown(&mut self) {
        self.handle.shutdown();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // No one will dispatch events any more: waiters must not hang.
        self.handle.shutdown();
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("registered", &self.num_registered())
            .field("is_shutdown", &self.is_shutdown())
            .finish()
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl Inner {
    fn lock_slab(&self) -> MutexGuard<'_, Slab> {
        // A panic while holding the lock (none of our code panics there) must not
        // poison the driver for everyone.
        self.slab.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Handle {
    /// Makes this the current I/O handle of the calling thread until the guard drops
    /// (the previous one, if any, is restored then). Guards nest.
    pub fn enter(&self) -> EnterGuard {
        // `try_with`: a runtime may be dropped (and so entered) from a thread-local
        // destructor, after this thread's slot is gone; the guard is then a no-op.
        let prev = CURRENT
            .try_with(|c| c.replace(Some(self.clone())))
            .ok()
            .flatten();
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The current thread's I/O handle, if any.
    pub fn try_current() -> Option<Handle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// The current handle, or the "no I/O driver" error.
    pub(crate) fn current() -> io::Result<Handle> {
        Handle::try_current().ok_or_else(no_driver)
    }

    /// Shuts the driver down: every registered resource's waiters are woken and its
    /// further I/O returns an `io::Error` ("runtime shut down"); registering new
    /// resources fails the same way. Idempotent.
    pub fn shutdown(&self) {
        let inner = &*self.inner;
        let ios: Vec<Arc<ScheduledIo>> = {
            let mut slab = inner.lock_slab();
            inner.is_shutdown.store(true, Ordering::SeqCst);
            slab.closed = true;
            slab.slots.iter().filter_map(|s| s.io.clone()).collect()
        };
        for io in ios {
            io.shutdown();
        }
        inner.waker.unpark();
    }

    /// Whether [`shutdown`](Self::shutdown) has been called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown.load(Ordering::SeqCst)
    }

    /// Number of resources currently registered (for tests and metrics).
    pub fn num_registered(&self) -> usize {
        self.inner.lock_slab().len
    }

    /// Wakes a thread blocked in the driver's `park` (or makes its next park return).
    pub fn unpark(&self) {
        self.inner.waker.unpark();
    }

    /// Installs the function that runs blocking work for this driver's resources (today:
    /// the system resolver of [`lookup_host`](crate::net::lookup_host)). The runtime
    /// passes its blocking pool's spawn here; without one a plain thread is started per
    /// call.
    pub fn set_blocking_spawner(
        &self,
        spawner: impl Fn(Box<dyn FnOnce() + Send>) + Send + Sync + 'static,
    ) {
        *self
            .inner
            .blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(spawner));
    }

    pub(crate) fn blocking_spawner(&self) -> Option<BlockingSpawner> {
        self.inner
            .blocking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Registers `source` with `interest`; returns its token and readiness state.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<(Token, Arc<ScheduledIo>)> {
        let inner = &*self.inner;
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut slab = inner.lock_slab();
            if slab.closed {
                return Err(shut_down());
            }
            let index = match slab.free.pop() {
                Some(i) => i,
                None => {
                    if slab.slots.len() >= MAX_SLOTS {
                        return Err(io::Error::other(
                            "too many I/O resources registered with one magpie driver",
                        ));
                    }
                    slab.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    slab.slots.len() - 1
                }
            };
            let slot = &mut slab.slots[index];
            slot.io = Some(io.clone());
            let token = Token((slot.generation << INDEX_BITS) | index);
            slab.len += 1;
            token
        };
        if let Err(e) = inner.registry.register(source, token, interest) {
            self.release(token);
            return Err(e);
        }
        Ok((token, io))
    }

    /// Deregisters `source` (registered as `token`) and frees its slot.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, token: Token) {
        // Fails only if the fd is not registered (e.g. a failed registration); the slot
        // is released either way.
        let _ = self.inner.registry.deregister(source);
        self.release(token);
    }

    fn release(&self, token: Token) {
        let index = token.0 & INDEX_MASK;
        let generation = token.0 >> INDEX_BITS;
        let io = {
            let mut slab = self.inner.lock_slab();
            let Some(slot) = slab.slots.get_mut(index) else {
                return;
            };
            if slot.generation != generation || slot.io.is_none() {
                return;
            }
            slot.generation = (slot.generation + 1) & GEN_MASK;
            let io = slot.io.take();
            slab.free.push(index);
            slab.len -= 1;
            io
        };
        // Dropped outside the lock (it may hold wakers).
        drop(io);
    }
}
