//! The SIGCHLD fallback for kernels without pidfds, forced on this whole test binary
//! (`disable_pidfd`), on the I/O driver stack (whose process layer reaps orphans).

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Rt;
use magpie_base::park::Park;
use magpie_io::AsyncReadExt;
use magpie_io::process::{Command, disable_pidfd};

fn is_our_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let ppid: u32 = rest.split_whitespace().nth(1).unwrap().parse().unwrap();
    ppid == std::process::id()
}

/// Parks the driver (dispatching signals) until `pid` is not our child any more.
fn drive_until_reaped(rt: &mut Rt, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_our_child(pid) {
        assert!(Instant::now() < deadline, "child {pid} not reaped");
        rt.driver.park_timeout(Duration::from_millis(10));
    }
}

#[test]
fn many_concurrent_children_are_waited_through_sigchld() {
    disable_pidfd(true);
    let mut rt = Rt::new();
    rt.block_on(async {
        // All 50 run at once; their SIGCHLDs coalesce, and every waiter re-checks.
        let mut children = Vec::new();
        for i in 0..50 {
            let child = Command::new("sh")
                .arg("-c")
                .arg(format!("sleep 0.0{}; exit {}", i % 10, i % 5))
                .spawn()
                .unwrap();
            assert!(!child.uses_pidfd());
            children.push((i, child));
        }
        // Wait in reverse order, so most children have exited before their wait starts.
        for (i, mut child) in children.into_iter().rev() {
            let status = child.wait().await.unwrap();
            assert_eq!(status.code(), Some(i % 5), "child {i}");
            assert_eq!(child.id(), None);
        }
    });
}

#[test]
fn output_and_kill_through_sigchld() {
    disable_pidfd(true);
    let mut rt = Rt::new();
    rt.block_on(async {
        let mut child = Command::new("echo")
            .arg("fallback")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = String::new();
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        assert_eq!(out, "fallback\n");
        assert!(child.wait().await.unwrap().success());

        let mut sleeper = Command::new("sleep").arg("100").spawn().unwrap();
        sleeper.kill().await.unwrap();
        assert_eq!(sleeper.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn dropped_children_are_reaped_through_sigchld() {
    disable_pidfd(true);
    let mut rt = Rt::new();
    let (plain, killed) = rt.block_on(async {
        let plain = Command::new("sleep").arg("0.1").spawn().unwrap();
        let killed = Command::new("sleep")
            .arg("100")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        (plain.id().unwrap(), killed.id().unwrap())
        // Both dropped here, unwaited.
    });
    drive_until_reaped(&mut rt, killed);
    drive_until_reaped(&mut rt, plain);
}
