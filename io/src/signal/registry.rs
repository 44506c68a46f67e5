//! The process-wide signal registry: one OS handler per signal number, a self-pipe into
//! every driver that listens, and a generation counter per signal that listeners compare
//! against.
//!
//! # Pieces
//!
//! * **Globals** (created on first use, never freed): a non-blocking Unix stream pair (the
//!   self-pipe) and one [`SignalState`] per signal number `1..NSIG`.
//! * **The OS handler** (installed once per signal number through `signal-hook-registry`,
//!   never removed) runs [`on_signal`]: one atomic swap (`pending = true`) and one
//!   `write(2)` of a byte into the pipe. Both are async-signal-safe; nothing allocates or
//!   locks. A full pipe (`EAGAIN`) is fine: it already holds a byte that will wake a
//!   driver.
//! * **Drivers.** The signal layer of each driver stack (`signal::driver`) registers its
//!   own `dup` of the pipe's read end with its reactor, edge-triggered, as an ordinary
//!   resource.
//!   Every driver watching the pipe gets the edge; whichever dispatches first drains the
//!   pipe (`dispatch`) and then *broadcasts globally*: for every signal whose `pending`
//!   flag it swaps from true to false it bumps that signal's generation and wakes all of
//!   that signal's listeners, in whatever runtime they live. A driver that finds the pipe
//!   already drained by another still scans the flags (cheap, harmless). So it does not
//!   matter which driver sees the edge, and a runtime that shuts down takes nothing with
//!   it: the others (or the next one to register, since epoll reports an fd that is
//!   already readable when it is added) pick the bytes up. The idea of draining a shared
//!   pipe and broadcasting from whichever driver wakes comes from tokio's signal driver.
//! * **Listeners** ([`SignalState::poll_listener`]) remember the generation they last saw.
//!   A generation different from it means "at least one signal since": the listener
//!   takes the new value and reports one signal (several deliveries between two polls
//!   coalesce into one, as with tokio). Every listener compares on its own, so all of
//!   them see every broadcast, including one that was not waiting when it happened.
//!
//! # Why no signal is lost
//!
//! The handler stores `pending` *before* writing the byte; the driver drains the pipe
//! *before* swapping `pending`. If the drain read the handler's byte, the store is
//! visible to the swap. If the byte was written after the drain, the pipe is readable
//! again and some driver gets a new edge and dispatches again. Between the broadcaster
//! and a listener, the listener registers its waker under the per-signal lock and
//! re-reads the generation before releasing it, while the broadcaster bumps the
//! generation before taking the lock: either the broadcaster finds the waker or the
//! listener's second read sees the new generation. `loom-tests/tests/io_signal.rs`
//! models both halves with the real [`on_signal`], [`broadcast_after`] and
//! [`SignalState`].

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use magpie_base::loom::sync::Mutex;
use magpie_base::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One more than the highest signal number a listener may ask for (Linux: 64 + 1).
pub(crate) const NSIG: usize = 65;

/// The state of one signal number shared by its OS handler, the drivers and its
/// listeners (see the [module docs](self)).
pub struct SignalState {
    /// Set by the OS handler, cleared by the broadcast that publishes it.
    pending: AtomicBool,
    /// Bumped by each broadcast.
    generation: AtomicUsize,
    /// The waiting listeners: (listener id, waker). Emptied by each broadcast.
    waiters: Mutex<Vec<(u64, Waker)>>,
}

