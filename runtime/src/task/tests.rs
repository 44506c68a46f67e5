//! White-box tests of the task system over the real task code (the minimal scheduler of
//! `crate::__loom`), sized to run under miri (Tree Borrows), where they check that no
//! reference to a task cell outlives it: wakes from foreign threads racing completion,
//! `yield_now` re-queues, aborts, shutdown and `JoinHandle` drops. Every test counts
//! drops of futures and outputs and checks that every cell was freed.

use crate::__loom::Sched;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// How many rounds a racy test runs (miri is ~1000x slower).
const ROUNDS: usize = if cfg!(miri) { 8 } else { 500 };

#[derive(Default)]
struct Counts {
    futures: AtomicUsize,
    outputs: AtomicUsize,
}

struct Output(Arc<Counts>);
impl Drop for Output {
    fn drop(&mut self) {
        self.0.outputs.fetch_add(1, SeqCst);
    }
}

/// Pending on its first `pending` polls, parking its waker in `slot` each time; then
/// ready with an `Output`.
struct Parked {
    pending: usize,
    slot: Arc<Mutex<Option<Waker>>>,
    counts: Arc<Counts>,
}

impl Future for Parked {
    type Output = Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        if self.pending == 0 {
            return Poll::Ready(Output(self.counts.clone()));
        }
        self.pending -= 1;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        self.counts.futures.fetch_add(1, SeqCst);
    }
}

fn parked(pending: usize, counts: &Arc<Counts>) -> (Parked, Arc<Mutex<Option<Waker>>>) {
    let slot = Arc::new(Mutex::new(None));
    let fut = Parked {
        pending,
        slot: slot.clone(),
        counts: counts.clone(),
    };
    (fut, slot)
}

/// A fresh scheduler with one `Parked(1)` task run to its first `Pending`: the
/// scheduler, the counts, the task's `JoinHandle` and the waker it parked.
fn parked_task() -> (
    Arc<Sched>,
    Arc<Counts>,
    crate::task::JoinHandle<Output>,
    Waker,
) {
    let sched = Arc::new(Sched::new());
    let counts = Arc::new(Counts::default());
    let (fut, slot) = parked(1, &counts);
    let join = sched.spawn(fut);
    sched.run_all();
    let waker = slot.lock().unwrap().take().unwrap();
    (sched, counts, join, waker)
}

/// Runs the queue until every task has completed (others may still be waking them).
fn run_until_done(sched: &Sched) {
    while sched.num_alive() > 0 {
        sched.run_all();
        std::thread::yield_now();
    }
}

fn assert_clean(sched: &Sched, counts: &Counts, tasks: usize, outputs: usize) {
    assert_eq!(
        counts.futures.load(SeqCst),
        tasks,
        "each future dropped once"
    );
    assert_eq!(
        counts.outputs.load(SeqCst),
        outputs,
        "each output dropped once"
    );
    assert_eq!(sched.num_alive(), 0, "owned list empty");
    assert_eq!(sched.num_cells(), 0, "every cell freed");
}

/// A detached task woken by value from another thread while this thread runs the
/// queue: the wake's `schedule` call may still be running when the task completes and
/// its cell is freed.
#[test]
fn foreign_wake_by_val_races_completion_of_a_detached_task() {
    for _ in 0..ROUNDS {
        let (sched, counts, join, waker) = parked_task();
        drop(join);
        let t = std::thread::spawn(move || waker.wake());
        run_until_done(&sched);
        t.join().unwrap();
        assert_clean(&sched, &counts, 1, 1);
    }
}

/// The same with `wake_by_ref` and the waker dropped afterwards on the other thread.
#[test]
fn foreign_wake_by_ref_then_drop_races_completion() {
    for _ in 0..ROUNDS {
        let (sched, counts, join, waker) = parked_task();
        let t = std::thread::spawn(move || {
            waker.wake_by_ref();
            drop(waker);
        });
        run_until_done(&sched);
        t.join().unwrap();
        let out = crate::__loom::block_on_ready(join);
        drop(out);
        assert_clean(&sched, &counts, 1, 1);
    }
}

