//! Runtime API that tokio code calls: park hooks, `task::unconstrained`, `task::coop`.

mod common;

use common::*;
use magpie_runtime::runtime::Builder;
use magpie_runtime::spawn;
use magpie_runtime::task::{self, coop};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

fn builders() -> Vec<(&'static str, Builder)> {
    let mut mt = Builder::new_multi_thread();
    mt.worker_threads(2);
    vec![
        ("current_thread", Builder::new_current_thread()),
        ("multi_thread", mt),
    ]
}

/// `on_thread_park` / `on_thread_unpark` run around every park of a worker, in pairs,
/// on both flavours; a panicking park hook is contained.
#[test]
fn park_hooks_run_in_pairs_and_panics_are_contained() {
    for (name, mut b) in builders() {
        let parks = Arc::new(AtomicUsize::new(0));
        let unparks = Arc::new(AtomicUsize::new(0));
        let (p, u) = (parks.clone(), unparks.clone());
        let rt = b
            .enable_all()
            .on_thread_park(move || {
                if p.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("park hook panics on purpose");
                }
            })
            .on_thread_unpark(move || {
                u.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        with_deadline(Duration::from_secs(20), name, move || {
            rt.block_on(async {
                for _ in 0..3 {
                    spawn(magpie_time::sleep(Duration::from_millis(5)))
                        .await
                        .unwrap();
                }
            });
            drop(rt);
        });
        let (p, u) = (parks.load(Ordering::SeqCst), unparks.load(Ordering::SeqCst));
        assert!(p >= 1, "{name}: no park seen");
        assert_eq!(p, u, "{name}: parks and unparks are paired");
    }
}

/// Counts the polls of the future it wraps.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Ready channel operations spend the budget and make a task yield; inside
/// `unconstrained` the same loop finishes in one poll.
#[test]
fn unconstrained_never_yields_for_budget() {
    let rt = ct_all();
    rt.block_on(async {
        let run = |unconstrained: bool| {
            let polls = Arc::new(AtomicUsize::new(0));
            let body = async {
                let (tx, mut rx) = magpie_sync::mpsc::unbounded_channel::<u32>();
                for i in 0..1_000 {
                    tx.send(i).unwrap();
                    rx.recv().await.unwrap();
                }
            };
            let fut: Pin<Box<dyn Future<Output = ()> + Send>> = if unconstrained {
                Box::pin(task::unconstrained(body))
            } else {
                Box::pin(body)
            };
            let p = polls.clone();
            async move {
                spawn(CountPolls {
                    inner: Box::pin(fut),
                    polls: p,
                })
                .await
                .unwrap();
                polls.load(Ordering::SeqCst)
            }
        };
        let budgeted = run(false).await;
        let free = run(true).await;
        assert!(
            budgeted > 1,
            "1,000 ready receives never yielded ({budgeted} polls)"
        );
        assert_eq!(free, 1, "unconstrained still yielded");
    });
}

/// `coop::consume_budget` spends one unit and yields once the budget is gone;
/// `has_budget_remaining` reports it.
#[test]
fn consume_budget_yields_when_spent() {
    let rt = ct_all();
    rt.block_on(async {
        let polls = Arc::new(AtomicUsize::new(0));
        let body = async {
            for _ in 0..1_000 {
                coop::consume_budget().await;
            }
            coop::has_budget_remaining()
        };
        let p = polls.clone();
        let left = spawn(CountPolls {
            inner: Box::pin(body),
            polls: p,
        })
        .await
        .unwrap();
        assert!(left);
        assert!(polls.load(Ordering::SeqCst) > 1);
    });
}

/// `Builder::name` is what `Handle::name` returns, on both flavours; unnamed: `None`.
#[test]
fn runtime_name() {
    for (flavour, mut b) in builders() {
        let rt = b.name(format!("rt-{flavour}")).build().unwrap();
        let inside = rt.block_on(async {
            magpie_runtime::runtime::Handle::current()
                .name()
                .map(str::to_string)
        });
        assert_eq!(inside.as_deref(), Some(format!("rt-{flavour}").as_str()));
        assert_eq!(rt.handle().name(), inside.as_deref());
    }
    assert_eq!(ct_all().handle().name(), None);
}

/// Panics of the runtime's entry points point at the caller (`#[track_caller]`):
/// `block_in_place` on a current-thread runtime, a nested `block_on`.
#[test]
fn entry_point_panics_point_at_the_caller() {
    fn panic_location(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let loc = Arc::new(std::sync::Mutex::new(String::new()));
        let l = loc.clone();
        // Other tests of this binary panic on purpose on their own threads: record
        // only this thread's panic.
        let me = std::thread::current().id();
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == me
                && let Some(at) = info.location()
            {
                *l.lock().unwrap() = at.file().to_string();
            }
        }));
        let res = std::panic::catch_unwind(f);
        std::panic::set_hook(prev);
        assert!(res.is_err(), "expected a panic");
        let at = loc.lock().unwrap();
        at.clone()
    }
    let at = panic_location(|| {
        ct_all().block_on(async { task::block_in_place(|| ()) });
    });
    assert!(
        at.ends_with("runtime_api.rs"),
        "block_in_place panicked at {at}"
    );
    let at = panic_location(|| {
        let rt = ct_all();
        rt.block_on(async {
            let inner = ct_all();
            inner.block_on(async {});
        });
    });
    assert!(
        at.ends_with("runtime_api.rs"),
        "nested block_on panicked at {at}"
    );
}

