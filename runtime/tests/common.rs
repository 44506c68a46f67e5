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
