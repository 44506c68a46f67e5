//! The first program to run: `cargo run --example hello`.
//!
//! Shows `#[magpie::main]`, spawning tasks, awaiting their `JoinHandle`s, cancelling a
//! task with `abort()`, and a panicking task that does not take the runtime down.

#[path = "common/args.rs"]
mod args;

use magpie::task::JoinError;
use magpie::time::{Duration, sleep};

#[magpie::main]
async fn main() {
    args::Args::parse("usage: hello").finish();
    // Spawn a few tasks (asyncio.create_task) and gather their results in order.
    let handles: Vec<_> = (1..=5u64)
        .map(|i| {
            magpie::spawn(async move {
                sleep(Duration::from_millis(10 * i)).await;
                i * i
            })
        })
        .collect();
    let mut squares = Vec::new();
    for h in handles {
        squares.push(h.await.expect("task failed"));
    }
    println!("squares computed by 5 tasks: {squares:?}");

    // Cancel a task that would run forever (asyncio: task.cancel()).
    let forever = magpie::spawn(async {
        loop {
            sleep(Duration::from_secs(3600)).await;
        }
    });
    forever.abort();
    match forever.await {
        Err(e) if e.is_cancelled() => println!("the endless task was cancelled: {e}"),
        other => println!("unexpected: {other:?}"),
    }

    // A panicking task: the panic is caught and reported through its JoinHandle; the
    // worker and the runtime keep serving.
    let bad = magpie::spawn(async {
        panic!("something went wrong in a task");
    });
    let err: JoinError = bad.await.unwrap_err();
    println!(
        "a task panicked and we caught it: {err} (is_panic = {})",
        err.is_panic()
    );

    // Blocking work goes to the blocking pool (asyncio: run_in_executor).
    let sum = magpie::task::spawn_blocking(|| (1..=1_000_000u64).sum::<u64>())
        .await
        .unwrap();
    println!("sum computed on the blocking pool: {sum}");

    let still_alive = magpie::spawn(async { "the runtime is still serving" });
    println!("{}", still_alive.await.unwrap());
}