/// A task that wakes itself while running is re-queued (`yield_now`) with an extra
/// reference held across the call; it completes and frees normally.
#[test]
fn self_wake_while_running_requeues() {
    struct SelfWake(usize, Arc<Counts>);
    impl Future for SelfWake {
        type Output = Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
            if self.0 == 0 {
                return Poll::Ready(Output(self.1.clone()));
            }
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    impl Drop for SelfWake {
        fn drop(&mut self) {
            self.1.futures.fetch_add(1, SeqCst);
        }
    }
    let sched = Sched::new();
    let counts = Arc::new(Counts::default());
    drop(sched.spawn(SelfWake(3, counts.clone())));
    let mut polls = 0;
    while sched.run_one() {
        polls += 1;
    }
    assert_eq!(polls, 4);
    assert_clean(&sched, &counts, 1, 1);
}

/// `abort` from another thread racing the runner; the JoinHandle reports either the
/// output or the cancellation, and everything is dropped once.
#[test]
fn abort_races_wake_and_run() {
    for _ in 0..ROUNDS {
        let (sched, counts, join, waker) = parked_task();
        let abort = join.abort_handle();
        let t = std::thread::spawn(move || {
            waker.wake();
            abort.abort();
        });
        run_until_done(&sched);
        t.join().unwrap();
        let outputs = match crate::__loom::block_on_ready(join) {
            Ok(out) => {
                drop(out);
                1
            }
            Err(e) => {
                assert!(e.is_cancelled());
                0
            }
        };
        assert_clean(&sched, &counts, 1, outputs);
    }
}

/// Shutdown cancels idle and queued tasks; wakers held elsewhere keep the cells alive
/// until they drop, and a wake after shutdown frees nothing twice.
#[test]
fn shutdown_with_outstanding_wakers() {
    let sched = Sched::new();
    let counts = Arc::new(Counts::default());
    let mut slots = Vec::new();
    let mut joins = Vec::new();
    for i in 0..4 {
        let (fut, slot) = parked(2, &counts);
        let join = sched.spawn(fut);
        if i % 2 == 0 {
            joins.push(join);
        }
        slots.push(slot);
    }
    sched.run_all();
    let wakers: Vec<Waker> = slots
        .iter()
        .map(|s| s.lock().unwrap().take().unwrap())
        .collect();
    wakers[0].wake_by_ref();
    sched.shutdown();
    for w in wakers {
        w.wake();
    }
    sched.drain_queue();
    for j in joins {
        let res = crate::__loom::block_on_ready(j);
        assert!(res.is_err_and(|e| e.is_cancelled()));
    }
    assert_clean(&sched, &counts, 4, 0);
}

/// Dropping the `JoinHandle` on another thread while the task completes: the output
/// is dropped once, by whichever side gets there last.
#[test]
fn join_handle_drop_races_completion() {
    for _ in 0..ROUNDS {
        let (sched, counts, join, waker) = parked_task();
        waker.wake();
        let t = std::thread::spawn(move || drop(join));
        sched.run_all();
        t.join().unwrap();
        assert_clean(&sched, &counts, 1, 1);
    }
}

/// A task whose future points into itself at its suspension point (an async block
/// awaiting a `poll_fn` that borrows the block's own local) is cancelled by shutdown:
/// the future must be dropped in place. `drop_future_or_output` used to move it out of
/// the cell first (`ptr::replace`), which miri reports as undefined behaviour under
/// Tree Borrows; found by `task::local_set::tests::foreign_wakes_race_the_sets_drop`.
#[test]
fn a_self_referential_future_is_dropped_in_place() {
    let counts = Arc::new(Counts::default());
    let sched = Sched::new();
    let c = counts.clone();
    let handle = sched.spawn(async move {
        let out = Output(c);
        let local = 5u32;
        std::future::poll_fn(|_| {
            // Borrows `local` (and `out`) across the suspension.
            let _ = (&local, &out);
            Poll::<()>::Pending
        })
        .await;
    });
    sched.run_all();
    sched.shutdown();
    drop(handle);
    // The future's `out` was dropped once, with the future.
    assert_eq!(counts.outputs.load(SeqCst), 1);
    assert_eq!(sched.num_cells(), 0);
}

/// The owned-list links (written when a neighbouring task is spawned or completes)
/// start at least a cache line after the state word, so they never share its line
/// (task/core.rs), for the smallest cell of every scheduler that owns its tasks.
#[test]
fn links_are_a_cache_line_away_from_the_state_word() {
    use super::core::{Cell, Header, Trailer};
    use std::mem::offset_of;
    fn links_offset<T: Future, S>() -> usize {
        assert_eq!(offset_of!(Cell<T, S>, header), 0);
        assert_eq!(offset_of!(Header, state), 0);
        offset_of!(Cell<T, S>, trailer) + offset_of!(Trailer, owned)
    }
    type Empty = std::future::Ready<()>;
    let offsets = [
        links_offset::<Empty, crate::scheduler::multi_thread::task_handle::TaskHandle>(),
        links_offset::<Empty, Arc<crate::scheduler::current_thread::Handle>>(),
        links_offset::<Empty, Arc<super::local_set::Shared>>(),
        links_offset::<Empty, Arc<crate::__loom::Inner>>(),
    ];
    for off in offsets {
        assert!(off >= 64, "links at byte {off} of the cell: {offsets:?}");
    }
}

/// The cell of an idle task (`pending()` on the multi-thread scheduler) stays at 104
/// bytes: a 112-byte malloc chunk with glibc (docs/benchmarks.md, "Task layout").
#[test]
#[cfg(not(feature = "tracing"))]
fn idle_task_cell_size() {
    use super::core::Cell;
    type S = crate::scheduler::multi_thread::task_handle::TaskHandle;
    assert_eq!(
        std::mem::size_of::<Cell<std::future::Pending<()>, S>>(),
        104
    );
}
