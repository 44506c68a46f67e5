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
