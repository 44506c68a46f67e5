//! Child processes on the real runtime: stdio pipes, exit statuses, kill_on_drop,
//! reaping (no zombies), errors.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use magpie::io::{AsyncReadExt, AsyncWriteExt};
use magpie::process::Command;
use magpie::time::{sleep, timeout};

const DEADLINE: Duration = Duration::from_secs(10);

fn my_pid() -> u32 {
    std::process::id()
}

/// `(state, ppid)` of process `pid` from /proc, or `None` if it does not exist.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is still our child (running or a zombie). A pid that no longer exists,
/// or was reused by a process that is not our child, is not.
fn is_our_child(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((_, ppid)) if ppid == my_pid())
}

/// Every zombie whose parent is this process.
fn our_zombies() -> Vec<u32> {
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(('Z', ppid)) = proc_stat(pid) {
            if ppid == my_pid() {
                zombies.push(pid);
            }
        }
    }
    zombies
}

/// Waits (on the runtime's timer) until `cond` holds; false after `DEADLINE`.
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if cond() {
            return true;
        }
        sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// Whether this kernel has `pidfd_open` (then children are waited through pidfds).
fn kernel_has_pidfd() -> bool {
    // SAFETY: pidfd_open(2) on our own pid takes two integers; the descriptor it returns
    // is closed right away and used for nothing else.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0);
        if fd >= 0 {
            libc::close(fd as libc::c_int);
        }
        fd >= 0
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).rotate_left(7) as u8)
        .collect()
}

#[magpie::test]
async fn echo_hello_reads_stdout() {
    let mut child = Command::new("echo")
        .arg("hello")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(child.id().is_some());
    assert_eq!(child.uses_pidfd(), kernel_has_pidfd());
    let mut out = String::new();
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    assert_eq!(out, "hello\n");
    let status = child.wait().await.unwrap();
    assert!(status.success());
    assert_eq!(child.id(), None, "no pid once reaped");
}

#[magpie::test]
async fn output_collects_stdout_stderr_and_code() {
    let out = Command::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 7"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), Some(7));
}

#[magpie::test]
async fn output_stdin_is_null_and_env_and_dir_apply() {
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let out = Command::new("sh")
        .args(["-c", "cat; echo \"$MAGPIE_X:$HOME\"; pwd"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("MAGPIE_X", "forty-two")
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // `cat` read the null stdin (EOF at once); HOME was cleared.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("forty-two:\n{}\n", dir.display())
    );
}

/// 10 MiB through `cat`: one task writes stdin, another reads stdout, concurrently
/// (neither fits in a pipe buffer, so sequential code would deadlock).
#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn cat_pipes_ten_mib_both_ways_concurrently() {
    const LEN: usize = 10 << 20;
    let data = payload(LEN);
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let to_write = data.clone();
    let writer = magpie::spawn(async move {
        for chunk in to_write.chunks(100_000) {
            stdin.write_all(chunk).await.unwrap();
        }
        stdin.shutdown().await.unwrap();
        // Writing after shutdown fails instead of hanging.
        assert!(stdin.write_all(b"x").await.is_err());
    });
    let reader = magpie::spawn(async move {
        let mut got = Vec::with_capacity(LEN);
        stdout.read_to_end(&mut got).await.unwrap();
        got
    });
    let got = timeout(Duration::from_secs(60), reader)
        .await
        .expect("cat round trip timed out")
        .unwrap();
    writer.await.unwrap();
    assert_eq!(got.len(), LEN);
    let first_bad = got.iter().zip(&data).position(|(a, b)| a != b);
    assert_eq!(first_bad, None, "byte mismatch");
    assert!(child.wait().await.unwrap().success());
}

#[magpie::test]
async fn exit_code_is_reported() {
    let status = Command::new("sh")
        .args(["-c", "exit 3"])
        .status()
        .await
        .unwrap();
    assert_eq!(status.code(), Some(3));
    assert!(!status.success());
    assert_eq!(status.signal(), None);
}

