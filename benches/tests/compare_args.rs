//! `compare`'s argument checks: a bad `--scaling` list (or a scaling flag without
//! `--scaling`) prints why and the usage, and exits with status 2 before any runtime
//! starts. Each run has a deadline so that a regression that starts benchmarking
//! instead fails rather than hangs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `compare` with `args`; returns (exit code, stderr), or panics after 30 s.
fn compare(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start compare");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait for compare").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("compare {args:?} still running after 30 s: it did not reject its arguments");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect compare's output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_scaling_arguments_exit_2_with_usage() {
    let cases: [(&[&str], &str); 6] = [
        (&["--scaling", "0"], "not a positive integer"),
        (&["--scaling", "1,,2"], "not a positive integer"),
        (&["--scaling", "1,x", "--quick"], "not a positive integer"),
        (
            &["--scaling", "--scaling-conns", "64,-5"],
            "not a positive integer",
        ),
        (&["--scaling", "--client-threads"], "needs a value"),
        (&["--client-threads", "2"], "need --scaling"),
    ];
    for (args, why) in cases {
        let (code, err) = compare(args);
        assert_eq!(code, Some(2), "compare {args:?}: stderr {err}");
        assert!(err.contains(why), "compare {args:?}: {err:?} lacks {why:?}");
        assert!(
            err.contains("usage: compare"),
            "compare {args:?}: no usage in {err:?}"
        );
    }
}
