//! tokio-tungstenite on magpie (tokio's traits on magpie's `TcpStream`): an echo server
//! and 100 concurrent clients, every message checked, the close handshake completed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{SinkExt, StreamExt};
use magpie::net::{TcpListener, TcpStream};
use magpie_ecosystem::{assert_no_tokio, deadline};
use tokio_tungstenite::tungstenite::Message;

/// The echo server; the counter counts connections that ended with a close handshake.
async fn echo_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = closed.clone();
    magpie::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            magpie::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
                let mut saw_close = false;
                // After the client's Close, tungstenite answers it and ends the stream.
                while let Some(msg) = ws.next().await {
                    let msg = msg.unwrap();
                    if msg.is_text() || msg.is_binary() {
                        ws.send(msg).await.unwrap();
                    } else if msg.is_close() {
                        saw_close = true;
                    }
                }
                if saw_close {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, closed)
}

async fn client(addr: SocketAddr, id: usize) {
    assert_no_tokio();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{addr}/echo"), stream)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    for i in 0..10 {
        let text = format!("client {id} message {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.to_text().unwrap(), text);
    }
    let blob: Vec<u8> = (0..4096).map(|b| (b * 31 + id) as u8).collect();
    ws.send(Message::binary(blob.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap().into_data(), blob);
    // Close handshake: our Close, the server's Close back, then the end.
    ws.close(None).await.unwrap();
    let mut got_close = false;
    while let Some(msg) = ws.next().await {
        got_close |= msg.unwrap().is_close();
    }
    assert!(got_close, "client {id}: no Close frame came back");
}

#[magpie::test(flavor = "multi_thread", worker_threads = 4)]
async fn echo_with_100_concurrent_clients_and_close_handshakes() {
    assert_no_tokio();
    deadline(60, async {
        let (addr, closed) = echo_server().await;
        let clients: Vec<_> = (0..100).map(|id| magpie::spawn(client(addr, id))).collect();
        for c in clients {
            c.await.unwrap();
        }
        // Every server side saw the Close and ended its loop.
        while closed.load(Ordering::SeqCst) < 100 {
            magpie::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(closed.load(Ordering::SeqCst), 100);
    })
    .await;
}
