//! The cost of spawning and joining an empty task, against the cost of an uncontended
//! compare-and-swap on this machine (issue 18's floor: spawn + join within 3× the cost
//! of ~25 uncontended CAS).
//!
//! ```text
//! spawn_cost [ITERS] [current|multi]
//! ```
//!
//! Prints ns per CAS (a `compare_exchange` on a core-local atomic, in a loop the
//! optimiser cannot remove), ns per `spawn(async {}).await` from a task on a
//! one-worker runtime (`multi`, default: a multi-thread runtime with one worker; or the
//! current-thread runtime), their ratio and the 3 × 25 CAS target. For instruction
//! counts, run it under `valgrind --tool=callgrind` at two ITERS values and divide the
//! difference by the difference in ITERS (this cancels the runtime's setup).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

fn usage() -> ! {
    eprintln!("usage: spawn_cost [ITERS] [current|multi]");
    std::process::exit(2);
}

/// ns per uncontended `compare_exchange` (best of 5 rounds).
fn cas_ns(iters: u64) -> f64 {
    let cell = AtomicU64::new(0);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for i in 0..iters {
            let cur = black_box(&cell).load(Ordering::Relaxed);
            let _ = black_box(&cell).compare_exchange(
                cur,
                cur + i,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        best = best.min(start.elapsed().as_nanos() as f64 / iters as f64);
    }
    best
}

/// ns per spawn + join of an empty task (best of 5 rounds).
fn spawn_join_ns(rt: &magpie::runtime::Runtime, iters: u64) -> f64 {
    rt.block_on(async move {
        magpie::spawn(async move {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                for _ in 0..iters {
                    magpie::spawn(async {}).await.expect("empty task");
                }
                best = best.min(start.elapsed().as_nanos() as f64 / iters as f64);
            }
            best
        })
        .await
        .expect("driver task")
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iters: u64 = match args.next() {
        Some(v) => v.parse().unwrap_or_else(|_| usage()),
        None => 200_000,
    };
    let flavour = args.next().unwrap_or_else(|| "multi".to_string());
    if args.next().is_some() {
        usage();
    }
    let rt = match flavour.as_str() {
        "multi" => magpie::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build(),
        "current" => magpie::runtime::Builder::new_current_thread().build(),
        _ => usage(),
    }
    .expect("runtime");
    let cas = cas_ns(iters * 10);
    let spawn = spawn_join_ns(&rt, iters);
    println!("cas_ns {cas:.2}");
    println!("spawn_join_ns {spawn:.2}");
    println!("spawn_join_over_25_cas {:.2}", spawn / (25.0 * cas));
    println!("target (3 x 25 CAS) {:.2} ns", 75.0 * cas);
}
