//! Knowing when a child exited, without a thread per child, and reaping children nobody
//! waits for.
//!
//! * **pidfd** (Linux 5.3+): right after `spawn`, `pidfd_open(pid)` gives a descriptor
//!   that becomes readable when the child exits; it is registered with the driver like
//!   a socket. `wait` waits for it to be readable, then calls `waitpid(pid, WNOHANG)`
//!   (through `std::process::Child::try_wait`).
//! * **SIGCHLD fallback** (when `pidfd_open` fails: ENOSYS on old kernels, EPERM under
//!   some seccomp filters, EMFILE): the child gets a SIGCHLD [`Signal`] listener and
//!   `wait` calls `try_wait` after every SIGCHLD broadcast. (Each listener sees each
//!   broadcast, so one SIGCHLD for several exits wakes every waiting child.)
//! * **Orphans**: a `Child` dropped before it was reaped puts its `std::process::Child`
//!   on a global list (after SIGKILL when `kill_on_drop` is set). The list is reaped with
//!   `waitpid(pid, WNOHANG)` per entry at every SIGCHLD broadcast (spawning installs the
//!   SIGCHLD handler and enables the signal pipe of the driver), at every spawn and
//!   every successful wait. Never `waitpid(-1)`: that would steal other code's children.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::driver::Handle;
use crate::registration::PollEvented;
use crate::signal::unix::Signal;

/// Children dropped before they were reaped.
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Tests switch pidfds off to exercise the SIGCHLD fallback.
static PIDFD_DISABLED: AtomicBool = AtomicBool::new(false);

/// Makes later spawns use the SIGCHLD fallback instead of pidfds (for tests of the
/// fallback on kernels that have pidfds).
#[doc(hidden)]
pub fn disable_pidfd(disabled: bool) {
    PIDFD_DISABLED.store(disabled, Ordering::SeqCst);
}

/// Number of dropped children not reaped yet (for tests).
#[doc(hidden)]
pub fn orphan_count() -> usize {
    lock_orphans().len()
}

fn lock_orphans() -> std::sync::MutexGuard<'static, Vec<std::process::Child>> {
    ORPHANS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adopts a child nobody will wait for; it is reaped as soon as it has exited.
pub(crate) fn orphan(child: std::process::Child) {
    lock_orphans().push(child);
    // Every driver stack watches the signal pipe, and the process layer reaps orphans
    // on SIGCHLD (installed by `Command::spawn`): whichever runtime is still alive
    // reaps it when it exits.
    reap_orphans();
}

/// Reaps every orphan that has exited (`waitpid(pid, WNOHANG)` each). An orphan whose
/// `waitpid` fails (ECHILD: someone else reaped it) is forgotten too.
pub(crate) fn reap_orphans() {
    let mut orphans = lock_orphans();
    if orphans.is_empty() {
        return;
    }
    orphans.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

/// How a child's exit is noticed.
pub(crate) enum Reaper {
    /// A pidfd registered with the driver: readable once the child exited.
    PidFd(PollEvented<PidFd>),
    /// A SIGCHLD listener.
    Sigchld(Signal),
}

impl Reaper {
    /// A pidfd for `pid` when the kernel has them, else a SIGCHLD listener. `handle` has
    /// signals enabled and the SIGCHLD handler installed already.
    pub(crate) fn new(handle: &Handle, pid: u32) -> io::Result<Reaper> {
        if !PIDFD_DISABLED.load(Ordering::SeqCst) {
            if let Ok(fd) = pidfd_open(pid) {
                return Ok(Reaper::PidFd(PollEvented::with_interest(
                    PidFd(fd),
                    handle,
                    mio::Interest::READABLE,
                )?));
            }
        }
        Ok(Reaper::Sigchld(crate::signal::unix::signal(
            crate::signal::unix::SignalKind::child(),
        )?))
    }

    /// Whether this reaper uses a pidfd (for tests).
    pub(crate) fn is_pidfd(&self) -> bool {
        matches!(self, Reaper::PidFd(_))
    }
}

#[cfg(target_os = "linux")]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: `pidfd_open(pid, flags)` takes two integers and returns a new descriptor
    // (close-on-exec) or -1 with errno; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall succeeded, so `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(not(target_os = "linux"))]
fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A pidfd as a mio source.
#[derive(Debug)]
pub(crate) struct PidFd(OwnedFd);

impl mio::event::Source for PidFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}
