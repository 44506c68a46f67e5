//! The echo server and client, written once for magpie and tokio: compiled by
//! `io/on_magpie.rs` and `io/on_tokio.rs` with `super::rt` naming the runtime crate.

use std::time::{Duration, Instant};

use super::rt;
use rt::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Serves echo on 127.0.0.1 (an ephemeral port, printed as `PORT n`) until
/// stdin closes.
pub fn serve(workers: usize) {
    // The parent holds our stdin; when it goes away (even by crashing), exit.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
    let rt = rt::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("build server runtime");
    rt.block_on(async {
        let listener = rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind echo server");
        let port = listener.local_addr().expect("local addr").port();
        println!("PORT {port}");
        std::io::Write::flush(&mut std::io::stdout()).expect("flush");
        loop {
            let (mut s, _) = match listener.accept().await {
                Ok(c) => c,
                Err(_) => {
                    // EMFILE and friends: back off, never spin.
                    rt::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = s.set_nodelay(true);
            rt::spawn(async move {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// Opens `conns` connections to `port` and echoes `size`-byte messages on each
/// for `run` (plus the warm-up); returns the recorded throughput and latency.
pub fn client(
    workers: usize,
    port: u16,
    conns: usize,
    size: usize,
    run: Duration,
) -> crate::io::EchoResult {
    let rt = rt::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("build client runtime");
    rt.block_on(async move {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            let s = rt::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect to the echo server");
            s.set_nodelay(true).expect("nodelay");
            streams.push(s);
        }
        let start = Instant::now();
        let record_from = start + crate::io::WARMUP;
        let end = record_from + run;
        let mut tasks = Vec::with_capacity(conns);
        for (i, mut s) in streams.into_iter().enumerate() {
            tasks.push(rt::spawn(async move {
                let msg: Vec<u8> = (0..size).map(|j| (i + j) as u8).collect();
                let mut back = vec![0u8; size];
                let mut lat = Vec::new();
                loop {
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    s.write_all(&msg).await.expect("client write");
                    s.read_exact(&mut back).await.expect("client read");
                    let done = Instant::now();
                    if t >= record_from {
                        lat.push((done - t).as_nanos() as u64);
                    }
                }
                assert!(back == msg || lat.is_empty(), "echo changed the bytes");
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("client task"));
        }
        all.sort_unstable();
        crate::io::EchoResult {
            msgs: all.len() as u64,
            window: run,
            p50: crate::io::percentile(&all, 50.0),
            p99: crate::io::percentile(&all, 99.0),
        }
    })
}
