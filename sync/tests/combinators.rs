//! gather!/try_gather!/gather_all/try_gather_all/as_completed/wait/select! under a
//! plain single-thread executor (no runtime).

mod common;

use common::{Tracked, block_on, counter, get, poll_once, size};
use magpie_sync::{
    ReturnWhen, as_completed, gather, gather_all, oneshot, select, try_gather, try_gather_all, wait,
};
use std::cell::Cell;
use std::future::{Future, pending, ready};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};

/// Counts the polls of the future it wraps.
struct Counted<F> {
    fut: Pin<Box<F>>,
    polls: Rc<Cell<usize>>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.fut.as_mut().poll(cx)
    }
}

fn counted<F: Future>(fut: F, polls: &Rc<Cell<usize>>) -> Counted<F> {
    Counted {
        fut: Box::pin(fut),
        polls: polls.clone(),
    }
}

/// A future that holds a drop-counted value and never completes.
async fn pending_tracked(t: Tracked) -> Result<u32, &'static str> {
    let _t = t;
    pending().await
}

/// `n` futures where future `i` waits for future `i + 1` (the last one is ready at
/// once): they complete one at a time, last first, each woken once.
fn reverse_chain(n: usize) -> (Vec<impl Future<Output = usize>>, oneshot::Sender<()>) {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel::<()>()).unzip();
    // Future i waits on rxs[i] and then releases future i - 1 with txs[i - 1].
    let mut txs: Vec<Option<oneshot::Sender<()>>> = txs.into_iter().map(Some).collect();
    let start = txs[n - 1].take().expect("n > 0");
    let mut release: Vec<Option<oneshot::Sender<()>>> = vec![None];
    release.extend(txs.into_iter().take(n - 1));
    let futs = rxs
        .into_iter()
        .zip(release)
        .enumerate()
        .map(|(i, (wait, rel))| async move {
            wait.await.unwrap();
            if let Some(rel) = rel {
                rel.send(()).unwrap();
            }
            i
        })
        .collect();
    (futs, start)
}

#[test]
fn gather_macro_keeps_order_and_runs_concurrently() {
    block_on(async {
        let (tx, rx) = oneshot::channel();
        // `first` can finish only if `second` runs concurrently with it in this task.
        let first = async move { rx.await.unwrap() + 1 };
        let second = async move {
            tx.send(41).unwrap();
            "second"
        };
        let third = ready(3u8);
        assert_eq!(gather!(first, second, third).await, (42, "second", 3u8));
        assert_eq!(gather!(ready(1)).await, (1,));
    });
}

#[test]
fn try_gather_macro_drops_the_rest_on_first_err() {
    let drops = counter();
    let out = block_on(async {
        try_gather!(
            pending_tracked(Tracked::new(0, &drops)),
            async { Err::<u32, _>("boom") },
            pending_tracked(Tracked::new(1, &drops)),
        )
        .await
    });
    assert_eq!(out, Err("boom"));
    assert_eq!(get(&drops), 2);
    let ok = block_on(try_gather!(async { Ok::<_, ()>(1) }, async { Ok(2) }));
    assert_eq!(ok, Ok((1, 2)));
}

#[test]
fn try_gather_macro_drops_the_rest_before_returning() {
    let drops = counter();
    let (tx, rx) = oneshot::channel::<()>();
    let d = drops.clone();
    let mut fut = pin!(try_gather!(
        pending_tracked(Tracked::new(0, &drops)),
        async move {
            rx.await.unwrap();
            Err::<u32, _>("late")
        }
    ));
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(get(&d), 0);
    tx.send(()).unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Err("late")));
    // Dropped at the moment the error came out, not when the future is dropped.
    assert_eq!(get(&d), 1);
}

#[test]
fn gather_all_keeps_input_order() {
    let (futs, start) = reverse_chain(5);
    start.send(()).unwrap();
    assert_eq!(block_on(gather_all(futs)), vec![0, 1, 2, 3, 4]);
}

#[test]
fn gather_all_of_10k_one_waking_at_a_time_is_linear_in_polls() {
    let n = size(10_000, 200);
    let polls = Rc::new(Cell::new(0));
    let (futs, start) = reverse_chain(n);
    let futs: Vec<_> = futs.into_iter().map(|f| counted(f, &polls)).collect();
    start.send(()).unwrap();
    let out = block_on(gather_all(futs));
    assert_eq!(out.len(), n);
    assert!(out.iter().enumerate().all(|(i, &v)| i == v));
    // Each child: one first poll, one poll after its wake-up. Re-polling every child on
    // every wake would be about n²/2 = 50M polls.
    assert!(
        polls.get() < 3 * n,
        "{} child polls for n = {n}",
        polls.get()
    );
    // Exactly: every child once at the start, and each but the last once more when woken.
    assert_eq!(polls.get(), 2 * n - 1);
}

