//! TCP echo workloads: server and load generator in separate processes.
//!
//! The `compare` runner re-executes itself as an echo **server** (`--echo-server RT`,
//! on magpie, tokio or smol) and as a **client** (`--echo-client RT PORT CONNS SIZE MS`), so
//! that one runtime never shares a process (or an allocator, or a thread pool) with the
//! one it measures. The client is the same program on the same runtime (tokio, see
//! [`CLIENT_RT`]) for every server: the only thing that changes between the
//! measurements is the server's runtime.
//!
//! Each client connection sends a `SIZE`-byte message, reads the echo back in full,
//! records the round trip, and repeats until the deadline; connections are opened one
//! at a time before the clock starts (a burst of SYNs can overflow the listen queue and
//! cost a 1 s retransmit), and the first [`WARMUP`] of each run is not recorded.
//!
//! Rows: `tcp_echo_{conns}c_{size}` is the time per echoed message (the inverse of
//! throughput; lower is better like every other row), `..._p50` and `..._p99` the
//! round-trip latency percentiles.

use std::time::Duration;

/// Connection counts and message sizes.
pub const ECHO_MATRIX: (&[usize], &[usize]) = (&[1, 64, 512], &[100, 16 * 1024]);

/// The runtime the load generator runs on, for every server.
pub const CLIENT_RT: &str = "tokio";

/// Not recorded at the start of each run.
pub const WARMUP: Duration = Duration::from_millis(200);

/// One client run's result.
#[derive(Clone, Debug, Default)]
pub struct EchoResult {
    /// Messages echoed in the recorded window.
    pub msgs: u64,
    /// Length of the recorded window.
    pub window: Duration,
    /// Median round trip.
    pub p50: Duration,
    /// 99th percentile round trip.
    pub p99: Duration,
}

impl EchoResult {
    /// The line a client child prints.
    pub fn to_line(&self) -> String {
        format!(
            "ECHO {} {} {} {}",
            self.msgs,
            self.window.as_nanos(),
            self.p50.as_nanos(),
            self.p99.as_nanos()
        )
    }

    /// Parses [`to_line`](Self::to_line)'s output.
    pub fn parse(line: &str) -> Option<EchoResult> {
        let mut it = line.strip_prefix("ECHO ")?.split_whitespace();
        let mut next = || it.next()?.parse::<u64>().ok();
        Some(EchoResult {
            msgs: next()?,
            window: Duration::from_nanos(next()?),
            p50: Duration::from_nanos(next()?),
            p99: Duration::from_nanos(next()?),
        })
    }

    /// Nanoseconds per echoed message.
    pub fn ns_per_msg(&self) -> f64 {
        self.window.as_nanos() as f64 / self.msgs.max(1) as f64
    }
}

/// Percentile `p` (0..=100) of sorted nanosecond samples.
pub fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    Duration::from_nanos(sorted[i])
}

/// Row-name label of a message size (`100b`, `16k`).
pub fn size_label(size: usize) -> String {
    if size % 1024 == 0 {
        format!("{}k", size / 1024)
    } else {
        format!("{size}b")
    }
}

/// The echo server and client, written once for both runtimes.
#[macro_export]
macro_rules! echo {
    ($rt:ident) => {
        use std::time::{Duration, Instant};
        use $rt::io::{AsyncReadExt as _, AsyncWriteExt as _};

        /// Serves echo on 127.0.0.1 (an ephemeral port, printed as `PORT n`) until
        /// stdin closes.
        pub fn serve(workers: usize) {
            // The parent holds our stdin; when it goes away (even by crashing), exit.
            std::thread::spawn(|| {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
                std::process::exit(0);
            });
            let rt = $rt::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("build server runtime");
            rt.block_on(async {
                let listener = $rt::net::TcpListener::bind("127.0.0.1:0")
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
                            $rt::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = s.set_nodelay(true);
                    $rt::spawn(async move {
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
        ) -> $crate::io::EchoResult {
            let rt = $rt::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("build client runtime");
            rt.block_on(async move {
                let mut streams = Vec::with_capacity(conns);
                for _ in 0..conns {
                    let s = $rt::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .expect("connect to the echo server");
                    s.set_nodelay(true).expect("nodelay");
                    streams.push(s);
                }
                let start = Instant::now();
                let record_from = start + $crate::io::WARMUP;
                let end = record_from + run;
                let mut tasks = Vec::with_capacity(conns);
                for (i, mut s) in streams.into_iter().enumerate() {
                    tasks.push($rt::spawn(async move {
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
                $crate::io::EchoResult {
                    msgs: all.len() as u64,
                    window: run,
                    p50: $crate::io::percentile(&all, 50.0),
                    p99: $crate::io::percentile(&all, 99.0),
                }
            })
        }
    };
}

/// The echo server and client on magpie.
pub mod on_magpie {
    #![allow(missing_docs)]
    crate::echo!(magpie);
}

/// The echo server and client on tokio.
pub mod on_tokio {
    #![allow(missing_docs)]
    crate::echo!(tokio);
}

/// The echo server on smol (its API differs, so it is written out): one executor on
/// `workers` threads, each in `smol::block_on` so that idle workers drive async-io's
/// reactor, as in [`crate::on_smol`]. The client stays on [`CLIENT_RT`].
pub mod on_smol {
    use std::sync::Arc;
    use std::time::Duration;

    use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Serves echo on 127.0.0.1 (an ephemeral port, printed as `PORT n`) until stdin
    /// closes.
    pub fn serve(workers: usize) {
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            std::process::exit(0);
        });
        let ex = Arc::new(smol::Executor::new());
        for i in 0..workers {
            let ex = ex.clone();
            std::thread::Builder::new()
                .name(format!("smol-worker-{i}"))
                .spawn(move || smol::block_on(ex.run(std::future::pending::<()>())))
                .expect("spawn smol worker");
        }
        smol::block_on(async {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0")
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
                        smol::Timer::after(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = s.set_nodelay(true);
                ex.spawn(async move {
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
                })
                .detach();
            }
        });
    }
}
