//! The cost of one echo round trip on magpie's I/O path, in units that do not depend
//! on the machine's load: heap allocations per message (counted here) and, run under
//! `valgrind --tool=callgrind` or `strace -c`, instructions and syscalls per message.
//!
//! ```text
//! echo_cost [ITERS] [futures|tokio]
//! ```
//!
//! One current-thread runtime, a loopback TCP connection, an echo task; the main task
//! writes 64 bytes and reads them back ITERS times (after a warm-up of 100). Run it at
//! two ITERS values and divide the difference by the difference in ITERS to cancel the
//! setup: `valgrind --tool=callgrind target/release/echo_cost 2000` and `... 4000`.
//! `futures` (default) drives the socket through futures-io's traits, `tokio` through
//! tokio's (`magpie::io`'s names).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use magpie::net::{TcpListener, TcpStream};

/// Counts every allocation (and reallocation) made by the process.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` (every allocation goes through `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as `dealloc`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: u64 = 100;
const SIZE: usize = 64;

fn usage() -> ! {
    eprintln!("usage: echo_cost [ITERS] [futures|tokio]");
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iters: u64 = match args.next() {
        Some(v) => v.parse().unwrap_or_else(|_| usage()),
        None => 10_000,
    };
    let family = args.next().unwrap_or_else(|| "futures".into());
    if args.next().is_some() || !["futures", "tokio"].contains(&family.as_str()) {
        usage();
    }
    let rt = magpie::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let tokio = family == "tokio";
    let allocs = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (client, accepted) = magpie::join!(TcpStream::connect(addr), listener.accept());
        let (client, server) = (client.expect("connect"), accepted.expect("accept").0);
        client.set_nodelay(true).expect("nodelay");
        server.set_nodelay(true).expect("nodelay");
        if tokio {
            tokio_family::run(client, server, iters).await
        } else {
            futures_family::run(client, server, iters).await
        }
    });
    println!(
        "{family}: {iters} echoes of {SIZE} bytes, {allocs} allocations in the loop ({:.3} per message)",
        allocs as f64 / iters as f64
    );
}

/// The client loop: `WARM_UP` echoes, then `iters` counted ones. Returns the number of
/// allocations made during the counted ones.
macro_rules! echo_loop {
    ($client:expr, $server:expr, $iters:expr) => {{
        let (mut client, mut server) = ($client, $server);
        magpie::spawn(async move {
            let mut buf = [0u8; SIZE];
            while server.read_exact(&mut buf).await.is_ok() {
                if server.write_all(&buf).await.is_err() {
                    break;
                }
            }
        });
        let out = [7u8; SIZE];
        let mut back = [0u8; SIZE];
        let mut before = 0;
        for i in 0..WARM_UP + $iters {
            if i == WARM_UP {
                before = ALLOCS.load(Ordering::Relaxed);
            }
            client.write_all(&out).await.expect("write");
            client.read_exact(&mut back).await.expect("read");
        }
        ALLOCS.load(Ordering::Relaxed) - before
    }};
}

mod futures_family {
    use super::*;
    use magpie::io::futures::{AsyncReadExt, AsyncWriteExt};

    pub async fn run(client: TcpStream, server: TcpStream, iters: u64) -> u64 {
        echo_loop!(client, server, iters)
    }
}

mod tokio_family {
    use super::*;
    use magpie::io::{AsyncReadExt, AsyncWriteExt};

    pub async fn run(client: TcpStream, server: TcpStream, iters: u64) -> u64 {
        echo_loop!(client, server, iters)
    }
}
