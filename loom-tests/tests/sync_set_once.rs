#![cfg(loom)]
//! Loom models of `magpie_sync::SetOnce`.

mod sync_util;
use loom::thread;
use magpie_sync::SetOnce;
use std::sync::Arc;
use sync_util::block_on;

#[test]
fn wait_vs_set() {
    loom::model(|| {
        let cell = Arc::new(SetOnce::new());
        let c = cell.clone();
        let t = thread::spawn(move || c.set(5).unwrap());
        assert_eq!(*block_on(cell.wait()), 5);
        t.join().unwrap();
    });
}

/// Two racing `set`s: exactly one wins and the waiter sees the winner's value.
#[test]
fn two_sets_one_winner() {
    loom::model(|| {
        let cell = Arc::new(SetOnce::new());
        let c = cell.clone();
        let t = thread::spawn(move || c.set(1).is_ok());
        let mine = cell.set(2).is_ok();
        let theirs = t.join().unwrap();
        assert!(mine ^ theirs);
        let expect = if mine { 2 } else { 1 };
        assert_eq!(*block_on(cell.wait()), expect);
    });
}
