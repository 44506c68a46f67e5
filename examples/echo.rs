//! A TCP echo server: `cargo run --example echo [ADDR]` (default 127.0.0.1:7878), then
//! `nc 127.0.0.1 7878` in another terminal. With `--selftest` it starts the server,
//! connects 64 clients to it, checks every echoed byte and exits.

#[path = "common/args.rs"]
mod args;

use magpie::io::{AsyncReadExt, AsyncWriteExt};
use magpie::net::{TcpListener, TcpStream};
use std::io;

async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: report and keep serving (the listener stays
                // registered; the next accept waits for readiness, no spinning).
                eprintln!("accept failed: {e}");
                magpie::time::sleep(magpie::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        magpie::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => {
                        if let Err(e) = stream.write_all(&buf[..n]).await {
                            eprintln!("{peer}: write failed: {e}");
                            break;
                        }
                    }
                    Err(e) => {
                        eprintln!("{peer}: read failed: {e}");
                        break;
                    }
                }
            }
        });
    }
}

async fn selftest(addr: std::net::SocketAddr) -> io::Result<()> {
    let clients: Vec<_> = (0..64u32)
        .map(|i| {
            magpie::spawn(async move {
                let mut s = TcpStream::connect(addr).await?;
                let msg: Vec<u8> = (0..4096u32).map(|j| (i * 31 + j) as u8).collect();
                s.write_all(&msg).await?;
                let mut back = vec![0u8; msg.len()];
                s.read_exact(&mut back).await?;
                assert_eq!(back, msg, "client {i}: echo differs");
                io::Result::Ok(())
            })
        })
        .collect();
    for c in clients {
        c.await.map_err(io::Error::from)??;
    }
    println!("selftest: 64 clients echoed 4 KiB each, every byte checked");
    Ok(())
}

#[magpie::main]
async fn main() -> io::Result<()> {
    let mut args = args::Args::parse("usage: echo [ADDR] [--selftest]");
    let test = args.flag("--selftest");
    let addr: Option<std::net::SocketAddr> = args.positional("ADDR");
    args.finish();
    let default = if test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:7878"
    };
    let addr = addr.unwrap_or_else(|| default.parse().expect("a valid default address"));
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let server = magpie::spawn(serve(listener));
    if test {
        selftest(local).await?;
        server.abort();
        return Ok(());
    }
    println!("echo server listening on {local}");
    server.await.map_err(io::Error::from)?
}
