//! The pool against a fake manager whose connections count their drops.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::{Manager, Pool, PoolError};

/// Shared counters of the fake manager.
#[derive(Default)]
struct Counts {
    connects: AtomicUsize,
    drops: AtomicUsize,
    /// Connections alive now, and the most ever alive at once.
    alive: AtomicUsize,
    peak: AtomicUsize,
    /// `check` fails while set (the "server restarted").
    broken: AtomicBool,
    /// `connect` never finishes while set (a server that does not answer).
    hang: AtomicBool,
    /// `connect` fails while set.
    refuse: AtomicBool,
    /// `check` takes 10 s while set.
    slow_check: AtomicBool,
    /// Runs inside `recycle` (a `close` racing a connection's return).
    on_recycle: std::sync::Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

struct FakeConn {
    id: usize,
    counts: Arc<Counts>,
    /// `recycle` drops it when set.
    poisoned: bool,
}

impl Drop for FakeConn {
    fn drop(&mut self) {
        self.counts.drops.fetch_add(1, Ordering::SeqCst);
        self.counts.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Fake(Arc<Counts>);

impl Manager for Fake {
    type Connection = FakeConn;
    type Error = &'static str;

    async fn connect(&self) -> Result<FakeConn, &'static str> {
        if self.0.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.0.refuse.load(Ordering::SeqCst) {
            return Err("connection refused");
        }
        // A little latency, so that concurrent acquirers overlap.
        magpie_time::sleep(Duration::from_millis(1)).await;
        let id = self.0.connects.fetch_add(1, Ordering::SeqCst);
        let alive = self.0.alive.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(alive, Ordering::SeqCst);
        Ok(FakeConn {
            id,
            counts: self.0.clone(),
            poisoned: false,
        })
    }

    async fn check(&self, _conn: &mut FakeConn) -> Result<(), &'static str> {
        let pause = if self.0.slow_check.load(Ordering::SeqCst) {
            10_000
        } else {
            1
        };
        magpie_time::sleep(Duration::from_millis(pause)).await;
        if self.0.broken.load(Ordering::SeqCst) {
            Err("server restarted")
        } else {
            Ok(())
        }
    }

    fn recycle(&self, conn: &mut FakeConn) -> bool {
        if let Some(f) = &*self.0.on_recycle.lock().unwrap() {
            f();
        }
        !conn.poisoned
    }
}

fn fake(max: usize, timeout: Option<Duration>) -> (Pool<Fake>, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let pool = Pool::builder(Fake(counts.clone()))
        .max_size(max)
        .acquire_timeout(timeout)
        .build();
    (pool, counts)
}

/// Runs `f` on a fresh multi-thread runtime, failing (not hanging) after 20 s.
fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        magpie_time::timeout(Duration::from_secs(20), f)
            .await
            .expect("the test hung");
    });
}

#[test]
fn reuses_an_idle_connection() {
    run(async {
        let (pool, counts) = fake(4, None);
        let first = pool.get().await.unwrap();
        let id = first.id;
        assert_eq!(pool.status().idle, 0);
        drop(first);
        assert_eq!(pool.status().idle, 1);
        let again = pool.get().await.unwrap();
        assert_eq!(again.id, id);
        assert_eq!(counts.connects.load(Ordering::SeqCst), 1);
        assert_eq!(pool.status().size, 1);
    });
}

