//! Local (`!Send`) tasks: `LocalSet`, `spawn_local`, the local runtime.
//!
//! Every test that could hang runs under `with_deadline`.

mod common;

use common::*;
use magpie_runtime::runtime::{Builder, Runtime, UnhandledPanic};
use magpie_runtime::task::{self, LocalSet};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// Both flavours with every driver.
fn flavours() -> Vec<(&'static str, Runtime)> {
    vec![("current_thread", ct_all()), ("multi_thread", mt_all(2))]
}

/// A `!Send` drop counter that also records the thread it was dropped on.
struct LocalDrop {
    _not_send: Rc<()>,
    count: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<ThreadId>>>,
}

impl LocalDrop {
    fn new(count: &Arc<AtomicUsize>, threads: &Arc<Mutex<Vec<ThreadId>>>) -> LocalDrop {
        LocalDrop {
            _not_send: Rc::new(()),
            count: count.clone(),
            threads: threads.clone(),
        }
    }
}

impl Drop for LocalDrop {
    fn drop(&mut self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.threads.lock().unwrap().push(thread::current().id());
    }
}

/// Pending until woken from the outside; sends each new waker to `out` (so another
/// thread can fire it) and counts its polls.
struct WakeFromOutside {
    out: std::sync::mpsc::Sender<Waker>,
    ready: Arc<std::sync::atomic::AtomicBool>,
}

impl Future for WakeFromOutside {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.ready.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let _ = self.out.send(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn rc_held_across_awaits_never_leaves_its_thread() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let local = LocalSet::new();
            let me = thread::current().id();
            let seen = local.block_on(&rt, async move {
                let seen = Rc::new(RefCell::new(Vec::new()));
                let mut handles = Vec::new();
                for i in 0..8u64 {
                    let seen = seen.clone();
                    handles.push(task::spawn_local(async move {
                        for _ in 0..10 {
                            seen.borrow_mut().push(thread::current().id());
                            // Woken by the timer driver (a worker thread on the
                            // multi-thread runtime) and by a plain thread.
                            magpie_time::sleep(Duration::from_micros(100 * i)).await;
                            let (tx, rx) = magpie_sync::oneshot::channel();
                            thread::spawn(move || tx.send(()).unwrap());
                            rx.await.unwrap();
                            task::yield_now().await;
                        }
                        Rc::strong_count(&seen)
                    }));
                }
                for h in handles {
                    assert!(h.await.unwrap() >= 1);
                }
                Rc::try_unwrap(seen).unwrap().into_inner()
            });
            assert_eq!(seen.len(), 80, "{name}");
            assert!(
                seen.iter().all(|t| *t == me),
                "{name}: a local task left its thread"
            );
        });
    }
}

#[test]
fn wakers_fired_from_foreign_threads_reach_the_set() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let local = LocalSet::new();
            let (tx, rx) = std::sync::mpsc::channel::<Waker>();
            let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
            // A thread that fires every waker it gets, several times, from itself.
            let r = ready.clone();
            let firer = thread::spawn(move || {
                let mut n = 0;
                while let Ok(w) = rx.recv() {
                    n += 1;
                    if n == 50 {
                        r.store(true, Ordering::SeqCst);
                    }
                    w.wake_by_ref();
                    w.wake();
                }
                n
            });
            local.block_on(&rt, async move {
                task::spawn_local(WakeFromOutside { out: tx, ready })
                    .await
                    .unwrap();
            });
            assert!(firer.join().unwrap() >= 50, "{name}");
        });
    }
}

#[test]
fn spawn_local_outside_a_set_panics_with_advice_at_the_caller() {
    let me = thread::current().id();
    let at = Arc::new(Mutex::new(String::new()));
    let a = at.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if thread::current().id() == me
            && let Some(l) = info.location()
        {
            *a.lock().unwrap() = l.file().to_string();
        }
    }));
    let res = std::panic::catch_unwind(|| {
        drop(task::spawn_local(async {}));
    });
    std::panic::set_hook(prev);
    let payload = res.unwrap_err();
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or(payload.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(msg.contains("LocalSet::run_until"), "{msg}");
    assert!(msg.contains("local runtime"), "{msg}");
    assert!(
        at.lock().unwrap().ends_with("local.rs"),
        "panicked at {}",
        at.lock().unwrap()
    );
    // Also inside a runtime's task, outside a set.
    let rt = ct_all();
    let res = rt.block_on(async {
        magpie_runtime::spawn(async {
            drop(task::spawn_local(async {}));
        })
        .await
    });
    assert!(res.unwrap_err().is_panic());
}

