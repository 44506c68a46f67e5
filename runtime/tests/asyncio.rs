//! JoinSet, TaskGroup, task_local!, shield and wait on JoinHandles.

mod common;

use common::{DropCounter, PendingWithDrop, both, ct, mt};
use magpie_runtime::task::{JoinSet, ReturnWhen, TaskFailure, TaskGroup, shield, wait, yield_now};
use magpie_sync::oneshot;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// Yields until `cond` holds (a few thousand times at most).
async fn until(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "condition never held"
        );
        yield_now().await;
        std::thread::yield_now();
    }
}

#[test]
fn join_set_join_next_in_completion_order() {
    for (name, rt) in both() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut txs = Vec::new();
            for i in 0..3u32 {
                let (tx, rx) = oneshot::channel::<()>();
                txs.push(Some(tx));
                set.spawn(async move {
                    rx.await.unwrap();
                    i
                });
            }
            assert_eq!(set.len(), 3);
            for i in [2usize, 0, 1] {
                txs[i].take().unwrap().send(()).unwrap();
                assert_eq!(set.join_next().await.unwrap().unwrap(), i as u32, "{name}");
            }
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    }
}

#[test]
fn join_set_with_id_try_join_next_and_join_all() {
    ct().block_on(async {
        let mut set = JoinSet::new();
        let a = set.spawn(async { 1 });
        assert!(set.try_join_next().is_none(), "nothing ran yet");
        let (id, v) = set.join_next_with_id().await.unwrap().unwrap();
        assert_eq!((id, v), (a.id(), 1));

        set.spawn(async { 2 });
        yield_now().await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 2);

        let set: JoinSet<u32> = (0..5u32).map(|i| async move { i }).collect();
        let mut all = set.join_all().await;
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
    });
}

#[test]
fn join_set_abort_all_cancels_and_drops_every_task() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                set.spawn(PendingWithDrop(DropCounter(drops.clone())));
            }
            yield_now().await;
            set.abort_all();
            let mut cancelled = 0;
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled(), "{name}");
                cancelled += 1;
            }
            assert_eq!(cancelled, 10, "{name}");
        });
        assert_eq!(drops.load(SeqCst), 10, "{name}");
    }
}

#[test]
fn join_set_drop_aborts_its_tasks() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt.block_on(async move {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                set.spawn(PendingWithDrop(DropCounter(d.clone())));
            }
            yield_now().await;
            drop(set);
            until(|| d.load(SeqCst) == 10).await;
        });
        assert_eq!(drops.load(SeqCst), 10, "{name}");
    }
}

#[test]
fn join_set_shutdown_and_detach_all() {
    let rt = mt(2);
    rt.block_on(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..4 {
            set.spawn(PendingWithDrop(DropCounter(drops.clone())));
        }
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(drops.load(SeqCst), 4);

        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            rx.await.unwrap();
            r.fetch_add(1, SeqCst);
        });
        set.detach_all();
        drop(set); // the detached task is not aborted
        tx.send(()).unwrap();
        until(|| ran.load(SeqCst) == 1).await;
    });
}

#[test]
fn task_group_collects_in_spawn_order() {
    for (name, rt) in both() {
        rt.block_on(async {
            let mut group = TaskGroup::<usize, String>::new();
            let mut txs = Vec::new();
            for i in 0..5 {
                let (tx, rx) = oneshot::channel::<()>();
                txs.push(tx);
                group.spawn(async move {
                    rx.await.unwrap();
                    Ok(i * 10)
                });
            }
            assert_eq!(group.len(), 5);
            // Finish in reverse order.
            for tx in txs.into_iter().rev() {
                tx.send(()).unwrap();
            }
            assert_eq!(group.await.unwrap(), vec![0, 10, 20, 30, 40], "{name}");
        });
    }
}

