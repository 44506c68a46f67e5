//! magpie-fs on a real runtime: round trips, errors, the File state machine (read-ahead,
//! write batching, seeks mixed with both), directory listing, and the round-trip
//! counts that show batching.

use futures_core::Stream;
use magpie_fs::{File, OpenOptions};
use magpie_io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use magpie_runtime::runtime::{Builder, Handle, Runtime};
use std::future::{Future, poll_fn};
use std::io::{ErrorKind, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

fn rt() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh directory per test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("magpie-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes that differ at every offset modulo a prime, so that a misplaced chunk shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed.wrapping_mul(31))
        .collect()
}

fn spawned() -> u64 {
    Handle::current().metrics().blocking_tasks_spawned()
}

#[test]
fn whole_file_round_trips() {
    let dir = TempDir::new("whole");
    rt().block_on(async {
        let a = dir.path("a.bin");
        let data = pattern(3 << 20, 1);
        magpie_fs::write(&a, &data).await.unwrap();
        assert_eq!(magpie_fs::read(&a).await.unwrap(), data);
        assert_eq!(magpie_fs::metadata(&a).await.unwrap().len(), 3 << 20);

        let b = dir.path("b.bin");
        assert_eq!(magpie_fs::copy(&a, &b).await.unwrap(), 3 << 20);
        let c = dir.path("c.bin");
        magpie_fs::rename(&b, &c).await.unwrap();
        assert!(!magpie_fs::try_exists(&b).await.unwrap());
        assert_eq!(magpie_fs::read(&c).await.unwrap(), data);
        magpie_fs::remove_file(&c).await.unwrap();
        assert!(!magpie_fs::try_exists(&c).await.unwrap());

        magpie_fs::write(&a, "héllo").await.unwrap();
        assert_eq!(magpie_fs::read_to_string(&a).await.unwrap(), "héllo");
        magpie_fs::write(&a, [0xff, 0xfe]).await.unwrap();
        let err = magpie_fs::read_to_string(&a).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);

        let nested = dir.path("x/y/z");
        magpie_fs::create_dir_all(&nested).await.unwrap();
        assert!(magpie_fs::metadata(&nested).await.unwrap().is_dir());
        magpie_fs::symlink(&a, dir.path("link")).await.unwrap();
        assert_eq!(magpie_fs::read_link(dir.path("link")).await.unwrap(), a);
        assert!(
            magpie_fs::symlink_metadata(dir.path("link"))
                .await
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            magpie_fs::canonicalize(dir.path("link")).await.unwrap(),
            std::fs::canonicalize(&a).unwrap()
        );
        magpie_fs::remove_dir_all(dir.path("x")).await.unwrap();
        assert!(!magpie_fs::try_exists(dir.path("x")).await.unwrap());
    });
}

#[test]
fn errors_surface_as_io_errors() {
    let dir = TempDir::new("errors");
    rt().block_on(async {
        let missing = dir.path("missing");
        assert_eq!(
            magpie_fs::read(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            File::open(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            magpie_fs::remove_file(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            magpie_fs::read_dir(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            magpie_fs::create_dir(dir.path("a/b"))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        magpie_fs::write(dir.path("f"), b"x").await.unwrap();
        assert_eq!(
            File::create_new(dir.path("f")).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );

        // PermissionDenied. Root ignores file modes, so as root use a place no one may
        // create files in (sysfs refuses creation with EACCES).
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let denied = if root {
            PathBuf::from("/sys/kernel/magpie-fs-test")
        } else {
            let locked = dir.path("locked");
            std::fs::create_dir(&locked).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
            locked.join("f")
        };
        let err = magpie_fs::write(&denied, b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        let err = File::create(&denied).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    });
}

#[test]
fn outside_a_runtime_is_an_error_not_a_panic() {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut fut = std::pin::pin!(magpie_fs::read("/etc/hostname"));
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(e)) => {
            assert!(e.to_string().contains("needs a magpie runtime"), "{e}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn small_reads_are_batched() {
    let dir = TempDir::new("batched-read");
    let path = dir.path("big");
    let data = pattern(8 << 20, 2);
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let before = spawned();
        let mut out = Vec::with_capacity(data.len());
        let mut buf = [0u8; 8192];
        let mut reads = 0;
        loop {
            let n = f.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            reads += 1;
            out.extend_from_slice(&buf[..n]);
        }
        let trips = spawned() - before;
        assert_eq!(out.len(), data.len());
        assert!(out == data, "bytes differ");
        assert_eq!(reads, 1024);
        // 64K, 128K, ... 2M, then 2M chunks: 8 MiB takes 5 + 3 = 8 reads, plus one that
        // sees the end of file. One round trip per 8 KiB read would be 1025.
        assert!(trips <= 12, "{trips} blocking round trips for 1024 reads");
    });
}

#[test]
fn small_writes_are_batched_and_land_in_order() {
    let dir = TempDir::new("batched-write");
    let path = dir.path("out");
    rt().block_on(async {
        let mut f = File::create(&path).await.unwrap();
        let before = spawned();
        let mut expect = Vec::new();
        for i in 0..20_000u32 {
            let line = format!("line {i}\n");
            f.write_all(line.as_bytes()).await.unwrap();
            expect.extend_from_slice(line.as_bytes());
        }
        f.flush().await.unwrap();
        let trips = spawned() - before;
        assert_eq!(std::fs::read(&path).unwrap(), expect);
        // Writes made while one is in flight join the next batch. How many batches
        // depends on the pool's speed, but far fewer than one per write.
        assert!(trips < 20_000 / 4, "{trips} round trips for 20,000 writes");
    });
}

#[test]
fn write_after_read_ahead_lands_at_the_logical_position() {
    let dir = TempDir::new("mixed");
    let path = dir.path("f");
    let data = pattern(1 << 20, 3);
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut head = [0u8; 100];
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[..100]);
        // The read fetched 64 KiB ahead; the logical position is still 100.
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 100);
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[100..200]);
        // Write at 200 after a read-ahead: must not land at 64 KiB.
        f.write_all(&[0xAA; 100]).await.unwrap();
        f.flush().await.unwrap();
        // And reading continues after the written bytes.
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[300..400]);
        // Seek relative to the logical position, backwards over the written bytes.
        assert_eq!(f.seek(SeekFrom::Current(-200)).await.unwrap(), 200);
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(head, [0xAA; 100]);
        assert_eq!(f.seek(SeekFrom::End(-10)).await.unwrap(), (1 << 20) - 10);
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).await.unwrap();
        assert_eq!(tail, &data[data.len() - 10..]);

        let mut expect = data.clone();
        expect[200..300].fill(0xAA);
        assert!(std::fs::read(&path).unwrap() == expect);

        // set_len after a read-ahead keeps the logical position.
        f.seek(SeekFrom::Start(0)).await.unwrap();
        f.read_exact(&mut head[..10]).await.unwrap();
        f.set_len(50).await.unwrap();
        f.write_all(b"xy").await.unwrap();
        f.sync_all().await.unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 50);
        assert_eq!(&got[10..12], b"xy");
        assert_eq!(f.metadata().await.unwrap().len(), 50);

        // into_std leaves the OS offset at the logical position (12).
        let mut std = f.into_std().await.unwrap();
        use std::io::Seek;
        assert_eq!(std.stream_position().unwrap(), 12);
    });
}