#[test]
fn dropping_the_set_drops_every_future_once_on_its_thread() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let count = Arc::new(AtomicUsize::new(0));
            let threads = Arc::new(Mutex::new(Vec::new()));
            let (wtx, wrx) = std::sync::mpsc::channel::<Waker>();
            let local = LocalSet::new();
            let me = thread::current().id();
            local.block_on(&rt, async {
                for i in 0..20 {
                    let guard = LocalDrop::new(&count, &threads);
                    let wtx = wtx.clone();
                    // Idle tasks (waiting on a foreign waker), tasks that keep
                    // rescheduling themselves, and tasks never polled.
                    task::spawn_local(async move {
                        let _g = guard;
                        if i % 2 == 0 {
                            std::future::poll_fn(|cx| {
                                let _ = wtx.send(cx.waker().clone());
                                Poll::<()>::Pending
                            })
                            .await;
                        } else {
                            loop {
                                task::yield_now().await;
                            }
                        }
                    });
                }
                task::yield_now().await;
                task::yield_now().await;
            });
            for _ in 0..5 {
                local.spawn_local(PendingLocal(LocalDrop::new(&count, &threads)));
            }
            // Wake some of the idle tasks (queued in the remote queue, never run).
            let wakers: Vec<Waker> = wrx.try_iter().collect();
            assert!(!wakers.is_empty(), "{name}");
            for w in wakers.iter().take(3) {
                w.wake_by_ref();
            }
            drop(local);
            assert_eq!(count.load(Ordering::SeqCst), 25, "{name}");
            assert!(threads.lock().unwrap().iter().all(|t| *t == me), "{name}");
            // Wakes after the set is gone, from other threads, touch no freed memory
            // and drop nothing twice.
            let n = wakers.len();
            let fired = thread::spawn(move || {
                for w in wakers {
                    w.wake_by_ref();
                    w.wake();
                }
            });
            fired.join().unwrap();
            assert_eq!(n, 10);
            assert_eq!(count.load(Ordering::SeqCst), 25, "{name}");
            drop(rt);
        });
    }
}

/// A `!Send` future that never completes, holding a drop counter.
struct PendingLocal(#[allow(dead_code)] LocalDrop);

impl Future for PendingLocal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

#[test]
fn foreign_wakes_racing_the_set_drop_are_safe() {
    with_deadline(LIMIT, "race", || {
        let rt = ct_all();
        for _ in 0..200 {
            let count = Arc::new(AtomicUsize::new(0));
            let threads = Arc::new(Mutex::new(Vec::new()));
            let local = LocalSet::new();
            let (wtx, wrx) = std::sync::mpsc::channel::<Waker>();
            let guard = LocalDrop::new(&count, &threads);
            local.block_on(&rt, async {
                task::spawn_local(async move {
                    let _g = guard;
                    std::future::poll_fn(|cx| {
                        let _ = wtx.send(cx.waker().clone());
                        Poll::<()>::Pending
                    })
                    .await;
                });
                task::yield_now().await;
            });
            let w = wrx.recv().unwrap();
            let waker_thread = thread::spawn(move || {
                for _ in 0..100 {
                    w.wake_by_ref();
                }
            });
            drop(local);
            waker_thread.join().unwrap();
            assert_eq!(count.load(Ordering::SeqCst), 1);
        }
    });
}

#[test]
fn local_runtime_shutdown_drops_every_future_once() {
    with_deadline(LIMIT, "local runtime", || {
        let count = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let rt = Builder::new_current_thread()
            .enable_all()
            .build_local()
            .unwrap();
        for _ in 0..10 {
            rt.spawn_local(PendingLocal(LocalDrop::new(&count, &threads)));
        }
        let c = count.clone();
        let t = threads.clone();
        rt.block_on(async move {
            for _ in 0..10 {
                let g = LocalDrop::new(&c, &t);
                task::spawn_local(async move {
                    let _g = g;
                    magpie_time::sleep(Duration::from_secs(3600)).await;
                });
            }
            // A Send task of the runtime spawning a local task.
            let (c2, t2) = (c.clone(), t.clone());
            let h = magpie_runtime::spawn(async move {
                // LocalDrop is !Send: made inside the Send task, moved into the local one.
                let g = LocalDrop::new(&c2, &t2);
                task::spawn_local(async move {
                    let _g = g;
                    std::future::pending::<()>().await;
                });
            });
            h.await.unwrap();
            task::yield_now().await;
        });
        assert_eq!(count.load(Ordering::SeqCst), 0);
        drop(rt);
        assert_eq!(count.load(Ordering::SeqCst), 21);
        let me = thread::current().id();
        assert!(threads.lock().unwrap().iter().all(|t| *t == me));
    });
}

#[test]
fn panics_in_local_tasks_are_caught() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let local = LocalSet::new();
            let err = local.block_on(&rt, async {
                let h = task::spawn_local(async {
                    let _rc = Rc::new(());
                    panic!("local boom");
                });
                let other = task::spawn_local(async { 5 });
                let err = h.await.unwrap_err();
                assert_eq!(other.await.unwrap(), 5);
                err
            });
            assert!(err.is_panic(), "{name}");
            let payload = err.into_panic();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"local boom"));
        });
    }
}

