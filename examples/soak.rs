//! The io soak (issue 15; not run in CI): an echo server and CONNS clients (512 by
//! default) on loopback for SECONDS, every byte checked, RSS sampled once a second.
//!
//! `cargo run --release --example soak -- [SECONDS] [CONNS]`
//!
//! Each client writes chunks of varying size (a deterministic pattern per connection)
//! from one task and reads the echo back from another, comparing every byte. Several
//! accept loops share the listener (the waiter list). At the end the writers stop, the
//! readers drain, and the program reports bytes sent, echoed and verified, lost bytes
//! (sent minus echoed), corrupt bytes, and RSS at start (after the connections are up),
//! peak and end. It exits non-zero on a lost or corrupt byte.

#[path = "common/args.rs"]
mod args;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use magpie::io::{AsyncReadExt, AsyncWriteExt};
use magpie::net::{TcpListener, TcpStream};

/// The byte at `offset` of connection `conn`'s stream.
fn pattern(conn: u64, offset: u64) -> u8 {
    (offset.wrapping_mul(2654435761) >> 7) as u8 ^ conn as u8
}

/// Resident set size in KiB (Linux `/proc/self/statm`; 0 elsewhere).
fn rss_kib() -> u64 {
    let page_kib = 4;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page_kib)
}

#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    echoed: AtomicU64,
    corrupt: AtomicU64,
}

async fn serve(listener: Arc<TcpListener>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            magpie::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        magpie::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = stream.shutdown().await;
        });
    }
}

async fn client(conn: u64, addr: std::net::SocketAddr, stop: Arc<AtomicBool>, t: Arc<Totals>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut r, mut w) = stream.into_split();
    let writer_totals = t.clone();
    let writer = magpie::spawn(async move {
        let mut offset = 0u64;
        let mut chunk = Vec::with_capacity(8192);
        let mut size = 1 + conn as usize % 4096;
        while !stop.load(Ordering::Relaxed) {
            chunk.clear();
            chunk.extend((0..size as u64).map(|i| pattern(conn, offset + i)));
            w.write_all(&chunk).await.expect("write");
            offset += size as u64;
            writer_totals.sent.fetch_add(size as u64, Ordering::Relaxed);
            size = 1 + (size * 7 + 13) % 8192;
        }
        w.shutdown().await.expect("shutdown");
    });
    let mut buf = vec![0u8; 16 * 1024];
    let mut offset = 0u64;
    loop {
        let n = r.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        let bad = buf[..n]
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b != pattern(conn, offset + i as u64))
            .count();
        t.corrupt.fetch_add(bad as u64, Ordering::Relaxed);
        t.echoed.fetch_add(n as u64, Ordering::Relaxed);
        offset += n as u64;
    }
    writer.await.expect("writer task");
}

fn main() {
    let mut args = args::Args::parse("usage: soak [SECONDS] [CONNS]");
    let seconds: u64 = args.positional("SECONDS").unwrap_or(60);
    let conns: u64 = args.positional("CONNS").unwrap_or(512);
    args.finish();
    let rt = magpie::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = rt.block_on(async move {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.expect("bind"));
        let addr = listener.local_addr().expect("addr");
        for _ in 0..4 {
            magpie::spawn(serve(listener.clone()));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let totals = Arc::new(Totals::default());
        let clients: Vec<_> = (0..conns)
            .map(|c| magpie::spawn(client(c, addr, stop.clone(), totals.clone())))
            .collect();
        magpie::time::sleep(Duration::from_secs(1)).await;
        let rss_start = rss_kib();
        let mut rss_peak = rss_start;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(seconds) {
            magpie::time::sleep(Duration::from_secs(1)).await;
            rss_peak = rss_peak.max(rss_kib());
        }
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.expect("client task");
        }
        let rss_end = rss_kib();
        let sent = totals.sent.load(Ordering::Relaxed);
        let echoed = totals.echoed.load(Ordering::Relaxed);
        let corrupt = totals.corrupt.load(Ordering::Relaxed);
        println!(
            "soak: {conns} connections, {seconds} s: sent {sent} B, echoed {echoed} B \
             ({:.1} MB/s), lost {} B, corrupt {corrupt} B; RSS start {rss_start} KiB, \
             peak {rss_peak} KiB, end {rss_end} KiB (growth {} KiB)",
            echoed as f64 / seconds.max(1) as f64 / 1e6,
            sent as i128 - echoed as i128,
            rss_end as i64 - rss_start as i64,
        );
        sent == echoed && corrupt == 0
    });
    if !ok {
        std::process::exit(1);
    }
}