#[test]
fn as_completed_and_wait_over_10k_are_linear_in_polls() {
    let n = size(10_000, 200);
    let polls = Rc::new(Cell::new(0));
    let (futs, start) = reverse_chain(n);
    start.send(()).unwrap();
    let mut stream = as_completed(futs.into_iter().map(|f| counted(f, &polls)));
    let order = block_on(async {
        let mut order = Vec::new();
        while let Some(i) = stream.next().await {
            order.push(i);
        }
        order
    });
    // Completion order: last first.
    assert_eq!(order, (0..n).rev().collect::<Vec<_>>());
    assert!(polls.get() < 3 * n, "{} child polls", polls.get());

    let polls = Rc::new(Cell::new(0));
    let (futs, start) = reverse_chain(n);
    start.send(()).unwrap();
    let futs = futs
        .into_iter()
        .map(|f| Box::pin(counted(async move { Ok::<_, ()>(f.await) }, &polls)));
    let (done, pending) = block_on(wait(futs, ReturnWhen::AllCompleted));
    assert_eq!(done.len(), n);
    assert!(pending.is_empty());
    assert!(polls.get() < 3 * n, "{} child polls", polls.get());
}

#[test]
fn try_gather_all_returns_ok_in_order_or_first_err_dropping_rest() {
    let (futs, start) = reverse_chain(4);
    start.send(()).unwrap();
    let ok = block_on(try_gather_all(
        futs.into_iter()
            .map(|f| async move { Ok::<_, ()>(f.await * 2) }),
    ));
    assert_eq!(ok, Ok(vec![0, 2, 4, 6]));

    let drops = counter();
    let (tx, rx) = oneshot::channel::<()>();
    type BoxFut = Pin<Box<dyn Future<Output = Result<u32, &'static str>>>>;
    let mut futs: Vec<BoxFut> = (0..3)
        .map(|i| Box::pin(pending_tracked(Tracked::new(i, &drops))) as BoxFut)
        .collect();
    futs.push(Box::pin(async move {
        rx.await.unwrap();
        Err("fail")
    }));
    let mut fut = pin!(try_gather_all(futs));
    assert!(poll_once(fut.as_mut()).is_pending());
    tx.send(()).unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Err("fail")));
    assert_eq!(
        get(&drops),
        3,
        "the pending children are dropped with the error"
    );
}

#[test]
fn dropping_gather_all_drops_each_child_once() {
    let drops = counter();
    let futs: Vec<_> = (0..100)
        .map(|i| pending_tracked(Tracked::new(i, &drops)))
        .collect();
    let mut fut = Box::pin(gather_all(futs));
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(get(&drops), 0);
    drop(fut);
    assert_eq!(get(&drops), 100);
}

#[test]
fn as_completed_yields_in_completion_order() {
    let (tx0, rx0) = oneshot::channel();
    let (tx1, rx1) = oneshot::channel();
    let (tx2, rx2) = oneshot::channel();
    let mut s = as_completed([rx0, rx1, rx2]);
    assert_eq!(s.len(), 3);
    let mut next = Box::pin(s.next());
    assert!(poll_once(next.as_mut()).is_pending());
    drop(next);
    tx2.send(2).unwrap();
    tx0.send(0).unwrap();
    tx1.send(1).unwrap();
    // All three are ready now; the ready queue yields them in wake order.
    let order: Vec<_> = block_on(async {
        let mut v = Vec::new();
        while let Some(x) = s.next().await {
            v.push(x.unwrap());
        }
        v
    });
    assert_eq!(order, vec![2, 0, 1]);
}

#[test]
fn as_completed_is_a_stream() {
    use futures_core::Stream;
    let mut s = as_completed([ready(1), ready(2)]);
    assert_eq!(s.size_hint(), (2, Some(2)));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert_eq!(Pin::new(&mut s).poll_next(&mut cx), Poll::Ready(Some(1)));
    assert_eq!(Pin::new(&mut s).poll_next(&mut cx), Poll::Ready(Some(2)));
    assert_eq!(Pin::new(&mut s).poll_next(&mut cx), Poll::Ready(None));
}

