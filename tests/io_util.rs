//! `magpie::io`'s tokio-named surface on magpie's own I/O types: the traits, the
//! extension methods, the buffered wrappers, the copy helpers and the in-memory streams,
//! each used the way tokio documents it, over real sockets, pipes and files, on both
//! runtime flavours where a wake crosses threads.

#![cfg(feature = "tokio-io")]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use magpie::io::{
    self, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, BufReader, BufStream, BufWriter, ReadBuf, SeekFrom,
};
use magpie::net::{TcpListener, TcpStream, UnixStream};

/// A connected loopback TCP pair.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = magpie::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

/// Fails the test instead of hanging it.
async fn deadline<F: std::future::Future>(f: F) -> F::Output {
    magpie::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out: a wakeup was lost")
}

#[magpie::test]
async fn lines_read_line_read_until_and_split_over_tcp() {
    let (mut a, b) = tcp_pair().await;
    a.write_all(b"one\ntwo\r\nthree\nfour;five;six")
        .await
        .unwrap();
    a.shutdown().await.unwrap();

    let mut r = BufReader::with_capacity(4, b); // smaller than a line: refills mid-line
    let mut line = String::new();
    assert_eq!(r.read_line(&mut line).await.unwrap(), 4);
    assert_eq!(line, "one\n");
    let mut lines = r.lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("two"));
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("three"));
    let mut r = lines.into_inner();
    let mut until = Vec::new();
    r.read_until(b';', &mut until).await.unwrap();
    assert_eq!(until, b"four;");
    let mut parts = r.split(b';');
    assert_eq!(parts.next_segment().await.unwrap().unwrap(), b"five");
    assert_eq!(parts.next_segment().await.unwrap().unwrap(), b"six");
    assert_eq!(
        parts.next_segment().await.unwrap(),
        None,
        "EOF ends the segments"
    );
}

#[magpie::test]
async fn fill_buf_and_consume() {
    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"abcdef").await.unwrap();
    drop(a);
    let mut r = BufReader::new(b);
    let got = r.fill_buf().await.unwrap().to_vec();
    assert_eq!(got, b"abcdef");
    r.consume(4);
    assert_eq!(r.fill_buf().await.unwrap(), b"ef");
    r.consume(2);
    assert!(
        r.fill_buf().await.unwrap().is_empty(),
        "EOF is an empty buffer"
    );
}

