//! In-crate tests of the multi-thread scheduler.

use crate::runtime::Builder;
use crate::task::{block_in_place, yield_now};

/// A loop of `block_in_place` calls keeps no handle of an exited thread: worker
/// threads that gave their core away are at most the original workers, and the
/// blocking pool holds a handle per running thread only (defect 3: every call
/// left a joinable thread, and its stack, in `shared.threads`).
#[test]
fn block_in_place_keeps_no_exited_threads() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(std::time::Duration::from_millis(1))
        .build()
        .unwrap();
    let crate::scheduler::Handle::MultiThread(h) = rt.handle().inner.clone() else {
        unreachable!()
    };
    let calls = if cfg!(miri) { 4 } else { 300 };
    rt.block_on(async move {
        crate::spawn(async move {
            for _ in 0..calls {
                block_in_place(|| std::hint::black_box(1));
                yield_now().await;
            }
        })
        .await
        .unwrap();
    });
    assert!(h.num_worker_handles() <= 2, "worker handles kept");
    // Let idle pool threads retire (keep-alive 1 ms).
    std::thread::sleep(std::time::Duration::from_millis(50));
    let kept = h.blocking.num_thread_handles();
    let running = h.blocking.num_threads();
    assert_eq!(kept, running, "pool handles kept for exited threads");
    assert!(running <= 4, "{running} pool threads still running");
}

/// A two-worker runtime and its scheduler handle, weakly: the handle is freed once
/// the runtime and every task cell (which together hold it: `task_handle.rs`) are gone.
fn runtime_and_weak_handle() -> (crate::runtime::Runtime, std::sync::Weak<super::Handle>) {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let crate::scheduler::Handle::MultiThread(h) = &rt.handle().inner else {
        unreachable!()
    };
    let weak = std::sync::Arc::downgrade(h);
    (rt, weak)
}

/// Task cells that outlive the runtime (their `JoinHandle`s) keep its handle alive, and
/// the last one freed releases it: never earlier (a wake or a panic report from a
/// cell still reaches the handle), never leaked.
#[test]
fn task_cells_keep_the_handle_until_the_last_is_freed() {
    let (rt, weak) = runtime_and_weak_handle();
    let (done, pending): (Vec<_>, Vec<_>) = rt.block_on(async {
        let done: Vec<_> = (0..8).map(|i| crate::spawn(async move { i })).collect();
        let pending: Vec<_> = (0..8)
            .map(|_| crate::spawn(std::future::pending::<()>()))
            .collect();
        crate::task::yield_now().await;
        (done, pending)
    });
    drop(rt);
    assert!(weak.upgrade().is_some(), "freed while 16 cells were alive");
    drop(done);
    assert!(weak.upgrade().is_some(), "freed while 8 cells were alive");
    for h in pending {
        assert!(h.is_finished(), "shutdown cancelled the task");
        drop(h);
    }
    assert!(
        weak.upgrade().is_none(),
        "the handle leaked after its last cell"
    );
}

/// No task left: the handle goes with the runtime. A task spawned after shutdown
/// (through a kept `Handle`) counts again, from zero.
#[test]
fn the_handle_is_freed_with_the_runtime_and_recounted_after_shutdown() {
    let (rt, weak) = runtime_and_weak_handle();
    rt.block_on(async { crate::spawn(async {}).await.unwrap() });
    let kept = rt.handle().clone();
    drop(rt);
    let late = kept.spawn(async { 1 });
    drop(kept);
    assert!(weak.upgrade().is_some(), "freed under a live cell");
    assert!(
        late.is_finished(),
        "a spawn after shutdown is cancelled at once"
    );
    drop(late);
    assert!(weak.upgrade().is_none(), "the handle leaked");

    let (rt, weak) = runtime_and_weak_handle();
    rt.block_on(async { crate::spawn(async {}).await.unwrap() });
    drop(rt);
    assert!(
        weak.upgrade().is_none(),
        "no cell left, yet the handle outlived the runtime"
    );
}