#[test]
fn wait_first_completed() {
    let (tx0, rx0) = oneshot::channel::<u32>();
    let (_tx1, rx1) = oneshot::channel::<u32>();
    let (_tx2, rx2) = oneshot::channel::<u32>();
    let mut w = pin!(wait([rx0, rx1, rx2], ReturnWhen::FirstCompleted));
    assert!(poll_once(w.as_mut()).is_pending());
    tx0.send(5).unwrap();
    let Poll::Ready((done, pending)) = poll_once(w.as_mut()) else {
        panic!("not ready")
    };
    assert_eq!(done, vec![Ok(5)]);
    assert_eq!(pending.len(), 2);
}

#[test]
fn wait_first_exception() {
    let (tx0, rx0) = oneshot::channel::<u32>();
    let (tx1, rx1) = oneshot::channel::<u32>();
    let (_tx2, rx2) = oneshot::channel::<u32>();
    tx0.send(1).unwrap();
    let mut w = pin!(wait([rx0, rx1, rx2], ReturnWhen::FirstException));
    // A success does not end a FirstException wait.
    assert!(poll_once(w.as_mut()).is_pending());
    drop(tx1); // the receiver fails with RecvError
    let Poll::Ready((done, pending)) = poll_once(w.as_mut()) else {
        panic!("not ready")
    };
    assert_eq!(done.len(), 2);
    assert_eq!(done[0], Ok(1));
    assert!(done[1].is_err());
    assert_eq!(pending.len(), 1);

    // Without failures it waits for all.
    let (tx, rx) = oneshot::channel::<u32>();
    tx.send(3).unwrap();
    let (done, pending) = block_on(wait([rx], ReturnWhen::FirstException));
    assert_eq!((done, pending.len()), (vec![Ok(3)], 0));
}

#[test]
fn wait_all_completed_and_into_parts() {
    let (tx0, rx0) = oneshot::channel::<u32>();
    let (tx1, rx1) = oneshot::channel::<u32>();
    let mut w = Box::pin(wait([rx0, rx1], ReturnWhen::AllCompleted));
    tx1.send(1).unwrap();
    assert!(poll_once(w.as_mut()).is_pending());
    // Stop early: what finished, and the pending receiver back.
    let (done, mut pending) = Pin::into_inner(w).into_parts();
    assert_eq!(done, vec![Ok(1)]);
    assert_eq!(pending.len(), 1);
    tx0.send(0).unwrap();
    assert_eq!(block_on(pending.pop().unwrap()), Ok(0));

    let (done, pending) = block_on(wait(
        Vec::<oneshot::Receiver<u8>>::new(),
        ReturnWhen::default(),
    ));
    assert!(done.is_empty() && pending.is_empty());
}

#[test]
fn select_picks_the_ready_branch_and_drops_the_others() {
    let drops = counter();
    let out = block_on(async {
        select! {
            _ = pending_tracked(Tracked::new(0, &drops)) => 0,
            v = ready(7) => v,
            _ = pending_tracked(Tracked::new(1, &drops)) => 1,
        }
    });
    assert_eq!(out, 7);
    assert_eq!(get(&drops), 2);
}

#[test]
fn select_biased_polls_in_order_and_unbiased_is_fair() {
    for _ in 0..50 {
        let out = block_on(async {
            select! {
                biased;
                a = ready(1) => a,
                b = ready(2) => b,
            }
        });
        assert_eq!(out, 1);
    }
    let mut seen = [0usize; 3];
    for _ in 0..size(300, 60) {
        let out = block_on(async {
            select! {
                a = ready(0usize) => a,
                b = ready(1usize) => b,
                c = ready(2usize) => c,
            }
        });
        seen[out] += 1;
    }
    assert!(
        seen.iter().all(|&n| n > size(30, 3)),
        "unfair branch choice: {seen:?}"
    );
}

#[test]
fn select_disables_non_matching_branches_and_falls_to_else() {
    let out = block_on(async {
        select! {
            Some(v) = ready(None::<u32>) => v,
            Ok(mut v) = ready(Ok::<u32, ()>(4)) => { v += 1; v }
        }
    });
    assert_eq!(out, 5);

    let out = block_on(async {
        select! {
            Some(v) = ready(None::<u32>) => v,
            v = ready(9), if false => v,
            else => 100,
        }
    });
    assert_eq!(out, 100);
}

#[test]
fn select_handlers_can_break_and_await() {
    let (tx, mut rx) = magpie_sync::mpsc::unbounded_channel::<u32>();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let sum = block_on(async {
        let mut sum = 0;
        loop {
            select! {
                Some(v) = rx.recv() => {
                    sum += ready(v).await;
                }
                else => break,
            }
        }
        sum
    });
    assert_eq!(sum, 10);
}