#[magpie::test]
async fn death_by_signal_is_reported() {
    let status = Command::new("sh")
        .args(["-c", "kill -TERM $$"])
        .status()
        .await
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(status.code(), None);
}

#[magpie::test]
async fn try_wait_then_wait_then_kill_is_ok() {
    let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let status = child.wait().await.unwrap();
    assert!(status.success());
    assert_eq!(child.try_wait().unwrap(), Some(status), "cached");
    assert_eq!(
        child.wait().await.unwrap(),
        status,
        "wait again: same status"
    );
    child.start_kill().unwrap(); // already reaped: nothing to do, no error
}

#[magpie::test]
async fn kill_sends_sigkill_and_waits() {
    let mut child = Command::new("sleep").arg("100").spawn().unwrap();
    let pid = child.id().unwrap();
    let started = Instant::now();
    child.kill().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert!(!is_our_child(pid), "reaped");
}

#[magpie::test]
async fn kill_on_drop_kills_and_reaps() {
    let child = Command::new("sleep")
        .arg("100")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    assert!(is_our_child(pid));
    drop(child);
    assert!(
        eventually(|| !is_our_child(pid)).await,
        "kill_on_drop child {pid} still exists: {:?}",
        proc_stat(pid)
    );
}

#[magpie::test]
async fn dropped_child_without_kill_on_drop_runs_on_and_is_reaped() {
    let marker = std::env::temp_dir().join(format!("magpie-orphan-{}", my_pid()));
    let _ = std::fs::remove_file(&marker);
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("sleep 0.2; touch '{}'", marker.display()))
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    drop(child);
    // Not killed: it finishes its work...
    assert!(eventually(|| marker.exists()).await, "orphan was killed");
    // ...and does not stay a zombie.
    assert!(
        eventually(|| !is_our_child(pid)).await,
        "dropped child {pid} not reaped: {:?}",
        proc_stat(pid)
    );
    let _ = std::fs::remove_file(&marker);
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_children_all_reaped() {
    let mut tasks = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..200 {
        let mut child = Command::new("true").spawn().unwrap();
        pids.push(child.id().unwrap());
        tasks.push(magpie::spawn(async move { child.wait().await.unwrap() }));
    }
    for t in tasks {
        assert!(t.await.unwrap().success());
    }
    for pid in &pids {
        assert!(!is_our_child(*pid), "child {pid} not reaped");
    }
    // Other tests in this binary may have children exiting right now; none may stay.
    assert!(
        eventually(|| our_zombies().is_empty()).await,
        "zombies left: {:?}",
        our_zombies()
    );
}

#[magpie::test]
async fn nonexistent_program_is_not_found() {
    let err = Command::new("/nonexistent/magpie-no-such-program")
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = Command::new("magpie-no-such-program-in-path")
        .status()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn spawn_outside_a_runtime_is_an_error_and_starts_nothing() {
    let marker = std::env::temp_dir().join(format!("magpie-outside-{}", my_pid()));
    let _ = std::fs::remove_file(&marker);
    let err = Command::new("touch").arg(&marker).spawn().unwrap_err();
    assert!(err.to_string().contains("magpie runtime"), "{err}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!marker.exists(), "a process was started");
}

/// A child of a runtime that is then dropped: `wait` reports the shutdown instead of
/// hanging, and the child (kill_on_drop) does not outlive its `Child`.
#[test]
fn wait_after_runtime_shutdown_errors() {
    let rt = magpie::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut child = rt
        .block_on(async { Command::new("sleep").arg("100").kill_on_drop(true).spawn() })
        .unwrap();
    let pid = child.id().unwrap();
    drop(rt);
    let rt2 = magpie::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt2.block_on(async {
        let err = child.wait().await.unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        drop(child);
        // Reaped by rt2's driver on SIGCHLD.
        assert!(
            eventually(|| !is_our_child(pid)).await,
            "{:?}",
            proc_stat(pid)
        );
    });
}
