#![cfg(loom)]
//! Loom models of the task state word (runtime/src/task/state.rs) and the harness
//! protocol around it (poll / complete / cancel / JoinHandle / JOIN_WAKER hand-off /
//! owned-list shutdown), run over the real task code through `magpie_runtime::__loom::Sched`
//! (a mutex-protected run queue plus the real `OwnedTasks` list).
//!
//! Every model checks at the end that each future and each output was dropped exactly
//! once, that every task allocation was freed (`Sched::num_cells() == 0`), and that the
//! `JoinHandle` resolves (a lost wake-up shows up as a loom deadlock in `block_on`).

mod sync_util;

use loom::sync::Mutex;
use loom::thread;
use magpie_runtime::__loom::Sched;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use sync_util::block_on;

/// `loom::model`, printing how many executions it explored (see with `--nocapture`).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    loom::model(move || {
        n2.fetch_add(1, SeqCst);
        f();
    });
    eprintln!("{}: {} executions", thread_name(), n.load(SeqCst));
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

/// Counts its drops.
#[derive(Debug)]
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Drop counters for one task's future and output.
#[derive(Clone, Default)]
struct Counts {
    future: Arc<AtomicUsize>,
    output: Arc<AtomicUsize>,
}

impl Counts {
    fn future_drops(&self) -> usize {
        self.future.load(SeqCst)
    }
    fn output_drops(&self) -> usize {
        self.output.load(SeqCst)
    }
}

/// A one-shot "gate": `open` sets the flag and wakes the registered waker.
#[derive(Clone)]
struct Gate(Arc<Mutex<(bool, Option<Waker>)>>);

impl Gate {
    fn new() -> Gate {
        Gate(Arc::new(Mutex::new((false, None))))
    }

    /// Opens the gate; wakes the waker by value.
    fn open(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Opens the gate; wakes the waker by reference, then drops it.
    fn open_by_ref(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake_by_ref();
            drop(w);
        }
    }
}

/// A future that is `Pending` until its gate opens, then returns a `Tracked` output.
/// It carries a `Tracked` of its own so that its drop is counted.
struct GateFuture {
    gate: Gate,
    /// false: stays `Pending` for ever (re-registering its waker at every poll).
    completes: bool,
    counts: Counts,
    _me: Tracked,
}

impl GateFuture {
    fn new(gate: &Gate, counts: &Counts) -> GateFuture {
        GateFuture {
            gate: gate.clone(),
            completes: true,
            counts: counts.clone(),
            _me: Tracked(counts.future.clone()),
        }
    }

    /// Never completes: only a cancel (abort or shutdown) drops it.
    fn forever(gate: &Gate, counts: &Counts) -> GateFuture {
        GateFuture {
            completes: false,
            ..GateFuture::new(gate, counts)
        }
    }
}

impl Future for GateFuture {
    type Output = Tracked;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Tracked> {
        let mut g = self.gate.0.lock().unwrap();
        if g.0 && self.completes {
            return Poll::Ready(Tracked(self.counts.output.clone()));
        }
        g.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A future that finishes on its first poll.
struct ReadyFuture {
    counts: Counts,
    _me: Tracked,
}

impl ReadyFuture {
    fn new(counts: &Counts) -> ReadyFuture {
        ReadyFuture {
            counts: counts.clone(),
            _me: Tracked(counts.future.clone()),
        }
    }
}

impl Future for ReadyFuture {
    type Output = Tracked;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Tracked> {
        Poll::Ready(Tracked(self.counts.output.clone()))
    }
}

/// A join waker that counts its wakes and the drop of its last clone.
struct CountingWaker {
    wakes: AtomicUsize,
    dropped: Arc<AtomicUsize>,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

impl Drop for CountingWaker {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let w = Waker::from(Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
        dropped: dropped.clone(),
    }));
    (w, dropped)
}

/// Final checks shared by every model: queue drained, every cell freed, the future
/// dropped once.
fn assert_clean(sched: &Sched, counts: &Counts) {
    assert_eq!(sched.queue_len(), 0, "a Notified was left queued");
    assert_eq!(sched.num_alive(), 0, "a task is still in the owned list");
    assert_eq!(sched.num_cells(), 0, "a task allocation leaked");
    assert_eq!(
        counts.future_drops(),
        1,
        "future dropped {} times",
        counts.future_drops()
    );
}

/// (a) wake vs poll: the gate opens (waking the task by value) while the scheduler
/// polls it. The wake may land before the first poll registers a waker, during the
/// poll (RUNNING: NOTIFIED makes the runner reschedule), or after it went idle
/// (Submit). In every case the task must be queued again: after the waker thread is
/// done, draining the queue completes the task.
#[test]
fn wake_vs_poll() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::new(&gate, &counts));

        let g = gate.clone();
        let t = thread::spawn(move || g.open());

        sched.run_all();
        t.join().unwrap();
        sched.run_all();

        assert!(
            jh.is_finished(),
            "lost wake-up: the woken task was not run again"
        );
        let out = block_on(jh).expect("not cancelled");
        drop(out);
        assert_eq!(counts.output_drops(), 1);
        assert_clean(&sched, &counts);
    });
}

