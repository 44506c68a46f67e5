//! Many tasks awaiting the readiness of one socket (issue 15): every waiter of a
//! direction is woken by an event, a dropped waiter takes its waker with it, and no
//! waker is cloned or dropped while the socket's waiter lock is held.
//!
//! Every test bounds its waiting with a deadline that fails the test, so a lost
//! wake-up shows as a failure, never as a hang.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use common::{CountWaker, LIMIT, run, spawn, wait_until, yield_now};
use magpie_io::net::{TcpListener, UdpSocket};

const N: usize = 8;

/// Polls `fut` once with `waker`.
fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn n_tasks_accepting_on_one_listener_each_get_a_connection() {
    run(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let (listener, accepted) = (listener.clone(), accepted.clone());
            spawn(async move {
                listener.accept().await.unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Let every task reach its `accept` and wait.
        for _ in 0..3 {
            yield_now().await;
        }
        let clients: Vec<_> = (0..N)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        wait_until("every accept task to get a connection", || {
            accepted.load(Ordering::SeqCst) == N
        })
        .await;
        drop(clients);
    });
}

/// Two accept loops; after accepting, a loop stays away from `accept` until the next
/// connection was accepted, so the connections alternate between the loops and each
/// loop must be woken while the other is busy.
#[test]
fn two_accept_loops_on_one_listener_accept_every_connection() {
    const CONNS: usize = 64;
    run(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let total = Arc::new(AtomicUsize::new(0));
        let per_loop: Arc<[AtomicUsize; 2]> = Arc::default();
        for i in 0..2 {
            let (listener, total, per_loop) = (listener.clone(), total.clone(), per_loop.clone());
            spawn(async move {
                loop {
                    listener.accept().await.unwrap();
                    per_loop[i].fetch_add(1, Ordering::SeqCst);
                    let mine = total.fetch_add(1, Ordering::SeqCst) + 1;
                    if mine == CONNS {
                        return;
                    }
                    // Busy until the other loop took the next connection.
                    wait_until("the other loop to accept", || {
                        total.load(Ordering::SeqCst) > mine
                    })
                    .await;
                }
            });
        }
        for _ in 0..3 {
            yield_now().await;
        }
        let mut clients = Vec::new();
        for c in 0..CONNS {
            clients.push(std::net::TcpStream::connect(addr).unwrap());
            wait_until("the connection to be accepted", || {
                total.load(Ordering::SeqCst) == c + 1
            })
            .await;
        }
        assert_eq!(per_loop[0].load(Ordering::SeqCst), CONNS / 2);
        assert_eq!(per_loop[1].load(Ordering::SeqCst), CONNS / 2);
    });
}