/// The time driver has one wheel shard per worker (issue 18): 1 on the current-thread
/// runtime, the worker count rounded up to a power of two on the multi-thread one; and
/// timers registered on every worker (and from `block_on`, which is no worker) fire,
/// including ones that workers reset and cancel for each other.
#[test]
fn timer_wheel_is_sharded_per_worker() {
    with_deadline(Duration::from_secs(60), "sharded timers", || {
        let ct = Builder::new_current_thread().enable_time().build().unwrap();
        assert_eq!(
            ct.block_on(async { magpie_time::driver::Handle::current().shards() }),
            1
        );
        let rt = Builder::new_multi_thread()
            .worker_threads(3)
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let handle = magpie_time::driver::Handle::current();
            assert_eq!(handle.shards(), 4);
            let fired = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..64u64)
                .map(|i| {
                    let fired = fired.clone();
                    spawn(async move {
                        let mut s = Box::pin(magpie_time::sleep(Duration::from_secs(3600)));
                        // Registered on this task's worker, then moved to another task
                        // (likely on another worker), which resets it.
                        assert!(futures_poll_once(s.as_mut()).is_pending());
                        let reset = spawn(async move {
                            s.as_mut().reset(
                                magpie_time::Instant::now() + Duration::from_millis(1 + i % 20),
                            );
                            s.await;
                        });
                        magpie_time::sleep(Duration::from_millis(1 + i % 7)).await;
                        reset.await.unwrap();
                        fired.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            magpie_time::sleep(Duration::from_millis(3)).await;
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(fired.load(Ordering::SeqCst), 64);
            assert_eq!(handle.registered_timers(), 0);
        });
    });
}

/// Polls `f` once with a waker that does nothing.
fn futures_poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

/// A runtime that parked with no timer for a while (its driver skips the firing pass
/// of empty wheel shards, so their wheels are not advanced) still fires a timer
/// registered afterwards at its deadline: not early, not never.
#[test]
fn a_timer_after_an_idle_stretch_fires_on_time() {
    for workers in [1, 2] {
        let rt = Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {});
        std::thread::sleep(Duration::from_millis(60));
        let start = std::time::Instant::now();
        rt.block_on(async {
            let fut = magpie_time::sleep(Duration::from_millis(20));
            magpie_time::timeout(Duration::from_secs(5), fut)
                .await
                .expect("the timer never fired");
        });
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(20), "fired early: {took:?}");
    }
}