/// (a') as (a), waking by reference and then dropping the waker (the by-ref
/// transition adds a reference for the `Notified`; the drop releases the waker's).
#[test]
fn wake_by_ref_vs_poll() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::new(&gate, &counts));

        let g = gate.clone();
        let t = thread::spawn(move || g.open_by_ref());

        sched.run_all();
        t.join().unwrap();
        sched.run_all();

        assert!(
            jh.is_finished(),
            "lost wake-up: the woken task was not run again"
        );
        drop(block_on(jh).expect("not cancelled"));
        assert_eq!(counts.output_drops(), 1);
        assert_clean(&sched, &counts);
    });
}

/// (b) abort vs poll/complete: one thread opens the gate and aborts the task while the
/// scheduler polls it. The handle then gives the output or a cancellation; the future
/// is dropped once (by the poll that completes it, or by the cancel), never polled
/// after being dropped.
#[test]
fn abort_vs_poll_and_complete() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::new(&gate, &counts));
        let abort = jh.abort_handle();

        let g = gate.clone();
        let t = thread::spawn(move || {
            g.open();
            abort.abort();
        });

        sched.run_all();
        t.join().unwrap();
        sched.run_all();

        assert!(jh.is_finished());
        match block_on(jh) {
            Ok(out) => drop(out),
            Err(e) => assert!(e.is_cancelled()),
        }
        assert!(counts.output_drops() <= 1);
        assert_clean(&sched, &counts);
    });
}

/// (b') abort of a task that never gets woken (stays idle after its first poll) vs
/// that first poll: the abort either finds it queued/running (CANCELLED only) or idle
/// (CANCELLED + NOTIFIED, a new `Notified` queued). Either way it ends cancelled.
#[test]
fn abort_vs_first_poll() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::new(&gate, &counts));
        let abort = jh.abort_handle();

        let t = thread::spawn(move || abort.abort());

        sched.run_all();
        t.join().unwrap();
        sched.run_all();

        assert!(block_on(jh).unwrap_err().is_cancelled());
        assert_eq!(counts.output_drops(), 0);
        drop(gate); // drops the task waker it may hold
        assert_clean(&sched, &counts);
    });
}

/// (c) JoinHandle drop vs completion, with a join waker registered (JOIN_WAKER set):
/// the output is dropped exactly once (by the completer if the handle was gone, by the
/// handle's drop otherwise), and the join waker exactly once (by the handle, or by the
/// completer after `unset_waker_after_complete` if the handle was dropped meanwhile).
#[test]
fn join_handle_drop_vs_complete() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let mut jh = sched.spawn(ReadyFuture::new(&counts));

        // Register a join waker before the race: JOIN_WAKER is set.
        let (w, waker_drops) = counting_waker();
        let mut cx = Context::from_waker(&w);
        assert!(Pin::new(&mut jh).poll(&mut cx).is_pending());
        drop(w);
        assert_eq!(waker_drops.load(SeqCst), 0, "the task holds a clone");

        let t = thread::spawn(move || drop(jh));
        sched.run_all();
        t.join().unwrap();

        assert_eq!(
            counts.output_drops(),
            1,
            "output dropped {} times",
            counts.output_drops()
        );
        assert_eq!(
            waker_drops.load(SeqCst),
            1,
            "join waker not dropped exactly once"
        );
        assert_clean(&sched, &counts);
    });
}

/// (c') JoinHandle drop vs completion without a join waker (the fast path: the handle
/// drop CAS from the initial state races the task leaving it).
#[test]
fn join_handle_drop_fast_vs_complete() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let jh = sched.spawn(ReadyFuture::new(&counts));

        let t = thread::spawn(move || drop(jh));
        sched.run_all();
        t.join().unwrap();

        assert_eq!(counts.output_drops(), 1);
        assert_clean(&sched, &counts);
    });
}

/// (d) JoinHandle poll (registering a waker, via a loom-aware block_on) vs completion
/// on another thread: the joiner is never left waiting (loom reports a deadlock
/// otherwise) and gets the output.
#[test]
fn join_poll_vs_complete() {
    model(|| {
        let sched = Arc::new(Sched::new());
        let counts = Counts::default();
        let jh = sched.spawn(ReadyFuture::new(&counts));

        let s = sched.clone();
        let t = thread::spawn(move || s.run_all());

        drop(block_on(jh).expect("not cancelled"));
        t.join().unwrap();

        assert_eq!(counts.output_drops(), 1);
        assert_clean(&sched, &counts);
    });
}