#[test]
fn shutdown_on_panic_fails_run_until_and_cancels_the_rest() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let count = Arc::new(AtomicUsize::new(0));
            let threads = Arc::new(Mutex::new(Vec::new()));
            let mut local = LocalSet::new();
            local.unhandled_panic(UnhandledPanic::ShutdownRuntime);
            let (c, t) = (count.clone(), threads.clone());
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                local.block_on(&rt, async move {
                    task::spawn_local(PendingLocal(LocalDrop::new(&c, &t)));
                    task::yield_now().await;
                    // Its handle is kept: ShutdownRuntime applies anyway.
                    let _h = task::spawn_local(async { panic!("fatal") });
                    std::future::pending::<()>().await;
                })
            }));
            let msg = res.unwrap_err();
            let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
            assert!(msg.contains("ShutdownRuntime"), "{name}: {msg}");
            assert_eq!(count.load(Ordering::SeqCst), 1, "{name}: not cancelled");
            // Later runs fail too.
            let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                local.block_on(&rt, async {})
            }));
            assert!(again.is_err(), "{name}");
        });
    }
}

#[test]
fn local_runtime_applies_the_builders_panic_policy() {
    with_deadline(LIMIT, "local runtime", || {
        let rt = Builder::new_current_thread()
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .build_local()
            .unwrap();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                task::spawn_local(async { panic!("fatal") });
                std::future::pending::<()>().await;
            })
        }));
        assert!(res.is_err());
    });
}

#[test]
fn the_set_awaited_runs_until_every_task_is_done() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let local = LocalSet::new();
            let log = Rc::new(RefCell::new(Vec::new()));
            for i in 0..5 {
                let log = log.clone();
                local.spawn_local(async move {
                    magpie_time::sleep(Duration::from_millis(i)).await;
                    log.borrow_mut().push(i);
                    let log = log.clone();
                    // A task spawned from a task is waited for too.
                    task::spawn_local(async move { log.borrow_mut().push(100 + i) });
                });
            }
            rt.block_on(local);
            let mut got = log.borrow().clone();
            got.sort();
            assert_eq!(got, [0, 1, 2, 3, 4, 100, 101, 102, 103, 104], "{name}");
        });
    }
}

#[test]
fn enter_then_spawn_local_runs_on_the_next_drive() {
    let rt = ct_all();
    let local = LocalSet::new();
    let h = {
        let _g = local.enter();
        task::spawn_local(async { Rc::new(3) })
    };
    assert_eq!(*local.block_on(&rt, h).unwrap(), 3);
}

#[test]
fn abort_from_another_thread_cancels_on_the_sets_thread() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let count = Arc::new(AtomicUsize::new(0));
            let threads = Arc::new(Mutex::new(Vec::new()));
            let local = LocalSet::new();
            let me = thread::current().id();
            let (c, t) = (count.clone(), threads.clone());
            let err = local.block_on(&rt, async move {
                let h = task::spawn_local(PendingLocal(LocalDrop::new(&c, &t)));
                task::yield_now().await;
                let abort = h.abort_handle();
                thread::spawn(move || abort.abort()).join().unwrap();
                h.await.unwrap_err()
            });
            assert!(err.is_cancelled(), "{name}");
            assert_eq!(count.load(Ordering::SeqCst), 1);
            assert_eq!(threads.lock().unwrap()[0], me, "{name}");
        });
    }
}

#[test]
fn a_local_tasks_handle_is_awaited_from_a_send_task() {
    let rt = mt_all(2);
    with_deadline(LIMIT, "join", move || {
        let local = LocalSet::new();
        let v = local.block_on(&rt, async {
            let h = task::spawn_local(async {
                let rc = Rc::new(20);
                magpie_time::sleep(Duration::from_millis(5)).await;
                *rc + 1
            });
            // The output is Send, so its handle may go to a worker.
            magpie_runtime::spawn(async move { h.await.unwrap() * 2 })
                .await
                .unwrap()
        });
        assert_eq!(v, 42);
    });
}

