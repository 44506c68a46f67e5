//! redis-rs on magpie: a `MultiplexedConnection` over a magpie `TcpStream` shared by 64
//! tasks, pub/sub over RESP3 pushes, the server killed, the pool reconnecting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use magpie::pool::Pool;
use magpie_ecosystem::redis_conn::{RedisManager, config, connect};
use magpie_ecosystem::servers::RedisInstance;
use magpie_ecosystem::{assert_no_tokio, deadline, service_env};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, ProtocolVersion, PushKind, RedisConnectionInfo, Value};

fn shared_addr() -> SocketAddr {
    service_env("MAGPIE_REDIS_ADDR")
        .parse()
        .expect("MAGPIE_REDIS_ADDR")
}

async fn shared() -> MultiplexedConnection {
    connect(shared_addr(), &RedisConnectionInfo::default(), config())
        .await
        .expect("connect to the shared Redis")
}

#[magpie::test(flavor = "multi_thread", worker_threads = 4)]
async fn set_get_incr_from_64_tasks_on_one_multiplexed_connection() {
    assert_no_tokio();
    deadline(60, async {
        let conn = shared().await;
        let prefix = format!("magpie-{}", std::process::id());
        let counter = format!("{prefix}:counter");
        let _: () = conn.clone().del(&counter).await.unwrap();
        let mut tasks = Vec::new();
        for task in 0..64u32 {
            let (mut conn, prefix, counter) = (conn.clone(), prefix.clone(), counter.clone());
            tasks.push(magpie::spawn(async move {
                assert_no_tokio();
                for round in 0..10u32 {
                    let key = format!("{prefix}:{task}:{round}");
                    let value = format!("value {task} {round}");
                    let _: () = conn.set(&key, &value).await.unwrap();
                    let got: String = conn.get(&key).await.unwrap();
                    assert_eq!(got, value);
                    let _: i64 = conn.incr(&counter, 1).await.unwrap();
                    let _: () = conn.del(&key).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let total: i64 = conn.clone().get(&counter).await.unwrap();
        assert_eq!(total, 640);
        let _: () = conn.clone().del(&counter).await.unwrap();
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_sub_over_resp3_pushes() {
    assert_no_tokio();
    deadline(30, async {
        let channel = format!("magpie-chan-{}", std::process::id());
        let (tx, mut rx) = magpie::sync::mpsc::unbounded_channel();
        let resp3 = RedisConnectionInfo::default().set_protocol(ProtocolVersion::RESP3);
        let mut subscriber = connect(
            shared_addr(),
            &resp3,
            config().set_push_sender(move |push| tx.send(push)),
        )
        .await
        .unwrap();
        subscriber.subscribe(&channel).await.unwrap();
        let mut publisher = shared().await;
        for i in 0..20 {
            let receivers: i64 = publisher
                .publish(&channel, format!("message {i}"))
                .await
                .unwrap();
            assert_eq!(receivers, 1);
        }
        let mut got = Vec::new();
        while got.len() < 20 {
            let push = rx.recv().await.expect("the push sender was dropped");
            match push.kind {
                PushKind::Subscribe => continue,
                PushKind::Message => {
                    assert_eq!(
                        push.data[0],
                        Value::BulkString(channel.clone().into_bytes())
                    );
                    match &push.data[1] {
                        Value::BulkString(b) => got.push(String::from_utf8(b.clone()).unwrap()),
                        other => panic!("unexpected payload {other:?}"),
                    }
                }
                other => panic!("unexpected push {other:?}"),
            }
        }
        let expected: Vec<String> = (0..20).map(|i| format!("message {i}")).collect();
        assert_eq!(got, expected, "every message, in order");
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_is_an_error_not_a_hang() {
    assert_no_tokio();
    let mut server = magpie::task::spawn_blocking(RedisInstance::start)
        .await
        .unwrap();
    let addr = server.addr();
    deadline(30, async move {
        let mut conn = connect(addr, &RedisConnectionInfo::default(), config())
            .await
            .unwrap();
        let _: () = conn.set("k", "v").await.unwrap();
        // A blocking command in flight when the server dies fails too.
        let mut blocked = conn.clone();
        let pending = magpie::spawn(async move {
            blocked
                .blpop::<_, Option<(String, String)>>("never", 30.0)
                .await
        });
        magpie::time::sleep(Duration::from_millis(100)).await;
        server.kill();
        assert!(
            pending.await.unwrap().is_err(),
            "BLPOP survived the server's death"
        );
        let err = conn.get::<_, String>("k").await.unwrap_err();
        eprintln!("after the kill: {err}");
        assert!(
            connect(addr, &RedisConnectionInfo::default(), config())
                .await
                .is_err()
        );
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_reconnects_after_a_server_restart() {
    assert_no_tokio();
    let server = magpie::task::spawn_blocking(RedisInstance::start)
        .await
        .unwrap();
    let server = Arc::new(std::sync::Mutex::new(server));
    let addr = server.lock().unwrap().addr();
    deadline(60, async move {
        let pool = Pool::builder(RedisManager::new(addr))
            .max_size(2)
            .acquire_timeout(Some(Duration::from_secs(10)))
            .build();
        {
            let mut conn = pool.get().await.unwrap();
            let _: () = conn.set("k", "before").await.unwrap();
        }
        let restart = server.clone();
        magpie::task::spawn_blocking(move || {
            let mut s = restart.lock().unwrap();
            s.kill();
            s.start_again();
        })
        .await
        .unwrap();
        // The idle connection fails its PING; the pool connects to the new server.
        let mut conn = pool.get().await.unwrap();
        let gone: Option<String> = conn.get("k").await.unwrap();
        assert_eq!(gone, None, "a fresh server (no persistence)");
        let _: () = conn.set("k", "after").await.unwrap();
        assert_eq!(conn.get::<_, String>("k").await.unwrap(), "after");
        assert_eq!(pool.status().size, 1);
    })
    .await;
}