#[test]
fn task_group_cancels_the_rest_on_first_failure() {
    for (name, rt) in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut group = TaskGroup::<(), &'static str>::new();
            for _ in 0..3 {
                let d = DropCounter(drops.clone());
                group.spawn(async move {
                    PendingWithDrop(d).await;
                    Ok(())
                });
            }
            let (tx, rx) = oneshot::channel::<()>();
            group.spawn(async move {
                rx.await.unwrap();
                Err("failed")
            });
            tx.send(()).unwrap();
            let err = group.await.unwrap_err();
            assert_eq!(err.failures().len(), 1, "{name}: {err}");
            assert!(matches!(
                err.first(),
                TaskFailure::Error {
                    index: 3,
                    error: "failed"
                }
            ));
            assert_eq!(err.errors().copied().collect::<Vec<_>>(), vec!["failed"]);
        });
        // The group waits for its cancelled tasks, so their futures are gone already.
        assert_eq!(drops.load(SeqCst), 3, "{name}");
    }
}

#[test]
fn task_group_reports_panics_and_every_failure() {
    ct().block_on(async {
        struct SetOnDrop(Arc<AtomicUsize>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let finished = Arc::new(AtomicUsize::new(0));
        let (f1, f2) = (finished.clone(), finished.clone());
        let mut group = TaskGroup::<u32, String>::new();
        group.spawn(async { Ok(1) });
        group.spawn(async move {
            let _set = SetOnDrop(f1); // counted while unwinding
            panic!("kaboom")
        });
        group.spawn(async move {
            let _set = SetOnDrop(f2);
            Err("bad".to_string())
        });
        group.spawn(std::future::pending());
        // Let both failing tasks finish before the group looks (one thread: once their
        // polls have returned, they are complete).
        until(|| finished.load(SeqCst) == 2).await;
        let err = group.await.unwrap_err();
        // Both failures happened before the group could cancel anything: both reported.
        assert_eq!(err.failures().len(), 2, "{err}");
        let panics: Vec<_> = err.panics().collect();
        assert_eq!(panics.len(), 1);
        assert!(panics[0].is_panic());
        assert!(
            err.failures()
                .iter()
                .any(|f| f.index() == 1 && f.is_panic())
        );
        assert_eq!(err.errors().collect::<Vec<_>>(), vec!["bad"]);
        assert!(err.to_string().contains("kaboom"), "{err}");
    });
}

#[test]
fn dropping_a_task_group_aborts_its_tasks() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    ct().block_on(async move {
        let mut group = TaskGroup::<(), ()>::new();
        for _ in 0..3 {
            let c = DropCounter(d.clone());
            group.spawn(async move {
                PendingWithDrop(c).await;
                Ok(())
            });
        }
        yield_now().await;
        drop(group);
        until(|| d.load(SeqCst) == 3).await;
    });
    assert_eq!(drops.load(SeqCst), 3);
}

magpie_runtime::task_local! {
    static REQUEST: u32;
    static NAME: String;
}

#[test]
fn task_local_scope_nests_and_restores() {
    ct().block_on(async {
        assert!(REQUEST.try_with(|_| ()).is_err());
        REQUEST
            .scope(1, async {
                assert_eq!(REQUEST.get(), 1);
                REQUEST
                    .scope(2, async {
                        assert_eq!(REQUEST.get(), 2);
                        yield_now().await;
                        assert_eq!(REQUEST.get(), 2);
                    })
                    .await;
                assert_eq!(REQUEST.get(), 1);
                assert_eq!(REQUEST.sync_scope(3, || REQUEST.get()), 3);
                assert_eq!(REQUEST.get(), 1);
                NAME.scope("n".to_string(), async {
                    assert_eq!(NAME.with(|n| n.len()), 1);
                    assert_eq!(REQUEST.get(), 1, "two keys are independent");
                })
                .await;
            })
            .await;
        assert!(REQUEST.try_with(|_| ()).is_err());
    });
}

