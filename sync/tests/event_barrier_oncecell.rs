mod common;

use common::*;
use magpie_sync::{Barrier, Event, OnceCell, SetError};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

#[test]
fn event_set_wakes_all_and_stays_set() {
    let ev = Event::new();
    let mut a = pin!(ev.wait());
    let mut b = pin!(ev.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    ev.set();
    ev.clear(); // cleared before they run: they were still released (asyncio semantics)
    assert!(poll_once(a.as_mut()).is_ready());
    assert!(poll_once(b.as_mut()).is_ready());
    let mut c = pin!(ev.wait());
    assert!(poll_once(c.as_mut()).is_pending());
    ev.set();
    assert!(ev.is_set());
    block_on(ev.wait());
}

#[test]
fn event_across_threads() {
    let ev = Arc::new(Event::new());
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let ev = ev.clone();
            std::thread::spawn(move || block_on(ev.wait()))
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(5));
    ev.set();
    for t in ts {
        t.join().unwrap();
    }
}

#[test]
fn barrier_one_leader_per_round_and_reusable() {
    let b = Arc::new(Barrier::new(4));
    let leaders = Arc::new(AtomicUsize::new(0));
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let (b, leaders) = (b.clone(), leaders.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    if block_on(b.wait()).is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::SeqCst), 50);
}

#[test]
fn barrier_waits_for_everyone() {
    let b = Barrier::new(2);
    let mut a = pin!(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(block_on(b.wait()).is_leader());
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(r) if !r.is_leader()));
}

#[test]
fn once_cell_init_once() {
    let cell = OnceCell::new();
    let calls = AtomicUsize::new(0);
    let v = block_on(cell.get_or_init(|| async {
        calls.fetch_add(1, Ordering::SeqCst);
        1
    }));
    assert_eq!(*v, 1);
    let v = block_on(cell.get_or_init(|| async { 2 }));
    assert_eq!(*v, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cell.set(3), Err(SetError::AlreadyInitializedError(3)));
    assert!(cell.initialized());
}

#[test]
fn once_cell_cancelled_initializer_lets_next_one_run() {
    let cell = OnceCell::<u32>::new();
    let mut first = Box::pin(cell.get_or_init(std::future::pending));
    assert!(poll_once(first.as_mut()).is_pending());
    let mut second = pin!(cell.get_or_init(|| async { 7 }));
    assert!(poll_once(second.as_mut()).is_pending());
    assert!(matches!(cell.set(1), Err(SetError::InitializingError(1))));
    drop(first); // cancelled mid-initialisation: permit returned
    assert_eq!(poll_once(second.as_mut()), Poll::Ready(&7));
}

#[test]
fn once_cell_waiters_get_the_value_and_errors_retry() {
    let cell = OnceCell::<u32>::new();
    let r: Result<&u32, &str> = block_on(cell.get_or_try_init(|| async { Err("no") }));
    assert!(r.is_err());
    assert!(!cell.initialized());
    let cell = Arc::new(cell);
    let ts: Vec<_> = (0..4)
        .map(|i| {
            let cell = cell.clone();
            std::thread::spawn(move || *block_on(cell.get_or_init(|| async move { i })))
        })
        .collect();
    let vals: Vec<u32> = ts.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(vals.iter().all(|v| *v == vals[0]));
}

#[test]
fn once_cell_drops_value_once() {
    let drops = counter();
    let cell = OnceCell::new();
    cell.set(Tracked::new(0, &drops)).unwrap();
    let mut cell2 = OnceCell::new_with(Some(Tracked::new(1, &drops)));
    let taken = cell2.take();
    assert!(cell2.get().is_none());
    drop(cell);
    drop(cell2);
    assert_eq!(get(&drops), 1);
    drop(taken);
    assert_eq!(get(&drops), 2);
}
