//! File workloads: a page-cached 100 MiB file read through the runtime's `fs::File`.
//!
//! Compiled once per runtime crate; `super::rt` is `magpie` or `tokio` (crate docs).

use std::time::{Duration, Instant};

use super::rt;
use crate::Size;
use rt::runtime::Runtime;

/// Reads the shared 100 MiB file (page-cached after its creation) through
/// `rt::fs::File` with `buf_len`-byte reads, checking the length and a checksum.
fn fs_read(size: Size, buf_len: usize, rt: &Runtime) -> Duration {
    use rt::io::AsyncReadExt as _;
    let (path, len) = crate::fs_fixture(size);
    rt.block_on(async {
        let mut buf = vec![0u8; buf_len];
        let t = Instant::now();
        let mut f = rt::fs::File::open(path).await.expect("open fixture");
        let mut total = 0usize;
        loop {
            let n = f.read(&mut buf).await.expect("read fixture");
            if n == 0 {
                break;
            }
            // Spot-check content: the fixture's byte at offset i is i % 253.
            assert_eq!(buf[n - 1], ((total + n - 1) % 253) as u8);
            total += n;
        }
        let d = t.elapsed();
        assert_eq!(total, len);
        d
    })
}

/// 100 MiB read through `fs::File` with 64 KiB reads (the read-ahead's case is
/// the next workload; this one is a typical streaming buffer).
pub fn fs_read_100mib(rt: &Runtime, size: Size) -> Duration {
    fs_read(size, 64 * 1024, rt)
}

/// 100 MiB read through `fs::File` with 8 KiB reads (a `BufReader`-sized
/// buffer): one blocking-pool round trip per read unless reads are batched.
pub fn fs_read_100mib_8k_reads(rt: &Runtime, size: Size) -> Duration {
    fs_read(size, 8 * 1024, rt)
}