#[test]
fn max_size_holds_under_64_concurrent_acquirers() {
    run(async {
        let (pool, counts) = fake(8, Some(Duration::from_secs(10)));
        let mut tasks = Vec::new();
        for i in 0..64 {
            let pool = pool.clone();
            tasks.push(magpie_runtime::spawn(async move {
                for _ in 0..10 {
                    let conn = pool.get().await.unwrap();
                    assert!(pool.status().size <= 8);
                    magpie_time::sleep(Duration::from_micros(200 + i)).await;
                    drop(conn);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let peak = counts.peak.load(Ordering::SeqCst);
        assert!(peak <= 8, "{peak} connections alive at once, max 8");
        assert!(peak >= 2, "the acquirers never overlapped ({peak})");
        let status = pool.status();
        assert_eq!(status.size, status.idle);
        assert_eq!(
            counts.connects.load(Ordering::SeqCst) - counts.drops.load(Ordering::SeqCst),
            status.size
        );
        drop(pool);
        assert_eq!(
            counts.alive.load(Ordering::SeqCst),
            0,
            "dropping the pool drops the idle list"
        );
    });
}

#[test]
fn acquire_times_out_when_every_connection_is_busy() {
    run(async {
        let (pool, _counts) = fake(1, Some(Duration::from_millis(50)));
        let held = pool.get().await.unwrap();
        let start = std::time::Instant::now();
        assert!(matches!(pool.get().await, Err(PoolError::Timeout)));
        assert!(start.elapsed() >= Duration::from_millis(45));
        drop(held);
        assert!(pool.get().await.is_ok(), "the slot is free again");
    });
}

#[test]
fn a_connect_that_never_answers_times_out() {
    run(async {
        let (pool, counts) = fake(2, Some(Duration::from_millis(50)));
        counts.hang.store(true, Ordering::SeqCst);
        assert!(matches!(pool.get().await, Err(PoolError::Timeout)));
        counts.hang.store(false, Ordering::SeqCst);
        // The cancelled connect gave its permit back: both slots still work.
        let a = pool.get().await.unwrap();
        let b = pool.get().await.unwrap();
        assert_ne!(a.id, b.id);
    });
}

#[test]
fn connect_errors_come_back_and_free_the_slot() {
    run(async {
        let (pool, counts) = fake(1, Some(Duration::from_secs(5)));
        counts.refuse.store(true, Ordering::SeqCst);
        let Err(err) = pool.get().await else {
            panic!("connected while refused")
        };
        assert!(matches!(err, PoolError::Backend("connection refused")));
        assert_eq!(err.to_string(), "could not connect: connection refused");
        counts.refuse.store(false, Ordering::SeqCst);
        assert!(pool.get().await.is_ok());
    });
}

#[test]
fn broken_connections_are_replaced_after_a_restart() {
    run(async {
        let (pool, counts) = fake(4, Some(Duration::from_secs(5)));
        let conns = [pool.get().await.unwrap(), pool.get().await.unwrap()];
        drop(conns);
        assert_eq!(pool.status().idle, 2);
        counts.broken.store(true, Ordering::SeqCst); // the server restarts
        let fresh = pool.get().await.unwrap();
        // Both idle connections failed their check and were dropped; a new one was made.
        assert_eq!(fresh.id, 2);
        assert_eq!(counts.drops.load(Ordering::SeqCst), 2);
        assert_eq!(pool.status().size, 1);
    });
}

#[test]
fn recycle_false_drops_the_connection() {
    run(async {
        let (pool, counts) = fake(4, None);
        let mut conn = pool.get().await.unwrap();
        conn.poisoned = true;
        drop(conn);
        assert_eq!(counts.drops.load(Ordering::SeqCst), 1);
        assert_eq!(
            pool.status(),
            crate::Status {
                size: 0,
                idle: 0,
                max_size: 4
            }
        );
        let conn = pool.get().await.unwrap();
        conn.discard();
        assert_eq!(counts.drops.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn a_cancelled_get_drops_the_connection_it_was_checking() {
    run(async {
        let (pool, counts) = fake(1, None);
        drop(pool.get().await.unwrap());
        // Cancel `get` while it awaits `check` (10 s) on the idle connection.
        counts.slow_check.store(true, Ordering::SeqCst);
        let cut = magpie_time::timeout(Duration::from_millis(20), pool.get()).await;
        assert!(cut.is_err());
        counts.slow_check.store(false, Ordering::SeqCst);
        assert_eq!(counts.drops.load(Ordering::SeqCst), 1);
        assert_eq!(pool.status().size, 0);
        assert!(pool.get().await.is_ok(), "the permit came back");
    });
}

#[test]
fn close_fails_waiters_and_drops_idle_connections() {
    run(async {
        let (pool, counts) = fake(1, None);
        drop(pool.get().await.unwrap());
        let held = pool.get().await.unwrap();
        let waiter = {
            let pool = pool.clone();
            magpie_runtime::spawn(async move { pool.get().await.map(|_| ()) })
        };
        magpie_time::sleep(Duration::from_millis(10)).await;
        pool.close();
        assert!(pool.is_closed());
        assert!(matches!(waiter.await.unwrap(), Err(PoolError::Closed)));
        drop(held);
        assert_eq!(
            counts.alive.load(Ordering::SeqCst),
            0,
            "given back after close: dropped"
        );
        assert!(matches!(pool.get().await, Err(PoolError::Closed)));
    });
}

/// `close` landing while a returned connection is being recycled: the connection is
/// dropped, not put in the (already emptied) idle list of a closed pool.
#[test]
fn close_during_recycle_drops_the_returned_connection() {
    run(async {
        let (pool, counts) = fake(2, None);
        let conn = pool.get().await.unwrap();
        let closer = pool.clone();
        *counts.on_recycle.lock().unwrap() = Some(Box::new(move || closer.close()));
        drop(conn);
        // Break the cycle counts -> hook -> pool -> manager -> counts.
        drop(counts.on_recycle.lock().unwrap().take());
        assert!(pool.is_closed());
        assert_eq!(pool.status().idle, 0, "a closed pool keeps nothing idle");
        assert_eq!(counts.alive.load(Ordering::SeqCst), 0, "dropped at once");
    });
}
