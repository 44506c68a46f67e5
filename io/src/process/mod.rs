//! Child processes (tokio's `tokio::process` names): [`Command`] mirrors
//! `std::process::Command`, and [`Child`] is waited for asynchronously, with its stdio
//! pipes as async streams.
//!
//! ```no_run
//! # async fn doc() -> std::io::Result<()> {
//! use magpie_io::process::Command;
//!
//! let out = Command::new("echo").arg("hello").output().await?;
//! assert!(out.status.success());
//! assert_eq!(out.stdout, b"hello\n");
//! # Ok(())
//! # }
//! ```
//!
//! # Waiting without a thread per child
//!
//! On Linux (5.3+) each child gets a pidfd, registered with the runtime's I/O driver: it
//! becomes readable when the child exits, and `wait` then reaps it with
//! `waitpid(pid, WNOHANG)`. Where pidfds are unavailable, children wait for SIGCHLD
//! (through [`crate::signal`]) and try `waitpid(pid, WNOHANG)` after each one.
//!
//! # No zombies
//!
//! A [`Child`] dropped before it was reaped is adopted by a process-wide orphan list
//! (after a SIGKILL if [`Command::kill_on_drop`] was set); orphans are reaped, each with
//! `waitpid(pid, WNOHANG)`, on every SIGCHLD (spawning installs a SIGCHLD handler), every
//! spawn and every completed wait. magpie never calls `waitpid(-1)`, so children spawned
//! by other code are left alone. If no magpie runtime is running when an orphan exits,
//! it stays a zombie until the next spawn or wait in any runtime.
//!
//! # Differences from std
//!
//! * `status()` and `output()` spawn the child at once (when called) and return a future
//!   that waits for it; the future does not borrow the `Command`.
//! * `Child::wait` closes the child's stdin first (so a child reading its stdin to the
//!   end can exit), like `std::process::Child::wait`.

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};
use std::task::{Context, Poll, ready};

use magpie_base::coop;

use crate::driver::{Handle, shut_down};
use crate::scheduled_io::Direction;

pub mod driver;
mod pipes;
mod reap;

pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
use reap::Reaper;
pub(crate) use reap::reap_orphans;
#[doc(hidden)]
pub use reap::{disable_pidfd, orphan_count};

