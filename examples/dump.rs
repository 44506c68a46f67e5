//! Task dumps and debug mode: a few tasks wait on each other, one blocks its worker
//! thread, and a monitor task prints the runtime's task dump and metrics every second.
//!
//! Run with `cargo run --example dump`. Debug mode is on, so the blocking task is
//! reported as a slow poll (and by the watchdog while it blocks).
//!
//! The issue asks for the dump on SIGUSR1; magpie has no signal support yet (the
//! signals issue), so this example prints it from a task on a timer. Once signals land,
//! replace the monitor's sleep with `signal(SignalKind::user_defined1()).recv()`.

#[path = "common/args.rs"]
mod args;

use magpie::runtime::{Builder, Handle};
use std::time::Duration;

fn main() {
    args::Args::parse("usage: dump").finish();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .debug(true)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = magpie::sync::mpsc::channel::<u32>(1);
        // Waits for messages that arrive slowly: idle most of the time.
        let consumer = magpie::spawn(async move {
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        let producer = magpie::spawn(async move {
            for i in 0..3 {
                magpie::time::sleep(Duration::from_millis(700)).await;
                tx.send(i).await.unwrap();
            }
        });
        // A task that wrongly blocks its worker thread for 1.2 s.
        let blocker = magpie::spawn(async {
            magpie::time::sleep(Duration::from_millis(300)).await;
            std::thread::sleep(Duration::from_millis(1200));
        });
        let monitor = magpie::spawn(async {
            for _ in 0..3 {
                magpie::time::sleep(Duration::from_secs(1)).await;
                let handle = Handle::current();
                let m = handle.metrics();
                println!("--- task dump ---\n{}", handle.dump());
                for i in 0..m.num_workers() {
                    println!(
                        "worker {i}: {} polls, {} parks, {} steals, busy {:?}",
                        m.worker_poll_count(i),
                        m.worker_park_count(i),
                        m.worker_steal_count(i),
                        m.worker_total_busy_duration(i),
                    );
                }
            }
        });
        producer.await.unwrap();
        blocker.await.unwrap();
        println!("consumer sum: {}", consumer.await.unwrap());
        monitor.await.unwrap();
    });
}
