//! The asyncio API through the facade, on the paused clock (deterministic timings).

use magpie::sync::mpsc::error::SendTimeoutError;
use magpie::sync::{SendTimeoutExt, mpsc};
use magpie::task::{JoinSet, TaskGroup};
use magpie::time::{Instant, sleep};
use magpie::{ReturnWhen, as_completed, gather, gather_all, select, try_gather};
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

async fn nap(s: u64) -> u64 {
    sleep(secs(s)).await;
    s
}

#[magpie::test(start_paused = true)]
async fn gather_runs_concurrently_in_one_task() {
    let start = Instant::now();
    let out = gather!(nap(2), nap(1), nap(3)).await;
    assert_eq!(out, (2, 1, 3));
    assert_eq!(start.elapsed(), secs(3), "concurrent: 3 s, not 6");

    let start = Instant::now();
    let out = gather_all([3, 1, 2].map(nap)).await;
    assert_eq!(out, vec![3, 1, 2], "input order");
    assert_eq!(start.elapsed(), secs(3));
}

#[magpie::test(start_paused = true)]
async fn try_gather_stops_at_the_first_error() {
    let start = Instant::now();
    let out: Result<(u64, u64), String> = try_gather!(async { Ok(nap(10).await) }, async {
        nap(1).await;
        Err("early".to_string())
    },)
    .await;
    assert_eq!(out, Err("early".to_string()));
    assert_eq!(start.elapsed(), secs(1), "does not wait for the 10 s sleep");
}

#[magpie::test(start_paused = true)]
async fn as_completed_yields_in_completion_order() {
    let mut s = as_completed([3, 1, 2].map(nap));
    let mut order = Vec::new();
    while let Some(v) = s.next().await {
        order.push(v);
    }
    assert_eq!(order, vec![1, 2, 3]);
}

#[magpie::test(start_paused = true)]
async fn join_set_join_next_follows_completion() {
    let mut set = JoinSet::new();
    for s in [3, 1, 2] {
        set.spawn(nap(s));
    }
    let mut order = Vec::new();
    while let Some(r) = set.join_next().await {
        order.push(r.unwrap());
    }
    assert_eq!(order, vec![1, 2, 3]);
}

#[magpie::test(start_paused = true)]
async fn task_group_cancels_siblings_at_first_failure() {
    let start = Instant::now();
    let mut group = TaskGroup::<u64, &str>::new();
    group.spawn(async { Ok(nap(10).await) });
    group.spawn(async {
        nap(1).await;
        Err("one second in")
    });
    let err = group.await.unwrap_err();
    assert_eq!(
        err.errors().copied().collect::<Vec<_>>(),
        vec!["one second in"]
    );
    assert_eq!(start.elapsed(), secs(1), "the 10 s task was cancelled");
}

#[magpie::test(start_paused = true)]
async fn wait_and_wait_timeout() {
    let handles = [5, 1, 3].map(|s| magpie::spawn(nap(s)));
    let (done, pending) = magpie::wait(handles, ReturnWhen::FirstCompleted).await;
    assert_eq!(
        done.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(pending.len(), 2);

    let start = Instant::now();
    let (done, pending) = magpie::wait_timeout(pending, ReturnWhen::AllCompleted, secs(3)).await;
    assert_eq!(
        done.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(pending.len(), 1, "the 5 s task is handed back");
    assert_eq!(start.elapsed(), secs(3));
    // It kept running.
    assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), 5);
    assert_eq!(start.elapsed(), secs(4));

    // Satisfied before the timeout: returns at once.
    let start = Instant::now();
    let h = magpie::spawn(nap(1));
    let (done, pending) = magpie::wait_timeout([h], ReturnWhen::AllCompleted, secs(60)).await;
    assert_eq!((done.len(), pending.len()), (1, 0));
    assert_eq!(start.elapsed(), secs(1));
}

#[magpie::test(start_paused = true)]
async fn select_takes_the_first_timer() {
    let start = Instant::now();
    let out = select! {
        a = nap(5) => a,
        b = nap(2) => b,
    };
    assert_eq!(out, 2);
    assert_eq!(start.elapsed(), secs(2));
}

#[magpie::test(start_paused = true)]
async fn shield_survives_a_timeout() {
    let (tx, mut rx) = mpsc::channel(1);
    let work = magpie::shield(async move {
        nap(5).await;
        tx.send("finished").await.unwrap();
    });
    assert!(magpie::time::timeout(secs(1), work).await.is_err());
    assert_eq!(rx.recv().await, Some("finished"));
}

#[magpie::test(start_paused = true)]
async fn send_timeout() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.send_timeout(1, secs(1)).await.unwrap();
    let start = Instant::now();
    match tx.send_timeout(2, secs(1)).await {
        Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(start.elapsed(), secs(1));

    // Room appears in time: the send goes through.
    let reader = magpie::spawn(async move {
        nap(1).await;
        let first = rx.recv().await;
        (first, rx)
    });
    tx.send_timeout(3, secs(5)).await.unwrap();
    let (first, mut rx) = reader.await.unwrap();
    assert_eq!(first, Some(1));
    assert_eq!(rx.recv().await, Some(3));

    drop(rx);
    match tx.send_timeout(4, secs(1)).await {
        Err(SendTimeoutError::Closed(v)) => assert_eq!(v, 4),
        other => panic!("{other:?}"),
    }
}

magpie::task_local! {
    static USER: &'static str;
}

#[magpie::test]
async fn task_local_through_the_facade() {
    let key: &'static magpie::task::LocalKey<&'static str> = &USER;
    let v = key.scope("ada", async { USER.get() }).await;
    assert_eq!(v, "ada");
}
