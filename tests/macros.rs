//! `#[magpie::main]` and `#[magpie::test]` against the real runtime, and `join!`,
//! `try_join!` and `pin!` inside tasks on it. (The compile errors of the attributes
//! are checked by `macros_ui.rs`; the macros' polling order by magpie-sync's tests.)

use magpie::runtime::{Handle, RuntimeFlavor};
use magpie::time::{Duration, Instant, sleep};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[magpie::test]
async fn test_defaults_to_current_thread() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
}

#[magpie::test(flavor = "multi_thread", worker_threads = 3)]
async fn test_multi_thread_with_workers() {
    let h = Handle::current();
    assert_eq!(h.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(h.num_workers(), 3);
}

#[magpie::test]
async fn test_returning_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

#[magpie::main(flavor = "current_thread")]
async fn helper_main() -> u32 {
    magpie::spawn(async { 5 }).await.unwrap()
}

#[magpie::main(worker_threads = 2)]
async fn helper_main_mt() -> usize {
    Handle::current().num_workers()
}

#[test]
fn main_attribute_on_plain_fns() {
    assert_eq!(helper_main(), 5);
    assert_eq!(helper_main_mt(), 2);
}

#[test]
fn run_is_asyncio_run() {
    let v = magpie::run(async { magpie::spawn(async { 2 }).await.unwrap() * 21 });
    assert_eq!(v, 42);
}

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[magpie::test(start_paused = true)]
async fn join_runs_the_branches_concurrently_on_the_runtime() {
    let start = Instant::now();
    let (tx, mut rx) = magpie::sync::mpsc::channel::<u32>(1);
    let sender = magpie::spawn(async move {
        sleep(Duration::from_millis(30)).await;
        tx.send(7).await.unwrap();
    });
    let (a, b, c, d) = magpie::join!(
        async {
            sleep(Duration::from_millis(100)).await;
            "slept"
        },
        async { rx.recv().await.unwrap() },
        sender,
        magpie::task::spawn_blocking(|| 6 * 7),
    );
    assert_eq!((a, b, c.unwrap(), d.unwrap()), ("slept", 7, (), 42));
    // Concurrent: the time is the longest branch's, not the sum.
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_join_in_a_task_drops_the_other_branches_on_the_first_error() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let task = magpie::spawn(async move {
        let guard = Tracked(d.clone());
        let out: Result<((), u32), &str> = magpie::try_join!(
            async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
                Ok(())
            },
            async {
                sleep(Duration::from_millis(5)).await;
                Err("failed")
            },
        );
        // The hour-long branch is gone before the error comes back.
        (out, d.load(Ordering::SeqCst))
    });
    assert_eq!(task.await.unwrap(), (Err("failed"), 1));
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // A `JoinHandle` joins with other futures whose error is a `JoinError`.
    let ok = magpie::spawn(async {
        magpie::try_join!(
            biased;
            async { Ok::<u32, magpie::task::JoinError>(1) },
            magpie::spawn(async { 2u32 }),
        )
    });
    assert_eq!(ok.await.unwrap().unwrap(), (1, 2));
}

#[magpie::test(start_paused = true)]
async fn pin_lets_a_timer_be_polled_across_select_iterations() {
    let deadline = sleep(Duration::from_millis(50));
    magpie::pin!(deadline);
    let mut ticks = 0;
    loop {
        magpie::select! {
            _ = &mut deadline => break,
            _ = sleep(Duration::from_millis(10)) => ticks += 1,
        }
    }
    // The same timer kept running across the iterations (a new one each time would
    // never fire): it fired after the fourth or fifth tick.
    assert!((4..=5).contains(&ticks), "{ticks} ticks");
    assert!(deadline.is_elapsed());
}

#[magpie::test]
async fn join_rotation_lets_a_timer_branch_run_beside_a_budget_hog() {
    // A branch that never waits by itself (it only gets `Pending` when the task's
    // coop budget runs out) beside a branch waiting on timers. Were the hog always
    // polled first (as with `biased;`, which fails this test), it would spend each
    // poll's whole budget and the timer branch would never see its timer fire;
    // rotating the first branch gives both a turn.
    let permits = magpie::sync::Semaphore::new(10);
    let done = std::cell::Cell::new(false);
    let mut spins = 0u64;
    magpie::join!(
        async {
            while !done.get() {
                let _permit = permits.acquire().await.unwrap();
                spins += 1;
                assert!(spins < 5_000_000, "the timer branch starved");
            }
        },
        async {
            for _ in 0..3 {
                sleep(Duration::from_millis(1)).await;
            }
            done.set(true);
        },
    );
}

/// `name = "..."` names the runtime the attribute builds.
#[magpie::test(name = "named-test-runtime")]
async fn name_argument_names_the_runtime() {
    assert_eq!(
        magpie::runtime::Handle::current().name(),
        Some("named-test-runtime")
    );
}