#[test]
fn n_udp_receivers_on_one_socket_each_get_a_datagram() {
    run(async {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let (socket, received) = (socket.clone(), received.clone());
            spawn(async move {
                let mut buf = [0u8; 64];
                let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                assert_eq!(n, 5);
                received.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..3 {
            yield_now().await;
        }
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..N {
            sender.send_to(b"hello", addr).unwrap();
        }
        wait_until("every receiver to get a datagram", || {
            received.load(Ordering::SeqCst) == N
        })
        .await;
    });
}

#[test]
fn n_tasks_awaiting_readable_are_all_woken_by_one_datagram() {
    run(async {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let woken = Arc::new(AtomicUsize::new(0));
        for _ in 0..N {
            let (socket, woken) = (socket.clone(), woken.clone());
            spawn(async move {
                socket.readable().await.unwrap();
                woken.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..3 {
            yield_now().await;
        }
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .send_to(b"x", addr)
            .unwrap();
        wait_until("every readable() to return", || {
            woken.load(Ordering::SeqCst) == N
        })
        .await;
    });
}

/// Task A waits in `accept`; then B's `accept` future waits (registered after A), is
/// woken by the connection, and is dropped before it runs again. A must still get the
/// connection.
#[test]
fn dropping_a_woken_accept_leaves_the_connection_to_the_other() {
    run(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(AtomicUsize::new(0));
        {
            let (listener, got) = (listener.clone(), got.clone());
            spawn(async move {
                listener.accept().await.unwrap();
                got.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..3 {
            yield_now().await; // A is waiting.
        }
        let b_waker = Arc::new(CountWaker::default());
        let waker = Waker::from(b_waker.clone());
        let mut b = Box::pin(listener.accept());
        assert!(poll_once(&mut b, &waker).is_pending());
        let _client = std::net::TcpStream::connect(addr).unwrap();
        wait_until("B to be woken", || b_waker.0.load(Ordering::SeqCst) > 0).await;
        drop(b);
        wait_until("A to get the connection", || {
            got.load(Ordering::SeqCst) == 1
        })
        .await;
    });
}

/// B's `accept` future waits after A's and is dropped before any connection comes.
#[test]
fn dropping_a_waiting_accept_leaves_the_connection_to_the_other() {
    run(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(AtomicUsize::new(0));
        {
            let (listener, got) = (listener.clone(), got.clone());
            spawn(async move {
                listener.accept().await.unwrap();
                got.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..3 {
            yield_now().await; // A is waiting.
        }
        let mut b = Box::pin(listener.accept());
        assert!(poll_once(&mut b, Waker::noop()).is_pending());
        drop(b);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        wait_until("A to get the connection", || {
            got.load(Ordering::SeqCst) == 1
        })
        .await;
    });
}

/// Dropping a waiting future releases its waker (it does not stay in the socket).
#[test]
fn dropped_waiters_release_their_wakers() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let count = Arc::new(CountWaker::default());
        {
            let waker = Waker::from(count.clone());
            let mut accept = Box::pin(listener.accept());
            assert!(poll_once(&mut accept, &waker).is_pending());
            let mut buf = [0u8; 8];
            let mut recv = Box::pin(socket.recv_from(&mut buf));
            assert!(poll_once(&mut recv, &waker).is_pending());
            let mut readable = Box::pin(socket.readable());
            assert!(poll_once(&mut readable, &waker).is_pending());
            // Polled again with the same waker: still one registration each.
            assert!(poll_once(&mut accept, &waker).is_pending());
        }
        assert_eq!(
            Arc::strong_count(&count),
            1,
            "a dropped future's waker is still held by the socket"
        );
    });
}

thread_local! {
    /// What a [`reentrant_waker`]'s clone and drop run.
    static REENTER: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

fn reenter() {
    REENTER.with(|r| {
        if let Some(f) = r.borrow().as_ref() {
            f()
        }
    });
}

/// A waker whose clone and drop call [`REENTER`]'s hook (user code that touches the
/// same socket).
fn reentrant_waker() -> Waker {
    static VTABLE: RawWakerVTable = RawWakerVTable::new(
        |_| {
            reenter();
            RawWaker::new(std::ptr::null(), &VTABLE)
        },
        |_| reenter(),
        |_| (),
        |_| reenter(),
    );
    // SAFETY: the vtable's functions ignore the data pointer (null) and uphold the
    // RawWaker contract trivially (nothing to free, clone returns an equal waker).
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// Runs `f` on its own thread and fails if it does not finish within [`LIMIT`] (a
/// deadlocked thread is left behind; the test process exits anyway).
fn within_limit(what: &'static str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: deadlocked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// The hook polls a fresh `accept` on the listener (taking its waiter lock) and drops it.
fn install_accept_hook(listener: &Arc<TcpListener>) {
    let l = listener.clone();
    REENTER.with(|r| {
        *r.borrow_mut() = Some(Box::new(move || {
            let mut fut = pin!(l.accept());
            let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }))
    });
}

#[test]
fn a_waker_touching_the_socket_in_clone_or_drop_does_not_deadlock_accept() {
    within_limit("accept with a re-entrant waker", || {
        run(async {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            install_accept_hook(&listener);
            let waker = reentrant_waker();
            let mut fut = Box::pin(listener.accept());
            assert!(poll_once(&mut fut, &waker).is_pending()); // clone
            assert!(poll_once(&mut fut, Waker::noop()).is_pending()); // drop of the old one
            drop(fut);
            REENTER.with(|r| r.borrow_mut().take());
        })
    });
}

#[test]
fn a_waker_touching_the_socket_in_clone_or_drop_does_not_deadlock_poll_accept() {
    within_limit("poll_accept with a re-entrant waker", || {
        run(async {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            install_accept_hook(&listener);
            let waker = reentrant_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(listener.poll_accept(&mut cx).is_pending()); // clone
            let mut cx = Context::from_waker(Waker::noop());
            assert!(listener.poll_accept(&mut cx).is_pending()); // drop of the old one
            REENTER.with(|r| r.borrow_mut().take());
        })
    });
}

/// A connection arriving while both an `accept` future and a `poll_accept` caller wait
/// wakes both.
#[test]
fn accept_future_and_poll_accept_are_both_woken() {
    run(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr: SocketAddr = listener.local_addr().unwrap();
        let a = Arc::new(CountWaker::default());
        let b = Arc::new(CountWaker::default());
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut fut = Box::pin(listener.accept());
        assert!(poll_once(&mut fut, &wa).is_pending());
        assert!(
            listener
                .poll_accept(&mut Context::from_waker(&wb))
                .is_pending()
        );
        let _client = std::net::TcpStream::connect(addr).unwrap();
        wait_until("both to be woken", || {
            a.0.load(Ordering::SeqCst) > 0 && b.0.load(Ordering::SeqCst) > 0
        })
        .await;
        assert!(matches!(poll_once(&mut fut, &wa), Poll::Ready(Ok(_))));
    });
}

/// Random sequences of register / poll again / drop / event / clear on the production
/// `ScheduledIo` waiter list (no driver): after every step, every waiting entry whose
/// interest an event satisfied was woken exactly once, no other was, the list holds
/// exactly the live registered entries, and at the end the resource holds no waker.
#[test]
fn random_register_cancel_event_sequences_keep_the_waiter_list_exact() {
    use magpie_io::scheduled_io::{Direction, Readiness, Ready, ScheduledIo};

    struct Slot<'a> {
        fut: Readiness<'a>,
        waker: Arc<CountWaker>,
        interest: Ready,
        /// Its last poll was `Pending` and no event took its waker since.
        waiting: bool,
        /// Registered in the list (a `Pending` poll since creation or the last `Ready`).
        registered: bool,
        wakes: usize,
    }

    let interests = [
        Direction::Read.mask(),
        Direction::Write.mask(),
        Direction::Read.mask() | Direction::Write.mask(),
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _round in 0..200 {
        let io = ScheduledIo::new();
        let mut slots: Vec<Option<Slot<'_>>> = (0..6).map(|_| None).collect();
        let mut all_wakers = Vec::new();
        for _step in 0..60 {
            let i = next(6) as usize;
            match next(5) {
                0 | 1 => {
                    let slot = slots[i].get_or_insert_with(|| {
                        let waker = Arc::new(CountWaker::default());
                        all_wakers.push(waker.clone());
                        Slot {
                            fut: io.readiness(interests[i % 3]),
                            waker,
                            interest: interests[i % 3],
                            waiting: false,
                            registered: false,
                            wakes: 0,
                        }
                    });
                    let w = Waker::from(slot.waker.clone());
                    match slot.fut.poll(&mut Context::from_waker(&w)) {
                        Poll::Ready(Ok(ev)) => {
                            assert!(!(ev.ready & slot.interest).is_empty());
                            slot.waiting = false;
                            slot.registered = false;
                        }
                        Poll::Ready(Err(_)) => unreachable!("never shut down"),
                        Poll::Pending => {
                            slot.waiting = true;
                            slot.registered = true;
                        }
                    }
                }
                2 => slots[i] = None,
                3 => {
                    let ready = [Ready::READABLE, Ready::WRITABLE][next(2) as usize];
                    let mut wakers = Vec::new();
                    io.set_readiness(ready, &mut wakers);
                    wakers.into_iter().for_each(Waker::wake);
                    for s in slots.iter_mut().flatten() {
                        if s.waiting && !(s.interest & ready).is_empty() {
                            s.waiting = false;
                            s.wakes += 1;
                        }
                    }
                }
                _ => {
                    // A `WouldBlock` on whatever is ready now.
                    for dir in [Direction::Read, Direction::Write] {
                        if let Ok(Some(ev)) = io.ready_now(dir) {
                            io.clear_readiness(ev);
                        }
                    }
                }
            }
            for s in slots.iter().flatten() {
                assert_eq!(s.waker.0.load(Ordering::SeqCst), s.wakes, "wakes");
            }
            let registered = slots.iter().flatten().filter(|s| s.registered).count();
            assert_eq!(io.num_waiters(), registered, "entries in the list");
        }
        drop(slots);
        assert_eq!(io.num_waiters(), 0);
        for w in all_wakers {
            assert_eq!(Arc::strong_count(&w), 1, "a waker left in the resource");
        }
    }
}
