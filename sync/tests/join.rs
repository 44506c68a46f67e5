//! `join!`, `try_join!` (and `gather!`/`try_gather!`, the same implementation) and
//! `pin!`: outputs in order, fair and biased polling order, first error wins with the
//! other futures dropped, 64 branches. Under a plain single-thread executor.

mod common;

use common::{Tracked, block_on, counter, get, poll_once};
use magpie_sync::{join, oneshot, pin, try_join};
use std::cell::{Cell, RefCell};
use std::future::{IntoFuture, pending, poll_fn, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

type Log = Rc<RefCell<Vec<usize>>>;

/// Records `id` in `log` on every poll; pending (waking itself) `pending` times, then
/// ready with `id`.
async fn step(log: &Log, id: usize, pending: usize) -> usize {
    let mut left = pending;
    poll_fn(|cx| {
        log.borrow_mut().push(id);
        if left == 0 {
            return Poll::Ready(id);
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Like `step`, then fails with `err`.
async fn fail_after(
    log: &Log,
    id: usize,
    pending: usize,
    err: &'static str,
) -> Result<u8, &'static str> {
    step(log, id, pending).await;
    Err(err)
}

#[test]
fn join_gives_outputs_in_written_order() {
    block_on(async {
        // Each branch waits for the one after it: they finish last first.
        let (tx1, rx1) = oneshot::channel::<()>();
        let (tx2, rx2) = oneshot::channel::<()>();
        let (a, b, c) = join!(
            async move {
                rx1.await.unwrap();
                "first"
            },
            async move {
                rx2.await.unwrap();
                tx1.send(()).unwrap();
                2u64
            },
            async move {
                tx2.send(()).unwrap();
                '3'
            },
        );
        assert_eq!((a, b, c), ("first", 2, '3'));
        let () = join!();
        assert_eq!(join!(ready(1)), (1,));
    });
}

#[test]
fn join_rotates_the_first_branch_polled() {
    let log: Log = Rc::default();
    let out = block_on(async { join!(step(&log, 0, 3), step(&log, 1, 3), step(&log, 2, 3)) });
    assert_eq!(out, (0, 1, 2));
    // Poll k starts at branch k mod 3; everything is ready on the fourth poll.
    assert_eq!(*log.borrow(), [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]);
}

#[test]
fn join_biased_polls_in_written_order() {
    let log: Log = Rc::default();
    let out =
        block_on(async { join!(biased; step(&log, 0, 3), step(&log, 1, 3), step(&log, 2, 3)) });
    assert_eq!(out, (0, 1, 2));
    assert_eq!(*log.borrow(), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

#[test]
fn finished_branches_are_not_polled_again() {
    let log: Log = Rc::default();
    let out = block_on(async { join!(step(&log, 0, 0), step(&log, 1, 4), step(&log, 2, 1)) });
    assert_eq!(out, (0, 1, 2));
    let polls = |id| log.borrow().iter().filter(|&&x| x == id).count();
    assert_eq!((polls(0), polls(1), polls(2)), (1, 5, 2));
}

#[test]
fn try_join_first_error_wins_and_every_other_future_is_dropped() {
    let drops = counter();
    let log: Log = Rc::default();
    let out = block_on(async {
        let holding = |id, t: Tracked| {
            let log = log.clone();
            async move {
                let _t = t;
                step(&log, id, 100).await;
                Ok(1u8)
            }
        };
        let out = try_join!(
            holding(0, Tracked::new(0, &drops)),
            fail_after(&log, 1, 2, "fast"),
            async {
                let _t = Tracked::new(2, &drops);
                pending::<()>().await;
                Ok(2u8)
            },
            fail_after(&log, 3, 4, "slow"),
            // Finished with `Ok`: its output is dropped too.
            async { Ok(Tracked::new(4, &drops).id as u8) },
        );
        // The other futures are gone before the error reaches the caller.
        assert_eq!(get(&drops), 3);
        out
    });
    assert_eq!(out, Err("fast"));
    assert_eq!(get(&drops), 3);
    // The third poll (start branch 2: order 2, 3, 4, 0, 1) ended at branch 1's error:
    // the slow failure was polled three times, and never again.
    assert_eq!(log.borrow().iter().filter(|&&x| x == 3).count(), 3);
}

#[test]
fn try_join_error_order_follows_the_polling_order() {
    // Both fail on their second poll. Unbiased, the second poll starts at branch 1.
    let log: Log = Rc::default();
    let out = block_on(async {
        try_join!(
            fail_after(&log, 0, 1, "zero"),
            fail_after(&log, 1, 1, "one")
        )
    });
    assert_eq!(out, Err("one"));
    // Biased, branch 0 always comes first.
    let out = block_on(async {
        try_join!(biased; fail_after(&log, 0, 1, "zero"), fail_after(&log, 1, 1, "one"))
    });
    assert_eq!(out, Err("zero"));
}

#[test]
fn try_join_all_ok() {
    block_on(async {
        let log: Log = Rc::default();
        let out = try_join!(
            async { Ok::<_, ()>(step(&log, 0, 2).await) },
            async { Ok("b") },
            ready(Ok(3u8)),
        );
        assert_eq!(out, Ok((0, "b", 3)));
        let empty: Result<(), ()> = try_join!();
        assert_eq!(empty, Ok(()));
        assert_eq!(try_join!(biased; ready(Ok::<_, ()>(1))), Ok((1,)));
    });
}

#[test]
fn join_takes_into_future_and_borrowed_futures() {
    struct Later(u32);
    impl IntoFuture for Later {
        type Output = u32;
        type IntoFuture = std::future::Ready<u32>;
        fn into_future(self) -> Self::IntoFuture {
            ready(self.0 * 2)
        }
    }
    block_on(async {
        let (tx, rx) = oneshot::channel::<u32>();
        pin!(rx);
        let (a, ()) = join!(Later(21), async move { tx.send(1).unwrap() });
        assert_eq!(a, 42);
        // A pinned future joined by reference is still usable afterwards.
        let (v,) = join!(&mut rx);
        assert_eq!(v, Ok(1));
        assert!(rx.is_terminated());
    });
}

#[test]
fn join_of_64_branches() {
    let log: Log = Rc::default();
    let out = block_on(async {
        join!(
            step(&log, 0, 0),
            step(&log, 1, 1),
            step(&log, 2, 2),
            step(&log, 3, 3),
            step(&log, 4, 4),
            step(&log, 5, 0),
            step(&log, 6, 1),
            step(&log, 7, 2),
            step(&log, 8, 3),
            step(&log, 9, 4),
            step(&log, 10, 0),
            step(&log, 11, 1),
            step(&log, 12, 2),
            step(&log, 13, 3),
            step(&log, 14, 4),
            step(&log, 15, 0),
            step(&log, 16, 1),
            step(&log, 17, 2),
            step(&log, 18, 3),
            step(&log, 19, 4),
            step(&log, 20, 0),
            step(&log, 21, 1),
            step(&log, 22, 2),
            step(&log, 23, 3),
            step(&log, 24, 4),
            step(&log, 25, 0),
            step(&log, 26, 1),
            step(&log, 27, 2),
            step(&log, 28, 3),
            step(&log, 29, 4),
            step(&log, 30, 0),
            step(&log, 31, 1),
            step(&log, 32, 2),
            step(&log, 33, 3),
            step(&log, 34, 4),
            step(&log, 35, 0),
            step(&log, 36, 1),
            step(&log, 37, 2),
            step(&log, 38, 3),
            step(&log, 39, 4),
            step(&log, 40, 0),
            step(&log, 41, 1),
            step(&log, 42, 2),
            step(&log, 43, 3),
            step(&log, 44, 4),
            step(&log, 45, 0),
            step(&log, 46, 1),
            step(&log, 47, 2),
            step(&log, 48, 3),
            step(&log, 49, 4),
            step(&log, 50, 0),
            step(&log, 51, 1),
            step(&log, 52, 2),
            step(&log, 53, 3),
            step(&log, 54, 4),
            step(&log, 55, 0),
            step(&log, 56, 1),
            step(&log, 57, 2),
            step(&log, 58, 3),
            step(&log, 59, 4),
            step(&log, 60, 0),
            step(&log, 61, 1),
            step(&log, 62, 2),
            step(&log, 63, 3)
        )
    });
    let (first, .., last) = out;
    assert_eq!((first, last), (0, 63));
    // Every branch ran, and branch i was polled (i % 5) + 1 times.
    for i in 0..64 {
        assert_eq!(
            log.borrow().iter().filter(|&&x| x == i).count(),
            i % 5 + 1,
            "branch {i}"
        );
    }
}

#[test]
fn pin_shadows_variables_with_pinned_references() {
    let polls = Rc::new(Cell::new(0));
    let fut = {
        let polls = polls.clone();
        poll_fn(move |_| {
            polls.set(polls.get() + 1);
            if polls.get() < 3 {
                Poll::Pending
            } else {
                Poll::Ready("done")
            }
        })
    };
    let other = async { 7 };
    pin!(fut, other);
    let _: &Pin<&mut _> = &fut;
    assert!(poll_once(fut.as_mut()).is_pending());
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready("done"));
    assert_eq!(poll_once(other.as_mut()), Poll::Ready(7));

    pin! {
        let a = async { 1 };
        let b = ready(2);
    }
    assert_eq!(poll_once(a.as_mut()), Poll::Ready(1));
    assert_eq!(poll_once(b), Poll::Ready(2));
}