#[test]
fn task_locals_are_isolated_between_tasks() {
    for (name, rt) in both() {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..8u32 {
                set.spawn(REQUEST.scope(i, async move {
                    for _ in 0..20 {
                        assert_eq!(REQUEST.get(), i);
                        yield_now().await;
                    }
                    // Spawned tasks do not inherit the value.
                    let child = magpie_runtime::spawn(async { REQUEST.try_with(|v| *v).ok() });
                    assert_eq!(child.await.unwrap(), None);
                    REQUEST.get()
                }));
            }
            let mut seen = HashSet::new();
            while let Some(r) = set.join_next().await {
                seen.insert(r.unwrap());
            }
            assert_eq!(seen.len(), 8, "{name}");
        });
    }
}

#[test]
fn task_local_future_dropped_inside_its_scope() {
    struct ReadOnDrop(Arc<AtomicUsize>);
    impl Drop for ReadOnDrop {
        fn drop(&mut self) {
            self.0
                .store(REQUEST.try_with(|v| *v as usize).unwrap_or(0), SeqCst);
        }
    }
    let seen = Arc::new(AtomicUsize::new(0));
    let r = ReadOnDrop(seen.clone());
    let fut = REQUEST.scope(42, async move {
        let _r = r;
        std::future::pending::<()>().await;
    });
    drop(fut);
    assert_eq!(seen.load(SeqCst), 42);
}

#[test]
fn shield_keeps_the_task_running_when_the_awaiter_is_dropped() {
    for (name, rt) in both() {
        rt.block_on(async {
            let done = Arc::new(AtomicUsize::new(0));
            let d = done.clone();
            let (tx, rx) = oneshot::channel::<()>();
            let s = shield(async move {
                rx.await.unwrap();
                d.fetch_add(1, SeqCst);
                7
            });
            // An awaiter that gives up (like a select! branch that lost).
            let mut awaiting = Box::pin(s);
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(awaiting.as_mut().poll(&mut cx).is_pending());
            drop(awaiting);
            tx.send(()).unwrap();
            until(|| done.load(SeqCst) == 1).await;

            let s = shield(async { 5 });
            assert_eq!(s.await.unwrap(), 5, "{name}");
        });
    }
}

#[test]
fn wait_on_join_handles_each_mode() {
    for (name, rt) in both() {
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<()>();
            let handles = vec![
                magpie_runtime::spawn(async { 1 }),
                magpie_runtime::spawn(async move {
                    rx.await.unwrap();
                    2
                }),
            ];
            let (done, pending) = wait(handles, ReturnWhen::FirstCompleted).await;
            assert_eq!(
                done.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                vec![1]
            );
            assert_eq!(pending.len(), 1, "{name}");

            // FirstException: a panic ends the wait; the pending handle comes back.
            let handles = vec![
                pending.into_iter().next().unwrap(),
                magpie_runtime::spawn(async { panic!("x") }),
            ];
            let (done, pending) = wait(handles, ReturnWhen::FirstException).await;
            assert_eq!(done.len(), 1);
            assert!(done[0].as_ref().unwrap_err().is_panic(), "{name}");
            assert_eq!(pending.len(), 1);

            tx.send(()).unwrap();
            let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
            assert_eq!(
                done.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                vec![2]
            );
            assert!(pending.is_empty());
        });
    }
}

#[test]
fn join_set_reused_after_detach_all_ignores_stale_wakes() {
    ct().block_on(async {
        let mut set = JoinSet::new();
        let mut txs = Vec::new();
        for _ in 0..4 {
            let (tx, rx) = oneshot::channel::<()>();
            txs.push(tx);
            set.spawn(async move { rx.await.is_ok() });
        }
        yield_now().await;
        assert!(set.try_join_next().is_none()); // the handles are registered
        // The tasks finish and wake their slots, but nobody joins them...
        for tx in txs {
            tx.send(()).unwrap();
        }
        yield_now().await;
        // ...before the set is emptied and reused: the queued indices are stale.
        set.detach_all();
        set.spawn(async { true });
        assert!(set.join_next().await.unwrap().unwrap());
        assert!(set.join_next().await.is_none());
    });
}
