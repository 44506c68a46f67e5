// Shared helpers for the runtime integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// Counts how many times values of this type were dropped.
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that never completes and counts its drop.
pub struct PendingWithDrop(pub DropCounter);

impl Future for PendingWithDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

pub fn mt(n: usize) -> magpie_runtime::runtime::Runtime {
    magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(n)
        .build()
        .unwrap()
}

pub fn ct() -> magpie_runtime::runtime::Runtime {
    magpie_runtime::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Both flavours, for tests that must hold on each.
pub fn both() -> Vec<(&'static str, magpie_runtime::runtime::Runtime)> {
    vec![
        ("current_thread", ct()),
        ("multi_thread", mt(2)),
        ("multi_thread_4", mt(4)),
    ]
}

/// Runs `f` on its own thread and fails the test if it has not finished within
/// `limit`: a regression in a liveness test fails instead of hanging the suite.
pub fn with_deadline<R: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(out)) => out,
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("{what}: did not finish within {limit:?} (hang)"),
    }
}

/// A current-thread runtime with every driver.
pub fn ct_all() -> magpie_runtime::runtime::Runtime {
    magpie_runtime::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A multi-thread runtime with `n` workers and every driver.
pub fn mt_all(n: usize) -> magpie_runtime::runtime::Runtime {
    magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(n)
        .enable_all()
        .build()
        .unwrap()
}

/// `ct_all()` for "current_thread", else `mt_all(workers)`.
pub fn rt_all(flavour: &str, workers: usize) -> magpie_runtime::runtime::Runtime {
    if flavour == "current_thread" {
        ct_all()
    } else {
        mt_all(workers)
    }
}
