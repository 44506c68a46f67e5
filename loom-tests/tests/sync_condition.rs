#![cfg(loom)]
//! Loom models of `magpie_sync::Condition` (over magpie's `Mutex` and `Notify`).

mod sync_util;
use loom::thread;
use magpie_sync::{Condition, Mutex};
use std::sync::Arc;
use sync_util::block_on;

/// The waiter checks the flag, queues and releases the lock while the notifier sets
/// the flag under the lock and calls `notify_one`: the wakeup is never lost.
#[test]
fn wait_while_vs_notify_one() {
    loom::model(|| {
        let pair = Arc::new((Mutex::new(false), Condition::new()));
        let p = pair.clone();
        let t = thread::spawn(move || {
            let (lock, cond) = &*p;
            *block_on(lock.lock()) = true;
            cond.notify_one();
        });
        let (lock, cond) = &*pair;
        let guard = block_on(async { cond.wait_while(lock.lock().await, |set| !*set).await });
        assert!(*guard);
        drop(guard);
        t.join().unwrap();
    });
}

/// Two waiters, one `notify_all` after the flag is set: both return.
#[test]
fn notify_all_wakes_both_waiters() {
    loom::model(|| {
        let pair = Arc::new((Mutex::new(false), Condition::new()));
        let p = pair.clone();
        let t = thread::spawn(move || {
            let (lock, cond) = &*p;
            drop(block_on(async {
                cond.wait_while(lock.lock().await, |s| !*s).await
            }));
        });
        let (lock, cond) = &*pair;
        let p2 = pair.clone();
        let t2 = thread::spawn(move || {
            let (lock, cond) = &*p2;
            *block_on(lock.lock()) = true;
            cond.notify_all();
        });
        drop(block_on(async {
            cond.wait_while(lock.lock().await, |s| !*s).await
        }));
        t.join().unwrap();
        t2.join().unwrap();
    });
}