#[test]
fn background_write_error_is_reported_by_flush() {
    let dir = TempDir::new("write-error");
    let path = dir.path("ro");
    std::fs::write(&path, b"read only").unwrap();
    rt().block_on(async {
        // Opened read-only: the write is accepted into the buffer, the OS write fails
        // with EBADF in the background, and flush reports it.
        let mut f = File::open(&path).await.unwrap();
        let accepted = f.write(b"nope").await;
        let flushed = f.flush().await;
        assert!(
            accepted.is_err() || flushed.is_err(),
            "a write to a read-only file must fail somewhere"
        );
        // The error is reported once; the file is usable afterwards.
        f.flush().await.unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "read only");
    });
}

#[test]
fn unflushed_writes_still_land_when_the_file_is_dropped() {
    let dir = TempDir::new("drop");
    let path = dir.path("f");
    let rt = rt();
    let expect = rt.block_on(async {
        let mut f = File::create(&path).await.unwrap();
        let mut expect = Vec::new();
        for i in 0..5_000u32 {
            let line = format!("{i},");
            f.write_all(line.as_bytes()).await.unwrap();
            expect.extend_from_slice(line.as_bytes());
        }
        drop(f);
        expect
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read(&path).unwrap() != expect {
        assert!(
            Instant::now() < deadline,
            "dropped File lost its buffered writes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn read_dir_lists_every_entry_in_batches() {
    let dir = TempDir::new("readdir");
    for i in 0..100 {
        std::fs::write(dir.path(&format!("f{i:03}")), b"").unwrap();
    }
    std::fs::create_dir(dir.path("sub")).unwrap();
    rt().block_on(async {
        let before = spawned();
        let mut rd = magpie_fs::read_dir(&dir.0).await.unwrap();
        let mut names = Vec::new();
        let mut dirs = 0;
        while let Some(e) = rd.next_entry().await.unwrap() {
            assert_eq!(e.path(), dir.0.join(e.file_name()));
            if e.file_type().await.unwrap().is_dir() {
                dirs += 1;
            }
            names.push(e.file_name().into_string().unwrap());
        }
        let trips = spawned() - before;
        names.sort();
        let mut expect: Vec<String> = (0..100).map(|i| format!("f{i:03}")).collect();
        expect.push("sub".into());
        assert_eq!(names, expect);
        assert_eq!(dirs, 1);
        // 101 entries, 32 per round trip: 4 batches (the first with the open).
        assert!(trips <= 5, "{trips} round trips for 101 entries");
        assert!(rd.next_entry().await.unwrap().is_none(), "end is sticky");

        // The Stream impl sees the same entries.
        let mut rd = magpie_fs::read_dir(&dir.0).await.unwrap();
        let mut n = 0;
        while let Some(e) = poll_fn(|cx| Pin::new(&mut rd).poll_next(cx)).await {
            e.unwrap();
            n += 1;
        }
        assert_eq!(n, 101);
    });
}

#[test]
fn many_tasks_use_files_at_once() {
    let dir = TempDir::new("concurrent");
    let rt = rt();
    rt.block_on(async {
        let mut handles = Vec::new();
        for t in 0..32u8 {
            let path = dir.path(&format!("t{t}"));
            handles.push(magpie_runtime::spawn(async move {
                let data = pattern(200_000 + t as usize * 1000, t);
                let mut f = File::create(&path).await.unwrap();
                for chunk in data.chunks(7_000) {
                    f.write_all(chunk).await.unwrap();
                }
                f.flush().await.unwrap();
                drop(f);
                let mut back = Vec::new();
                File::open(&path)
                    .await
                    .unwrap()
                    .read_to_end(&mut back)
                    .await
                    .unwrap();
                assert!(back == data, "task {t}: bytes differ");
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn current_thread_runtime_works_too() {
    let dir = TempDir::new("ct");
    let path = dir.path("f");
    Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let mut f = File::create(&path).await.unwrap();
            f.write_all(&pattern(300_000, 9)).await.unwrap();
            f.flush().await.unwrap();
            assert_eq!(magpie_fs::read(&path).await.unwrap(), pattern(300_000, 9));
        });
}
