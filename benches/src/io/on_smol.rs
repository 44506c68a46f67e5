//! The echo server on smol (its API differs, so it is written out): one executor on
//! `workers` threads, each in `smol::block_on` so that idle workers drive async-io's
//! reactor, as in [`crate::on_smol`]. The client stays on [`crate::io::CLIENT_RT`].

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