impl Default for SignalState {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SignalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalState")
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SignalState {
    /// No signal yet, no listener.
    pub fn new() -> SignalState {
        SignalState {
            pending: AtomicBool::new(false),
            generation: AtomicUsize::new(0),
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// The current generation: what a new listener starts from.
    pub fn generation(&self) -> usize {
        self.generation.load(Ordering::Acquire)
    }

    /// Broadcast side: if a signal is pending, publishes it (bumps the generation) and
    /// moves every waiting listener's waker to `wakers`. Returns whether one was pending.
    pub fn broadcast(&self, wakers: &mut Vec<Waker>) -> bool {
        if !self.pending.swap(false, Ordering::SeqCst) {
            return false;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut w = self.waiters.lock();
        wakers.extend(w.drain(..).map(|(_, waker)| waker));
        true
    }

    /// Moves every waiting listener's waker to `wakers` without publishing anything (the
    /// driver shut down; listeners re-check their driver).
    pub fn take_wakers(&self, wakers: &mut Vec<Waker>) {
        let mut w = self.waiters.lock();
        wakers.extend(w.drain(..).map(|(_, waker)| waker));
    }

    /// Listener side: `Ready` if the generation moved since `seen` (which is then
    /// updated); otherwise stores `cx`'s waker under `id` and returns `Pending`.
    pub fn poll_listener(&self, id: u64, seen: &mut usize, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.generation.load(Ordering::Acquire);
        if now != *seen {
            *seen = now;
            return Poll::Ready(());
        }
        let mut w = self.waiters.lock();
        match w.iter_mut().find(|(i, _)| *i == id) {
            Some((_, waker)) => {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
            None => w.push((id, cx.waker().clone())),
        }
        // Re-check under the lock: a broadcast bumps the generation before locking.
        let now = self.generation.load(Ordering::Acquire);
        if now != *seen {
            *seen = now;
            w.retain(|(i, _)| *i != id);
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Forgets listener `id`'s waker (the listener is dropped).
    pub fn remove(&self, id: u64) {
        let removed = {
            let mut w = self.waiters.lock();
            w.iter()
                .position(|(i, _)| *i == id)
                .map(|p| w.swap_remove(p))
        };
        // Dropped outside the lock.
        drop(removed);
    }
}

/// What the OS handler of a signal runs: marks `state` pending, *then* calls `write`
/// (which writes one byte into the self-pipe). Async-signal-safe as long as `write` is:
/// one lock-free atomic swap.
#[inline]
pub fn on_signal(state: &SignalState, write: impl FnOnce()) {
    // An RMW rather than a plain store: loom (0.7) lets a later `swap` that
    // happens-after a plain `store(true)` read a stale `false` (see docs/io.md, "Loom");
    // with an RMW on both sides the model is exact. A lock-free RMW is as
    // async-signal-safe as a store.
    state.pending.swap(true, Ordering::SeqCst);
    write();
}

/// What a driver runs when the self-pipe is readable: `drain` empties the pipe, *then*
/// every state in `states` broadcasts (see [`SignalState::broadcast`]). Returns the
/// indexes (in `states` order) of the states that had a signal pending, as a bit set
/// (bit `i` for state `i`, for `i < 128`).
pub fn broadcast_after<'a>(
    drain: impl FnOnce(),
    states: impl IntoIterator<Item = &'a SignalState>,
    wakers: &mut Vec<Waker>,
) -> u128 {
    drain();
    let mut fired = 0u128;
    for (i, state) in states.into_iter().enumerate() {
        if state.broadcast(wakers) && i < 128 {
            fired |= 1 << i;
        }
    }
    fired
}

/// The process-wide part: the self-pipe and one slot per signal number.
struct Globals {
    /// Read end; drivers register duplicates of it. Never closed.
    receiver: UnixStream,
    /// Write end, used by the OS handlers. Never closed (the handlers may run at any
    /// time, so its fd number must never be reused).
    sender: UnixStream,
    slots: Box<[Slot]>,
}

struct Slot {
    state: SignalState,
    /// Whether the OS handler is installed (it never is uninstalled).
    installed: std::sync::Mutex<bool>,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();
static GLOBALS_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn globals() -> io::Result<&'static Globals> {
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let _init = GLOBALS_INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    // std creates both ends with SOCK_CLOEXEC: children do not inherit them.
    let (receiver, sender) = UnixStream::pair()?;
    receiver.set_nonblocking(true)?;
    sender.set_nonblocking(true)?;
    let slots = (0..NSIG)
        .map(|_| Slot {
            state: SignalState::new(),
            installed: std::sync::Mutex::new(false),
        })
        .collect();
    let _ = GLOBALS.set(Globals {
        receiver,
        sender,
        slots,
    });
    Ok(GLOBALS.get().expect("just set"))
}

/// A new descriptor for the read end of the self-pipe, for a driver to register.
pub(crate) fn dup_receiver() -> io::Result<OwnedFd> {
    // `try_clone` is `fcntl(F_DUPFD_CLOEXEC)`; the duplicate shares the open file
    // description, so it is non-blocking too.
    Ok(OwnedFd::from(globals()?.receiver.try_clone()?))
}

/// The state of signal `signum`, installing its OS handler first if needed. The caller
/// checked that `signum` is in range and not forbidden.
pub(crate) fn install(signum: i32) -> io::Result<&'static SignalState> {
    let g = globals()?;
    let slot = &g.slots[signum as usize];
    let mut installed = slot.installed.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed {
        let state: &'static SignalState = &slot.state;
        let fd: RawFd = g.sender.as_raw_fd();
        let action = move || {
            on_signal(state, || {
                let byte = 1u8;
                // SAFETY: `fd` is the write end of the self-pipe, which `GLOBALS` keeps
                // open for the life of the process, and `byte` is a live 1-byte buffer.
                // `write(2)` is async-signal-safe; its result is ignored on purpose (a
                // full pipe already holds a byte that wakes a driver). signal-hook-registry
                // saves and restores `errno` around the handler.
                unsafe {
                    libc::write(fd, (&raw const byte).cast(), 1);
                }
            })
        };
        // SAFETY: the action is async-signal-safe: one lock-free atomic swap on a `'static`
        // state and one `write(2)` (see above); it neither allocates, locks nor panics.
        // `signum` is not in `signal_hook_registry::FORBIDDEN` (checked by the caller).
        unsafe { signal_hook_registry::register(signum, action) }?;
        *installed = true;
    }
    Ok(&g.slots[signum as usize].state)
}

/// Drains the self-pipe through `fd` (a driver's duplicate) and broadcasts every pending
/// signal to its listeners. Returns the set of signals that fired (bit `n` = signal
/// `n`), for the layers above (the process layer reaps orphans on SIGCHLD).
pub(crate) fn dispatch(fd: RawFd, wakers: &mut Vec<Waker>) -> u128 {
    let Some(g) = GLOBALS.get() else { return 0 };
    let drain = || {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: `fd` is the calling driver's open duplicate of the pipe (it lives
            // as long as the driver's handle) and `buf` is a live, writable 64-byte buffer.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                continue;
            }
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // 0 (cannot happen: we hold the write end) or EAGAIN: drained.
            break;
        }
    };
    // Signal numbers fit in the 128-bit set (NSIG = 65).
    broadcast_after(drain, g.slots.iter().map(|s| &s.state), wakers)
}

/// Wakes every listener of every signal (a driver shut down: its listeners must see it).
pub(crate) fn wake_all_listeners() {
    let Some(g) = GLOBALS.get() else { return };
    let mut wakers = Vec::new();
    for slot in g.slots.iter() {
        slot.state.take_wakers(&mut wakers);
    }
    for w in wakers {
        w.wake();
    }
}
