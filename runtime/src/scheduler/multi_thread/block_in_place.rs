//! `block_in_place`: the worker hands its core to a blocking-pool thread, then runs
//! the closure (see `Handle::hand_off_core` in `worker.rs`).

use crate::context::{self, SchedulerContext};
use magpie_base::coop;

#[track_caller]
pub(crate) fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    match context::scheduler() {
        SchedulerContext::MultiThread(ptr) => {
            // SAFETY: set by `run` for this thread while the `Context` lives.
            let cx = unsafe { &*ptr };
            // Hand the core (its queues and parker) to a blocking-pool thread, which
            // runs the worker loop with it while this thread blocks; this thread stops
            // being a worker once the calling task returns to it. Pool threads are
            // reused, so a loop of calls costs no thread each (tokio hands the core
            // over the same way).
            cx.hand_off_core();
            let _exit = context::exit_runtime();
            // The closure is blocking code: the caller's budget does not apply to it.
            coop::with_unconstrained(f)
        }
        SchedulerContext::CurrentThread(_) => panic!(
            "`block_in_place` can only be called on the multi-thread runtime: a \
             current-thread runtime has no other thread to run its tasks meanwhile. \
             Use `spawn_blocking` instead, or build the runtime with \
             `Builder::new_multi_thread()`."
        ),
        SchedulerContext::None => {
            if let context::EnterRuntime::Entered {
                allow_block_in_place: false,
            } = context::runtime_state()
            {
                panic!(
                    "`block_in_place` can only be called on the multi-thread runtime; \
                     this thread drives a current-thread runtime. Use `spawn_blocking` \
                     instead."
                );
            }
            let _exit = context::exit_runtime();
            f()
        }
    }
}