/// A process builder: `std::process::Command` plus [`kill_on_drop`](Self::kill_on_drop),
/// spawning children that are waited for asynchronously.
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no slash), with no
    /// arguments, the parent's environment and working directory, and inherited stdio.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment (only variables set afterwards are passed).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin (`Stdio::piped()` gives a [`ChildStdin`]).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets the child's stdout (`Stdio::piped()` gives a [`ChildStdout`]).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Sets the child's stderr (`Stdio::piped()` gives a [`ChildStderr`]).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether dropping a [`Child`] that has not exited yet sends it SIGKILL (default:
    /// `false`, the child keeps running). Either way, the dropped child is reaped once
    /// it exits (see the [module docs](self)).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Whether [`kill_on_drop`](Self::kill_on_drop) is set.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Sets the child's user id (`setuid` before `exec`).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Sets the child's group id (`setgid` before `exec`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by the child).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// The underlying std command.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The underlying std command, to set what this type has no method for (e.g.
    /// `CommandExt::pre_exec`). Stdio should be set through this type's
    /// [`stdin`](Self::stdin)/[`stdout`](Self::stdout)/[`stderr`](Self::stderr):
    /// [`output`](Self::output) replaces (with its defaults, then `inherit`) the stdio
    /// that was not set through them.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Spawns the child in the current runtime. Its stdio pipes (where
    /// `Stdio::piped()` was asked for) are in the returned [`Child`]'s fields.
    ///
    /// # Errors
    /// `NotFound` when the program does not exist; the OS's error when it cannot be
    /// started; an error outside a runtime with I/O enabled (no process is started then).
    pub fn spawn(&mut self) -> io::Result<Child> {
        // Before anything else: outside a runtime, start no process.
        let handle = Handle::current()?;
        // SIGCHLD wakes the driver stack, whose process layer then reaps orphans (and
        // the signal layer wakes fallback waiters); installed before the child exists
        // so that no exit goes unseen.
        crate::signal::registry::install(libc::SIGCHLD)?;
        reap_orphans();

        let mut std_child = self.std.spawn()?;
        let stdin = std_child.stdin.take();
        let stdout = std_child.stdout.take();
        let stderr = std_child.stderr.take();
        let pid = std_child.id();
        let mut inner = ChildInner {
            std: Some(std_child),
            reaper: None,
            status: None,
            kill_on_drop: self.kill_on_drop,
        };
        // If registering fails, nobody could wait for the child: kill it (and reap it
        // as an orphan) rather than leave it running unattended.
        let fail = |mut inner: ChildInner, e: io::Error| {
            inner.kill_on_drop = true;
            drop(inner);
            Err(e)
        };
        match Reaper::new(&handle, pid) {
            Ok(r) => inner.reaper = Some(r),
            Err(e) => return fail(inner, e),
        }
        let stdin = match stdin.map(|s| ChildStdin::new(s, &handle)).transpose() {
            Ok(s) => s,
            Err(e) => return fail(inner, e),
        };
        let stdout = match stdout.map(|s| ChildStdout::new(s, &handle)).transpose() {
            Ok(s) => s,
            Err(e) => return fail(inner, e),
        };
        let stderr = match stderr.map(|s| ChildStderr::new(s, &handle)).transpose() {
            Ok(s) => s,
            Err(e) => return fail(inner, e),
        };
        Ok(Child {
            stdin,
            stdout,
            stderr,
            inner,
        })
    }

    /// Spawns the child (now, not when the future is first polled) and returns a future
    /// that waits for it. Stdio is inherited unless set; pipes that were asked for are
    /// closed (so the child does not block on them).
    ///
    /// ```no_run
    /// # async fn doc() -> std::io::Result<()> {
    /// let status = magpie_io::process::Command::new("true").status().await?;
    /// assert!(status.success());
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + use<> {
        let child = self.spawn();
        async move {
            let mut child = child?;
            drop(child.stdin.take());
            drop(child.stdout.take());
            drop(child.stderr.take());
            child.wait().await
        }
    }

    /// Spawns the child (now) and returns a future that collects its stdout and stderr
    /// and waits for it. As with std, stdout and stderr are piped and stdin is null
    /// unless set with [`stdin`](Self::stdin)/[`stdout`](Self::stdout)/[`stderr`](Self::stderr).
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + use<> {
        let (i, o, e) = (self.stdin_set, self.stdout_set, self.stderr_set);
        if !i {
            self.std.stdin(Stdio::null());
        }
        if !o {
            self.std.stdout(Stdio::piped());
        }
        if !e {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        // Back to the default of `spawn` for what was not set explicitly.
        if !i {
            self.std.stdin(Stdio::inherit());
        }
        if !o {
            self.std.stdout(Stdio::inherit());
        }
        if !e {
            self.std.stderr(Stdio::inherit());
        }
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("std", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// A spawned child process. Wait for it with [`wait`](Self::wait) (or
/// [`wait_with_output`](Self::wait_with_output)); a child dropped before it exited
/// keeps running (unless [`Command::kill_on_drop`] was set) and is reaped by magpie once
/// it exits, so it never stays a zombie.
pub struct Child {
    /// The child's stdin, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
    inner: ChildInner,
}

/// The part of a `Child` that reaps it; its `Drop` hands an unreaped child to the
/// orphan list.
struct ChildInner {
    /// `None` only once dropped.
    std: Option<std::process::Child>,
    /// `None` once reaped (the pidfd is deregistered and closed then).
    reaper: Option<Reaper>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
}

impl Child {
    /// The child's process id, or `None` once it has been reaped (the id may then
    /// belong to another process).
    pub fn id(&self) -> Option<u32> {
        match (&self.inner.status, &self.inner.std) {
            (None, Some(c)) => Some(c.id()),
            _ => None,
        }
    }

    /// The exit status if the child has exited (reaping it), `None` if it still runs.
    /// Never blocks.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Waits for the child to exit and reaps it; its stdin is closed first. Cancel-safe:
    /// dropping the future and calling `wait` again is fine.
    ///
    /// # Errors
    /// When the runtime shuts down while waiting, or `waitpid` fails.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        std::future::poll_fn(|cx| self.inner.poll_wait(cx)).await
    }

    /// Closes stdin, reads stdout and stderr to the end (those that are piped) while
    /// waiting for the child, and returns all three.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout_pipe = self.stdout.take();
        let mut stderr_pipe = self.stderr.take();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut status = None;
        std::future::poll_fn(|cx| {
            let out = drive_to_end(&mut stdout_pipe, &mut stdout, cx)?;
            let err = drive_to_end(&mut stderr_pipe, &mut stderr, cx)?;
            if status.is_none() {
                status = Some(ready!(self.inner.poll_wait(cx))?);
            }
            if out.is_ready() && err.is_ready() {
                Poll::Ready(Ok::<(), io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("set before the future completed"),
            stdout,
            stderr,
        })
    }

    /// Sends SIGKILL without waiting (`Ok` if the child has already been reaped).
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.inner.start_kill()
    }

    /// Sends SIGKILL and waits for the child to exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Whether this child's exit is noticed through a pidfd (else through SIGCHLD).
    #[doc(hidden)]
    pub fn uses_pidfd(&self) -> bool {
        self.inner.reaper.as_ref().is_some_and(Reaper::is_pidfd)
    }
}

/// Reads `pipe` to its end into `buf`, then closes it (sets it to `None`).
fn drive_to_end<R: futures_io::AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let Some(p) = pipe.as_mut() else {
        return Poll::Ready(Ok(()));
    };
    ready!(crate::ext::poll_read_to_end(p, cx, buf))?;
    *pipe = None;
    Poll::Ready(Ok(()))
}

impl ChildInner {
    fn std(&mut self) -> &mut std::process::Child {
        self.std.as_mut().expect("present until drop")
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let res = self.std().try_wait()?;
        if let Some(s) = res {
            self.finish(s);
        }
        Ok(res)
    }

    fn finish(&mut self, status: ExitStatus) {
        self.status = Some(status);
        // Deregisters and closes the pidfd (or drops the SIGCHLD listener).
        self.reaper = None;
        reap_orphans();
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(s) = self.status {
            return Poll::Ready(Ok(s));
        }
        let mut coop = ready!(coop::poll_proceed(cx));
        loop {
            if let Some(s) = self.try_wait()? {
                coop.made_progress();
                return Poll::Ready(Ok(s));
            }
            match self.reaper.as_mut() {
                Some(Reaper::PidFd(pidfd)) => {
                    // Readable once the child exited.
                    let ev = ready!(pidfd.poll_ready(cx, Direction::Read))?;
                    let std = self.std.as_mut().expect("present until drop");
                    match std.try_wait()? {
                        Some(s) => {
                            self.finish(s);
                            coop.made_progress();
                            return Poll::Ready(Ok(s));
                        }
                        None => pidfd.clear_readiness(ev),
                    }
                }
                Some(Reaper::Sigchld(sigchld)) => {
                    // A SIGCHLD since the last look: try again.
                    if ready!(sigchld.poll_recv(cx)).is_none() {
                        return Poll::Ready(Err(shut_down()));
                    }
                }
                None => return Poll::Ready(Err(io::Error::other("child has no reaper"))),
            }
        }
    }

    fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std().kill()
    }
}

impl Drop for ChildInner {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        // Deregister the pidfd before the child goes to the orphan list.
        self.reaper = None;
        let Some(mut std) = self.std.take() else {
            return;
        };
        if self.kill_on_drop {
            // Fails only if the child was reaped meanwhile (then nothing to do).
            let _ = std.kill();
        }
        reap::orphan(std);
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.inner.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