/// (d') the joiner replaces its waker while the task completes: a first poll with one
/// waker (JOIN_WAKER set if still running), then `block_on` with another, which takes
/// the slot back (`unset_waker`) and installs its own, racing `transition_to_complete`.
/// The first waker is dropped exactly once and the joiner is not left hanging.
#[test]
fn join_waker_swap_vs_complete() {
    model(|| {
        let sched = Arc::new(Sched::new());
        let counts = Counts::default();
        let mut jh = sched.spawn(ReadyFuture::new(&counts));

        let s = sched.clone();
        let t = thread::spawn(move || s.run_all());

        let (w, waker_drops) = counting_waker();
        let first = Pin::new(&mut jh).poll(&mut Context::from_waker(&w));
        drop(w);
        let out = match first {
            Poll::Ready(r) => {
                drop(jh);
                r
            }
            Poll::Pending => block_on(jh),
        };
        drop(out.expect("not cancelled"));
        t.join().unwrap();

        assert_eq!(
            waker_drops.load(SeqCst),
            1,
            "first join waker not dropped exactly once"
        );
        assert_eq!(counts.output_drops(), 1);
        assert_clean(&sched, &counts);
    });
}

/// (e) shutdown (`close_and_shutdown_all`) vs a concurrent wake + run: the task was
/// polled once and is idle; one thread opens the gate (queueing it) and runs the
/// queue, while the main thread shuts the scheduler down. The future is dropped exactly
/// once (by the shutdown if it found the task idle, by the runner's cancel if it found
/// it running, or by the poll that completed it), and nothing leaks.
#[test]
fn shutdown_vs_wake_and_run() {
    model(|| {
        let sched = Arc::new(Sched::new());
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::new(&gate, &counts));
        sched.run_all(); // first poll: Pending, waker registered

        let s = sched.clone();
        let g = gate.clone();
        let t = thread::spawn(move || {
            g.open();
            s.run_all();
        });

        sched.shutdown();
        t.join().unwrap();
        // A `Notified` queued after the shutdown's drain: a real runtime drops it at
        // its final drain; do the same (without walking the owned list again).
        sched.drain_queue();

        match block_on(jh) {
            Ok(out) => drop(out),
            Err(e) => assert!(e.is_cancelled()),
        }
        assert!(counts.output_drops() <= 1);
        assert_clean(&sched, &counts);
    });
}

/// (e'') shutdown vs a wake + run of a task that never completes: the runner may hold
/// RUNNING when the shutdown marks the task CANCELLED, and must then cancel it itself
/// when its poll returns (`transition_to_idle` -> Cancelled). The future is dropped
/// exactly once and the handle reports a cancellation.
#[test]
fn shutdown_vs_run_of_pending_task() {
    model(|| {
        let sched = Arc::new(Sched::new());
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::forever(&gate, &counts));
        sched.run_all(); // first poll: Pending, waker registered

        let s = sched.clone();
        let g = gate.clone();
        let t = thread::spawn(move || {
            g.open();
            s.run_all();
        });

        sched.shutdown();
        t.join().unwrap();
        sched.drain_queue();

        assert!(block_on(jh).unwrap_err().is_cancelled());
        drop(gate); // may hold a task waker from the second poll
        assert_clean(&sched, &counts);
    });
}

/// (e') spawn (`OwnedTasks::bind`) vs shutdown: the task is either inserted before the
/// closer walks the shard (and shut down by it) or sees `closed` and is cancelled at
/// once; it is never left in a closed list. The future never completes, so only the
/// shutdown can drop it: it is dropped exactly once and the handle reports a
/// cancellation.
#[test]
fn spawn_vs_shutdown() {
    model(|| {
        let sched = Arc::new(Sched::new());
        let counts = Counts::default();
        let gate = Gate::new();

        let s = sched.clone();
        let c = counts.clone();
        let g = gate.clone();
        let t = thread::spawn(move || {
            let jh = s.spawn(GateFuture::forever(&g, &c));
            s.run_all();
            jh
        });

        sched.shutdown();
        let jh = t.join().unwrap();
        sched.drain_queue();

        assert!(block_on(jh).unwrap_err().is_cancelled());
        drop(gate);
        assert_clean(&sched, &counts);
    });
}

/// (f) everything at once, three threads: the main thread runs the scheduler, one
/// thread opens the gate (wake by value), a third aborts the task and then drops the
/// `JoinHandle` (after registering no waker). The future is dropped exactly once, the
/// output at most once (exactly once if the task completed rather than being
/// cancelled), and every allocation is freed.
#[test]
fn wake_abort_and_join_drop_vs_run() {
    model(|| {
        let sched = Sched::new();
        let counts = Counts::default();
        let gate = Gate::new();
        let jh = sched.spawn(GateFuture::new(&gate, &counts));
        let abort = jh.abort_handle();

        let g = gate.clone();
        let t1 = thread::spawn(move || g.open());
        let t2 = thread::spawn(move || {
            abort.abort();
            drop(jh);
        });

        sched.run_all();
        t1.join().unwrap();
        t2.join().unwrap();
        sched.run_all();

        assert!(counts.output_drops() <= 1);
        assert_clean(&sched, &counts);
    });
}