#[magpie::test]
async fn every_integer_and_float_round_trips_in_both_byte_orders() {
    let (mut w, mut r) = UnixStream::pair().unwrap();
    let writer = magpie::spawn(async move {
        w.write_u8(0xab).await?;
        w.write_i8(-5).await?;
        w.write_u16(0x1234).await?;
        w.write_u16_le(0x1234).await?;
        w.write_i16(-1234).await?;
        w.write_u32(0xdead_beef).await?;
        w.write_i32_le(-7).await?;
        w.write_u64(u64::MAX - 1).await?;
        w.write_i64_le(i64::MIN).await?;
        w.write_u128(u128::MAX / 3).await?;
        w.write_i128_le(-3).await?;
        w.write_f32(1.5).await?;
        w.write_f64_le(-2.25).await?;
        w.flush().await
    });
    assert_eq!(r.read_u8().await.unwrap(), 0xab);
    assert_eq!(r.read_i8().await.unwrap(), -5);
    assert_eq!(r.read_u16().await.unwrap(), 0x1234);
    assert_eq!(r.read_u16_le().await.unwrap(), 0x1234);
    assert_eq!(r.read_i16().await.unwrap(), -1234);
    assert_eq!(r.read_u32().await.unwrap(), 0xdead_beef);
    assert_eq!(r.read_i32_le().await.unwrap(), -7);
    assert_eq!(r.read_u64().await.unwrap(), u64::MAX - 1);
    assert_eq!(r.read_i64_le().await.unwrap(), i64::MIN);
    assert_eq!(r.read_u128().await.unwrap(), u128::MAX / 3);
    assert_eq!(r.read_i128_le().await.unwrap(), -3);
    assert_eq!(r.read_f32().await.unwrap(), 1.5);
    assert_eq!(r.read_f64_le().await.unwrap(), -2.25);
    writer.await.unwrap().unwrap();
    // A short stream is `UnexpectedEof`, not a hang or a partial value.
    drop(r);
    let (mut w, mut r) = UnixStream::pair().unwrap();
    w.write_all(&[1, 2]).await.unwrap();
    drop(w);
    let err = r.read_u32().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[magpie::test]
async fn read_buf_fills_spare_capacity_without_a_zeroed_buffer() {
    let (mut a, mut b) = tcp_pair().await;
    a.write_all(&[7u8; 1000]).await.unwrap();
    drop(a);
    let mut v: Vec<u8> = Vec::with_capacity(64);
    let mut total = 0;
    loop {
        let n = b.read_buf(&mut v).await.unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 1000);
    assert_eq!(v, vec![7u8; 1000]);
}

#[magpie::test]
async fn write_vectored_write_buf_and_write_all_buf() {
    let (mut a, mut b) = tcp_pair().await;
    assert!(a.is_write_vectored(), "TcpStream forwards vectored writes");
    let bufs = [
        std::io::IoSlice::new(b"hello "),
        std::io::IoSlice::new(b"world"),
    ];
    let n = a.write_vectored(&bufs).await.unwrap();
    assert!(n > 0 && n <= 11);
    let mut rest: &[u8] = &b"hello world"[n..];
    a.write_all_buf(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    let mut chunk: &[u8] = b"!";
    assert_eq!(a.write_buf(&mut chunk).await.unwrap(), 1);
    drop(a);
    let mut s = String::new();
    b.read_to_string(&mut s).await.unwrap();
    assert_eq!(s, "hello world!");
}

/// A two-way proxy: client ⇄ proxy ⇄ server. Bytes both ways arrive intact, the counts
/// are right, and a half-close propagates (the server sees EOF and still answers).
#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_bidirectional_proxies_and_propagates_half_close() {
    let (mut client, mut proxy_front) = tcp_pair().await;
    let (mut proxy_back, mut server) = tcp_pair().await;
    let proxy =
        magpie::spawn(
            async move { io::copy_bidirectional(&mut proxy_front, &mut proxy_back).await },
        );
    let server = magpie::spawn(async move {
        let mut req = Vec::new();
        server.read_to_end(&mut req).await?; // ends only if the half-close got through
        server.write_all(&vec![b'r'; 3 * req.len()]).await?;
        server.shutdown().await?;
        io::Result::Ok(req.len())
    });
    let request = vec![b'q'; 200_000];
    client.write_all(&request).await.unwrap();
    client.shutdown().await.unwrap();
    let mut reply = Vec::new();
    deadline(client.read_to_end(&mut reply)).await.unwrap();
    assert_eq!(reply.len(), 600_000);
    assert!(reply.iter().all(|&b| b == b'r'));
    assert_eq!(server.await.unwrap().unwrap(), 200_000);
    let (up, down) = deadline(proxy).await.unwrap().unwrap();
    assert_eq!((up, down), (200_000, 600_000));
}

#[magpie::test]
async fn copy_and_copy_buf_from_a_file_to_a_socket() {
    let path = std::env::temp_dir().join(format!("magpie-io-util-copy-{}", std::process::id()));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    magpie::fs::write(&path, &data).await.unwrap();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let reader = magpie::spawn(async move {
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.map(|_| got)
    });
    let mut file = magpie::fs::File::open(&path).await.unwrap();
    assert_eq!(io::copy(&mut file, &mut a).await.unwrap(), 300_000);
    let mut buffered = BufReader::new(magpie::fs::File::open(&path).await.unwrap());
    assert_eq!(io::copy_buf(&mut buffered, &mut a).await.unwrap(), 300_000);
    drop(a);
    let got = reader.await.unwrap().unwrap();
    assert_eq!(got.len(), 600_000);
    assert_eq!(&got[..300_000], &data[..]);
    assert_eq!(&got[300_000..], &data[..]);
    magpie::fs::remove_file(&path).await.unwrap();
}

/// `fs::File` under tokio's traits: buffered writes, seeks that account for the
/// read-ahead, `start_seek` twice refused, `poll_complete` with no seek = position.
#[magpie::test]
async fn file_read_write_seek_through_tokio_traits() {
    let path = std::env::temp_dir().join(format!("magpie-io-util-file-{}", std::process::id()));
    let mut w = BufWriter::new(magpie::fs::File::create(&path).await.unwrap());
    for i in 0..1000u32 {
        w.write_u32(i).await.unwrap();
    }
    w.shutdown().await.unwrap(); // flushes the BufWriter and the File
    drop(w);

    let mut f = magpie::fs::File::open(&path).await.unwrap();
    assert_eq!(f.read_u32().await.unwrap(), 0); // leaves a read-ahead behind
    assert_eq!(
        f.stream_position().await.unwrap(),
        4,
        "read-ahead is not the position"
    );
    assert_eq!(f.seek(SeekFrom::Current(4 * 9)).await.unwrap(), 40);
    assert_eq!(f.read_u32().await.unwrap(), 10);
    assert_eq!(f.seek(SeekFrom::End(-4)).await.unwrap(), 3996);
    assert_eq!(f.read_u32().await.unwrap(), 999);
    f.rewind().await.unwrap();
    let mut all = Vec::new();
    f.read_to_end(&mut all).await.unwrap();
    assert_eq!(all.len(), 4000);

    let mut pinned = std::pin::pin!(f);
    pinned.as_mut().start_seek(SeekFrom::Start(8)).unwrap();
    let err = pinned.as_mut().start_seek(SeekFrom::Start(0)).unwrap_err();
    assert!(err.to_string().contains("poll_complete"), "{err}");
    let pos = std::future::poll_fn(|cx| pinned.as_mut().poll_complete(cx)).await;
    assert_eq!(pos.unwrap(), 8);
    let pos = std::future::poll_fn(|cx| pinned.as_mut().poll_complete(cx)).await;
    assert_eq!(pos.unwrap(), 8, "no seek started: the current position");
    assert_eq!(pinned.read_u32().await.unwrap(), 2);

    // A started seek that nobody completed (a cancelled `seek` future) still comes
    // before the next read, and is not run again by a later `stream_position`.
    pinned.as_mut().start_seek(SeekFrom::Start(400)).unwrap();
    assert_eq!(
        pinned.read_u32().await.unwrap(),
        100,
        "read at the started seek"
    );
    assert_eq!(pinned.stream_position().await.unwrap(), 404);
    magpie::fs::remove_file(&path).await.unwrap();
}

/// A writer blocked on a full duplex pipe is woken by a reader on another worker, and
/// dropping one end gives the other EOF / `BrokenPipe`.
#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplex_backpressure_wakes_across_workers_and_close_is_seen() {
    let (mut a, mut b) = io::duplex(16);
    let writer = magpie::spawn(async move {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        a.write_all(&data).await?; // blocks many times on the 16-byte buffer
        io::Result::Ok(a)
    });
    let mut got = vec![0u8; 10_000];
    deadline(b.read_exact(&mut got)).await.unwrap();
    assert!(got.iter().enumerate().all(|(i, &x)| x == i as u8));
    let a = writer.await.unwrap().unwrap();
    drop(a);
    let mut rest = Vec::new();
    assert_eq!(
        b.read_to_end(&mut rest).await.unwrap(),
        0,
        "peer dropped: EOF"
    );
    let err = b.write_all(b"x").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplex_is_one_way_with_backpressure() {
    let (mut rx, mut tx) = io::simplex(8);
    let writer = magpie::spawn(async move {
        tx.write_all(&[5u8; 1000]).await?;
        tx.shutdown().await
    });
    let mut got = Vec::new();
    deadline(rx.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got, vec![5u8; 1000]);
    writer.await.unwrap().unwrap();
}

#[magpie::test]
async fn split_and_unsplit_a_tcp_stream() {
    let (a, mut b) = tcp_pair().await;
    let (mut r, mut w) = io::split(a);
    w.write_all(b"ping").await.unwrap();
    let mut buf = [0; 4];
    b.read_exact(&mut buf).await.unwrap();
    b.write_all(b"pong").await.unwrap();
    r.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
    assert!(r.is_pair_of(&w));
    let a: TcpStream = r.unsplit(w);
    assert!(a.peer_addr().is_ok());
}

#[magpie::test]
async fn empty_sink_repeat_take_chain_join() {
    let mut s = String::new();
    io::empty().read_to_string(&mut s).await.unwrap();
    assert!(s.is_empty());
    assert_eq!(
        io::copy(&mut io::repeat(3).take(5000), &mut io::sink())
            .await
            .unwrap(),
        5000
    );

    let mut chained = (&b"ab"[..]).chain(&b"cd"[..]).take(3);
    let mut out = Vec::new();
    chained.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, b"abc");

    let (mut a, b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    let mut joined = io::join(b, c); // reads from `b`, writes to `c`
    a.write_all(b"in").await.unwrap();
    let mut two = [0; 2];
    joined.read_exact(&mut two).await.unwrap();
    assert_eq!(&two, b"in");
    joined.write_all(b"out").await.unwrap();
    let mut three = [0; 3];
    d.read_exact(&mut three).await.unwrap();
    assert_eq!(&three, b"out");
}

#[magpie::test]
async fn buf_stream_buffers_both_directions() {
    let (a, mut b) = tcp_pair().await;
    let mut s = BufStream::new(a);
    s.write_all(b"request\n").await.unwrap();
    let mut probe = [0u8; 1];
    let early = magpie::time::timeout(Duration::from_millis(50), b.read(&mut probe)).await;
    assert!(early.is_err(), "nothing reaches the socket before flush");
    s.flush().await.unwrap();
    let mut line = [0u8; 8];
    b.read_exact(&mut line).await.unwrap();
    assert_eq!(&line, b"request\n");
    b.write_all(b"reply\n").await.unwrap();
    let mut got = String::new();
    s.read_line(&mut got).await.unwrap();
    assert_eq!(got, "reply\n");
}

/// tokio code that implements the traits itself compiles against `magpie::io` names:
/// a reader that counts down, wrapped in a `BufReader`.
struct Countdown(u8);

impl AsyncRead for Countdown {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.0 > 0 && buf.remaining() > 0 {
            buf.put_slice(&[b'0' + self.0 % 10]);
            self.0 -= 1;
        }
        Poll::Ready(Ok(()))
    }
}

/// A writer that accepts one byte per call: `write_all` must loop.
struct OneByte(Vec<u8>);

impl AsyncWrite for OneByte {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.extend_from_slice(&buf[..buf.len().min(1)]);
        Poll::Ready(Ok(buf.len().min(1)))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[magpie::test]
async fn user_types_implement_the_magpie_io_traits() {
    let mut s = String::new();
    BufReader::new(Countdown(12))
        .read_to_string(&mut s)
        .await
        .unwrap();
    assert_eq!(s, "210987654321");
    let mut w = OneByte(Vec::new());
    w.write_all(b"bytes").await.unwrap();
    assert_eq!(w.0, b"bytes");
}

/// The futures-io family stays available for the futures ecosystem (its own module:
/// both families' extension traits in scope at once would make the calls ambiguous).
mod futures_family {
    use magpie::io::futures::{AsyncReadExt, AsyncWriteExt};
    use magpie::net::UnixStream;

    #[magpie::test]
    async fn the_futures_family_is_in_io_futures() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"fut").await.unwrap();
        a.close().await.unwrap();
        let mut v = Vec::new();
        b.read_to_end(&mut v).await.unwrap();
        assert_eq!(v, b"fut");
    }
}
