//! `magpie::stream`: the timer adapters (`timeout`, `throttle`, `chunks_timeout`) on a
//! paused clock, so every duration below is exact, and the wrappers over magpie's
//! receivers, intervals, listeners and signals.

use magpie::stream::wrappers::{
    IntervalStream, ReceiverStream, SignalStream, TcpListenerStream, UnboundedReceiverStream,
    UnixListenerStream,
};
use magpie::stream::{Stream, StreamExt};
use magpie::sync::mpsc;
use magpie::time::{Duration, Instant, sleep};

const MS: Duration = Duration::from_millis(1);

/// Sends `(delay, value)` pairs: each value after sleeping its delay.
fn feed(plan: Vec<(u64, u32)>) -> mpsc::Receiver<u32> {
    let (tx, rx) = mpsc::channel(16);
    magpie::spawn(async move {
        for (delay, v) in plan {
            sleep(MS * delay as u32).await;
            if tx.send(v).await.is_err() {
                return;
            }
        }
    });
    rx
}

#[magpie::test(start_paused = true)]
async fn timeout_reports_each_silence_once_and_goes_on() {
    let start = Instant::now();
    let rx = feed(vec![(10, 1), (300, 2), (50, 3)]);
    let mut s = Box::pin(ReceiverStream::new(rx).timeout(MS * 100));
    assert_eq!(s.next().await, Some(Ok(1)));
    assert_eq!(start.elapsed(), MS * 10);
    // 100 ms of silence after item 1: one error, at 110 ms.
    assert!(s.next().await.unwrap().is_err());
    assert_eq!(start.elapsed(), MS * 110);
    // No second error before the next item: item 2 arrives at 310 ms.
    assert_eq!(s.next().await, Some(Ok(2)));
    assert_eq!(start.elapsed(), MS * 310);
    assert_eq!(s.next().await, Some(Ok(3)));
    assert_eq!(start.elapsed(), MS * 360);
    // The sender is gone: the stream ends (no error for the silence before the end
    // is reported once the end is known).
    assert_eq!(s.next().await, None);
}

#[magpie::test(start_paused = true)]
async fn timeout_counts_from_creation_before_the_first_item() {
    let start = Instant::now();
    let rx = feed(vec![(500, 1)]);
    let mut s = Box::pin(ReceiverStream::new(rx).timeout(MS * 200));
    assert!(s.next().await.unwrap().is_err());
    assert_eq!(start.elapsed(), MS * 200);
    assert_eq!(s.next().await, Some(Ok(1)));
}

#[magpie::test(start_paused = true)]
async fn throttle_spaces_items_and_drops_none() {
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let start = Instant::now();
    let mut s = Box::pin(UnboundedReceiverStream::new(rx).throttle(MS * 100));
    let mut at = Vec::new();
    while let Some(v) = s.next().await {
        at.push((v, start.elapsed()));
    }
    let want: Vec<_> = (0..5).map(|i| (i, MS * (100 * i))).collect();
    assert_eq!(at, want, "first at once, then one per 100 ms");
}

#[magpie::test(start_paused = true)]
async fn chunks_timeout_batches_by_size_by_time_and_flushes_at_the_end() {
    let start = Instant::now();
    // 1, 2, 3 arrive together (a full batch of 3), 4 alone (sent at 10 ms: its batch
    // times out at 60 ms), 5 and 6 at 200 ms, then the end.
    let rx = feed(vec![(0, 1), (0, 2), (0, 3), (10, 4), (190, 5), (0, 6)]);
    let mut s = Box::pin(ReceiverStream::new(rx).chunks_timeout(3, MS * 50));
    assert_eq!(s.next().await, Some(vec![1, 2, 3]));
    assert_eq!(s.next().await, Some(vec![4]));
    assert_eq!(start.elapsed(), MS * 60);
    assert_eq!(
        s.next().await,
        Some(vec![5, 6]),
        "the partial batch at the end"
    );
    assert_eq!(s.next().await, None);
    assert_eq!(s.next().await, None, "stays ended");
}

#[test]
fn chunks_timeout_of_zero_items_is_refused_with_a_message() {
    let rt = magpie::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let (_tx, rx) = mpsc::channel::<u8>(1);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ReceiverStream::new(rx).chunks_timeout(0, MS)
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("max_size"), "{msg:?}");
}

#[magpie::test]
async fn receiver_stream_close_and_into_inner() {
    let (tx, rx) = mpsc::channel(4);
    tx.send(1).await.unwrap();
    let mut s = ReceiverStream::from(rx);
    s.close();
    assert!(tx.send(2).await.is_err(), "closed: senders fail");
    assert_eq!(s.next().await, Some(1), "buffered values still come");
    assert_eq!(s.next().await, None);
    let mut rx = s.into_inner();
    assert_eq!(rx.recv().await, None);
}

#[magpie::test(start_paused = true)]
async fn interval_stream_ticks() {
    let start = Instant::now();
    let mut s = IntervalStream::new(magpie::time::interval(MS * 30));
    for i in 0..4 {
        s.next().await.unwrap();
        assert_eq!(start.elapsed(), MS * (30 * i));
    }
    assert_eq!(s.size_hint(), (usize::MAX, None));
}

#[magpie::test]
async fn listener_streams_yield_connections() {
    let listener = magpie::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut incoming = TcpListenerStream::new(listener);
    for _ in 0..3 {
        let client = magpie::spawn(magpie::net::TcpStream::connect(addr));
        let server = incoming.next().await.unwrap().unwrap();
        let client = client.await.unwrap().unwrap();
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    }
    assert_eq!(incoming.into_inner().local_addr().unwrap(), addr);

    let dir = std::env::temp_dir().join(format!("magpie-stream-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let mut incoming = UnixListenerStream::new(magpie::net::UnixListener::bind(&dir).unwrap());
    let client = magpie::spawn(magpie::net::UnixStream::connect(dir.clone()));
    incoming.next().await.unwrap().unwrap();
    client.await.unwrap().unwrap();
    std::fs::remove_file(&dir).unwrap();
}

#[magpie::test]
async fn signal_stream_yields_deliveries() {
    use magpie::signal::unix::{SignalKind, signal};
    let mut s = SignalStream::new(signal(SignalKind::user_defined2()).unwrap());
    // SAFETY: raising a signal this process handles (the listener installed a handler).
    assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
    magpie::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("no delivery")
        .unwrap();
}
