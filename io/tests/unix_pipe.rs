//! `net::unix::pipe`: anonymous pipes and FIFOs, as tokio documents them.

mod common;

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use common::{run, spawn};
use magpie_io::net::unix::pipe::{self, OpenOptions};
use magpie_io::{AsyncReadExt, AsyncWriteExt};

fn fifo(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("magpie-io-fifo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    p
}

fn would_block<T: std::fmt::Debug>(r: io::Result<T>) -> bool {
    matches!(r, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
}

#[test]
fn anonymous_pipe_round_trip_and_eof() {
    run(async {
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        let mut buf = [0u8; 16];
        assert!(would_block(rx.try_read(&mut buf)));
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let expected = data.clone();
        spawn(async move {
            tx.write_all(&data).await.unwrap();
            // Dropping the sender closes the pipe: the receiver reads EOF.
        });
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        assert!(
            got == expected,
            "{} bytes back of {}",
            got.len(),
            expected.len()
        );
    });
}

#[test]
fn fifo_receiver_then_sender() {
    run(async {
        let path = fifo("rs");
        let rx = OpenOptions::new().open_receiver(&path).unwrap();
        let tx = OpenOptions::new().open_sender(&path).unwrap();
        tx.writable().await.unwrap();
        assert_eq!(tx.try_write(b"fifo").unwrap(), 4);
        rx.readable().await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(rx.try_read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"fifo");
        drop(tx);
        rx.readable().await.unwrap();
        assert_eq!(
            rx.try_read(&mut buf).unwrap(),
            0,
            "EOF after the writer left"
        );
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn fifo_sender_without_reader_is_enxio_unless_read_write() {
    run(async {
        let path = fifo("enxio");
        let err = OpenOptions::new().open_sender(&path).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENXIO));
        let tx = OpenOptions::new()
            .read_write(true)
            .open_sender(&path)
            .unwrap();
        tx.writable().await.unwrap();
        assert_eq!(tx.try_write(b"x").unwrap(), 1);
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn a_regular_file_is_not_a_fifo() {
    run(async {
        let path = std::env::temp_dir().join(format!("magpie-io-notfifo-{}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let err = OpenOptions::new().open_receiver(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let _ = std::fs::remove_file(&path);
    });
}
