//! Unix signal listeners: [`signal`], [`Signal`], [`SignalKind`].

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use magpie_base::coop;

use super::registry::{self, NSIG, SignalState};
use crate::driver::Handle;

/// A signal number to listen for. The named constructors cover the usual signals;
/// [`from_raw`](Self::from_raw) takes any number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// The signal with number `signum` (e.g. `libc::SIGRTMIN() + 1`).
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// SIGINT: interrupt from the terminal (Ctrl-C).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: polite request to terminate (what `kill` sends by default).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal hung up; daemons often take it as "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGUSR1: user-defined.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2: user-defined.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGCHLD: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// SIGQUIT: quit from the terminal (Ctrl-\).
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGALRM: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// SIGPIPE: a write to a pipe with no reader. (Rust programs ignore it by default;
    /// listening for it replaces that.)
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// SIGWINCH: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for libc::c_int {
    fn from(kind: SignalKind) -> libc::c_int {
        kind.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignalKind").field(&self.0).finish()
    }
}

/// A listener for one signal number, created by [`signal`].
///
/// Each listener sees every delivery of its signal that happens after it was created:
/// [`recv`](Self::recv) completes once per batch of deliveries since the previous
/// `recv` (deliveries that arrive close together may coalesce into one). Several
/// listeners of the same signal all see it.
pub struct Signal {
    handle: Handle,
    state: &'static SignalState,
    id: u64,
    /// The generation this listener last reported.
    seen: usize,
    kind: SignalKind,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Creates a listener for `kind` in the current runtime. The OS handler for that signal
/// is installed by the first listener and stays installed for the rest of the process.
///
/// # Errors
/// * `InvalidInput` for a signal that cannot be handled (SIGKILL, SIGSTOP, SIGILL, SIGFPE,
///   SIGSEGV) or a number out of range;
/// * outside a runtime with I/O enabled (the message says how to fix it), or after it
///   shut down;
/// * when the OS refuses the handler or the self-pipe cannot be created.
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// use magpie_io::signal::unix::{signal, SignalKind};
///
/// let mut term = signal(SignalKind::terminate())?;
/// term.recv().await;
/// println!("got SIGTERM");
/// # Ok(())
/// # }
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.0;
    if signum <= 0 || signum as usize >= NSIG {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal number {signum} is out of range (1..{NSIG})"),
        ));
    }
    if signal_hook_registry::FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "signal {signum} cannot be listened for: SIGKILL, SIGSTOP, SIGILL, SIGFPE and SIGSEGV are forbidden"
            ),
        ));
    }
    // Before any process-wide side effect: outside a runtime, fail cleanly.
    // Every driver stack (`crate::stack`) drains the signal pipe; no per-listener setup.
    let handle = Handle::current()?;
    let state = registry::install(signum)?;
    Ok(Signal {
        handle,
        state,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        seen: state.generation(),
        kind,
    })
}

impl Signal {
    /// Waits for the next delivery of the signal. Returns `None` once the runtime this
    /// listener belongs to has shut down.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery: `Ready(Some(()))` if the signal arrived since the
    /// last one reported (or since this listener was created), `Ready(None)` after the
    /// runtime shut down, else `Pending` (and `cx`'s waker is woken on the next
    /// delivery). Spends one unit of the task's cooperative budget.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.handle.is_shutdown() {
            return Poll::Ready(None);
        }
        let mut coop = ready!(coop::poll_proceed(cx));
        match self.state.poll_listener(self.id, &mut self.seen, cx) {
            Poll::Ready(()) => {
                coop.made_progress();
                Poll::Ready(Some(()))
            }
            // The shutdown wake-up takes the wakers after setting the flag: re-check.
            Poll::Pending if self.handle.is_shutdown() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The signal this listener listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.state.remove(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}
