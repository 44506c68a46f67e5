//! A task's future is dropped where it was polled: `Pin`'s drop guarantee, which
//! intrusive waiter lists (magpie-sync's `Notify`, and so every primitive built on it)
//! rely on. The runtime used to move a cancelled future out of its cell onto the stack
//! before dropping it; a waiter node still linked in a list then pointed at freed
//! memory (a segfault at runtime shutdown with two workers, a failed "removed"
//! assertion with one).

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use magpie_runtime::runtime::Builder;

/// Pending forever; records the address it was polled at, and at drop where it is.
struct Pinned {
    polled_at: Option<usize>,
    /// Counts first polls.
    polled: Option<Arc<AtomicUsize>>,
    log: Arc<Mutex<Vec<(usize, usize)>>>,
    _pin: PhantomPinned,
}

impl Future for Pinned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let addr = &*self as *const Pinned as usize;
        // SAFETY: only a plain field is written; nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        if this.polled_at.replace(addr).is_none() {
            if let Some(p) = &this.polled {
                p.fetch_add(1, Ordering::SeqCst);
            }
        }
        Poll::Pending
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(polled) = self.polled_at {
            let now = self as *const Pinned as usize;
            self.log.lock().unwrap().push((polled, now));
        }
    }
}

fn pinned(log: &Arc<Mutex<Vec<(usize, usize)>>>) -> Pinned {
    Pinned {
        polled_at: None,
        polled: None,
        log: log.clone(),
        _pin: PhantomPinned,
    }
}

fn assert_in_place(log: &Mutex<Vec<(usize, usize)>>, n: usize) {
    let log = log.lock().unwrap();
    assert_eq!(log.len(), n, "every polled future dropped once: {log:x?}");
    for &(polled, dropped) in log.iter() {
        assert_eq!(
            polled, dropped,
            "dropped at {dropped:#x}, polled at {polled:#x}"
        );
    }
}

#[test]
fn futures_cancelled_by_shutdown_are_dropped_in_place() {
    for rt in [
        Builder::new_current_thread().build().unwrap(),
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ] {
        let log = Arc::new(Mutex::new(Vec::new()));
        let polled = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            for _ in 0..4 {
                let mut f = pinned(&log);
                f.polled = Some(polled.clone());
                drop(magpie_runtime::spawn(f));
            }
            // Until each was polled once (multi-thread: maybe on the other worker).
            let start = std::time::Instant::now();
            while polled.load(Ordering::SeqCst) < 4 {
                assert!(
                    start.elapsed() < std::time::Duration::from_secs(10),
                    "never polled"
                );
                magpie_runtime::task::yield_now().await;
            }
        });
        drop(rt);
        assert_in_place(&log, 4);
    }
}

#[test]
fn aborted_futures_are_dropped_in_place() {
    let rt = Builder::new_current_thread().build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let handle = magpie_runtime::spawn(pinned(&log));
        magpie_runtime::task::yield_now().await;
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
    });
    assert_in_place(&log, 1);
}