#[test]
fn a_yielding_local_task_does_not_starve_timers() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let local = LocalSet::new();
            local.block_on(&rt, async {
                let stop = Rc::new(Cell::new(false));
                let s = stop.clone();
                task::spawn_local(async move {
                    while !s.get() {
                        task::yield_now().await;
                    }
                });
                magpie_time::sleep(Duration::from_millis(10)).await;
                stop.set(true);
            });
        });
    }
}

#[test]
fn build_local_refuses_a_multi_thread_builder() {
    let err = Builder::new_multi_thread().build_local().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("new_current_thread"), "{err}");
}

#[test]
fn nested_sets_each_keep_their_tasks() {
    let rt = ct_all();
    let outer = LocalSet::new();
    let out = outer.block_on(&rt, async {
        let inner = LocalSet::new();
        let a = inner
            .run_until(async {
                let h = task::spawn_local(async { 1 });
                h.await.unwrap()
            })
            .await;
        // Back in the outer set.
        let b = task::spawn_local(async { 2 }).await.unwrap();
        a + b
    });
    assert_eq!(out, 3);
}

#[test]
fn join_set_spawn_local_and_spawn_local_on() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let count = Arc::new(AtomicUsize::new(0));
            let threads = Arc::new(Mutex::new(Vec::new()));
            let local = LocalSet::new();
            let (c, t) = (count.clone(), threads.clone());
            let sum = local.block_on(&rt, async {
                let mut set = task::JoinSet::new();
                let base = Rc::new(100);
                for i in 0..4 {
                    let base = base.clone();
                    set.spawn_local(async move {
                        magpie_time::sleep(Duration::from_millis(i)).await;
                        *base + i
                    });
                }
                set.spawn_local_on(async { 1000 }, &local);
                let mut sum = 0;
                while let Some(r) = set.join_next().await {
                    sum += r.unwrap();
                }
                // Dropping a JoinSet aborts its local tasks, on this thread.
                let mut doomed = task::JoinSet::new();
                let g = LocalDrop::new(&c, &t);
                doomed.spawn_local(async move {
                    let _g = g;
                    std::future::pending::<u64>().await
                });
                task::yield_now().await;
                drop(doomed);
                task::yield_now().await;
                sum
            });
            assert_eq!(sum, 1406, "{name}");
            assert_eq!(count.load(Ordering::SeqCst), 1, "{name}");
            assert_eq!(threads.lock().unwrap()[0], thread::current().id());
        });
    }
}

#[test]
fn on_a_local_runtime_send_tasks_spawn_local_tasks_that_run() {
    with_deadline(LIMIT, "local runtime", || {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build_local()
            .unwrap();
        let me = thread::current().id();
        let (v, t) = rt.block_on(async {
            // A Send task of the runtime; the local task it spawns runs on this thread
            // (the set is woken by the spawn: it is not being polled at that moment).
            magpie_runtime::spawn(async {
                task::spawn_local(async {
                    let rc = Rc::new(6);
                    task::yield_now().await;
                    (*rc * 7, thread::current().id())
                })
                .await
                .unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(v, 42);
        assert_eq!(t, me);
        // Local tasks spawned before `block_on` run in it.
        let h = rt.spawn_local(async { Rc::new(1) });
        assert_eq!(*rt.block_on(h).unwrap(), 1);
    });
}

#[test]
fn task_hooks_see_local_tasks() {
    let spawned = Arc::new(AtomicUsize::new(0));
    let s = spawned.clone();
    let rt = Builder::new_current_thread()
        .on_task_spawn(move |_| {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .build_local()
        .unwrap();
    rt.block_on(async {
        task::spawn_local(async {}).await.unwrap();
        task::spawn_local(async {}).await.unwrap();
    });
    assert_eq!(spawned.load(Ordering::SeqCst), 2);
}

/// Driving a set from inside one of its own tasks is refused with a panic that says
/// what to do (caught as that task's `JoinError`), instead of replacing the outer
/// poller's waker and stranding it.
#[test]
fn driving_a_set_from_its_own_task_panics_with_advice() {
    for (name, rt) in flavours() {
        with_deadline(LIMIT, name, move || {
            let local = Rc::new(LocalSet::new());
            let inner = local.clone();
            let err = local.block_on(&rt, async move {
                task::spawn_local(async move { inner.run_until(task::yield_now()).await })
                    .await
                    .unwrap_err()
            });
            assert!(err.is_panic(), "{name}");
            let msg = err.into_panic();
            let msg = msg
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| msg.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            assert!(msg.contains("spawn_local"), "{name}: {msg}");
        });
    }
}
