//! tokio-postgres on magpie: TCP and Unix sockets, DDL, prepared statements, a
//! rolled-back transaction, 1,000 pipelined inserts from 16 tasks, a query cut by
//! `magpie::time::timeout`, the server stopped mid-query, and the pool reconnecting
//! after a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use magpie::net::TcpStream;
use magpie::pool::Pool;
use magpie_ecosystem::pg::{PgManager, connect_tcp, connect_unix};
use magpie_ecosystem::servers::PgInstance;
use magpie_ecosystem::{assert_no_tokio, deadline, service_env};
use tokio_postgres::{Client, Config, NoTls};

/// The shared server's configuration (`MAGPIE_PG_URL`) and TCP address.
fn shared() -> (Config, std::net::SocketAddr) {
    let config: Config = service_env("MAGPIE_PG_URL").parse().expect("MAGPIE_PG_URL");
    let port = config.get_ports()[0];
    (config, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

async fn shared_client() -> Client {
    let (config, addr) = shared();
    connect_tcp(&config, addr)
        .await
        .expect("connect to the shared PostgreSQL")
}

/// A table name of this test alone (the tests share one database and run in parallel).
fn table(name: &str) -> String {
    format!("{name}_{}", std::process::id())
}

#[magpie::test]
async fn ddl_prepared_statements_and_a_rolled_back_transaction() {
    assert_no_tokio();
    deadline(60, async {
        let mut client = shared_client().await;
        let t = table("items");
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id INT PRIMARY KEY, name TEXT NOT NULL)"
            ))
            .await
            .unwrap();
        let insert = client
            .prepare(&format!("INSERT INTO {t} (id, name) VALUES ($1, $2)"))
            .await
            .unwrap();
        for i in 0..10i32 {
            client.execute(&insert, &[&i, &format!("item {i}")]).await.unwrap();
        }
        let by_id = client
            .prepare(&format!("SELECT name FROM {t} WHERE id = $1"))
            .await
            .unwrap();
        let row = client.query_one(&by_id, &[&7i32]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "item 7");

        // A transaction rolled back leaves nothing behind.
        let tx = client.transaction().await.unwrap();
        tx.execute(&format!("INSERT INTO {t} VALUES (100, 'ghost')"), &[]).await.unwrap();
        tx.execute(&format!("DELETE FROM {t} WHERE id < 5"), &[]).await.unwrap();
        let inside: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(inside, 6);
        tx.rollback().await.unwrap();
        let after: i64 = client
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(after, 10, "the rollback restored every row");

        // A constraint violation is an error, and the connection stays usable.
        let dup = client.execute(&insert, &[&1i32, &"again"]).await.unwrap_err();
        assert_eq!(dup.code(), Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION));
        client.batch_execute(&format!("DROP TABLE {t}")).await.unwrap();
    })
    .await;
}

#[magpie::test]
async fn over_a_unix_socket() {
    assert_no_tokio();
    deadline(30, async {
        let (config, addr) = shared();
        let dir = PathBuf::from(service_env("MAGPIE_PG_SOCKET"));
        let client = connect_unix(&config, &dir, addr.port()).await.unwrap();
        let row = client
            .query_one("SELECT current_user, $1::TEXT", &[&"unix"])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "magpie");
        assert_eq!(row.get::<_, String>(1), "unix");
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_inserts_from_16_tasks_on_one_pipelined_connection() {
    assert_no_tokio();
    deadline(60, async {
        let client = Arc::new(shared_client().await);
        let t = table("pipelined");
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id INT PRIMARY KEY, task INT)"
            ))
            .await
            .unwrap();
        let insert = client
            .prepare(&format!("INSERT INTO {t} (id, task) VALUES ($1, $2)"))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for task in 0..16i32 {
            let (client, insert) = (client.clone(), insert.clone());
            tasks.push(magpie::spawn(async move {
                assert_no_tokio();
                // Each task's inserts are in flight together: the one connection
                // pipelines them with the other tasks'.
                let ids: Vec<i32> = (0..1000).filter(|id| id % 16 == task).collect();
                let inserts = ids.iter().map(|id| {
                    let (client, insert) = (&client, &insert);
                    async move { client.execute(insert, &[id, &task]).await }
                });
                let counts = futures_util::future::try_join_all(inserts).await.unwrap();
                assert!(counts.iter().all(|&n| n == 1));
                ids.len()
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert_eq!(total, 1000);
        let row = client
            .query_one(
                &format!("SELECT count(*), sum(id), count(DISTINCT task) FROM {t}"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 1000);
        assert_eq!(row.get::<_, i64>(1), 999 * 1000 / 2);
        assert_eq!(row.get::<_, i64>(2), 16);
        client
            .batch_execute(&format!("DROP TABLE {t}"))
            .await
            .unwrap();
    })
    .await;
}

#[magpie::test]
async fn a_query_cut_by_a_timeout_then_cancelled_on_the_server() {
    assert_no_tokio();
    deadline(60, async {
        let (_, addr) = shared();
        let client = shared_client().await;
        let start = std::time::Instant::now();
        let cut = magpie::time::timeout(
            Duration::from_millis(200),
            client.query_one("SELECT pg_sleep(30)", &[]),
        )
        .await;
        assert!(cut.is_err(), "pg_sleep(30) finished within 200 ms?");
        assert!(start.elapsed() < Duration::from_secs(5));
        // The server still runs the statement: cancel it (a second connection, as the
        // protocol wants), then the client answers again at once.
        let stream = TcpStream::connect(addr).await.unwrap();
        client
            .cancel_token()
            .cancel_query_raw(stream, NoTls)
            .await
            .unwrap();
        let row = client.query_one("SELECT 41 + 1", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 42);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the cancel did not reach the server"
        );
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stopped_mid_query_is_an_error_not_a_hang() {
    assert_no_tokio();
    let pg = magpie::task::spawn_blocking(PgInstance::start)
        .await
        .unwrap();
    let pg = Arc::new(pg);
    deadline(60, async {
        let client = Arc::new(connect_tcp(&pg.config(), pg.addr()).await.unwrap());
        let query = {
            let client = client.clone();
            magpie::spawn(
                async move { client.query_one("SELECT pg_sleep(60)", &[]).await.map(drop) },
            )
        };
        magpie::time::sleep(Duration::from_millis(300)).await;
        let stopper = pg.clone();
        magpie::task::spawn_blocking(move || stopper.stop("fast"))
            .await
            .unwrap();
        let err = query
            .await
            .unwrap()
            .expect_err("the query survived the server stopping");
        // Fast shutdown: the backend reports "terminating connection due to administrator
        // command" (57P01) before it closes; a closed socket is the other honest answer.
        assert!(
            err.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN) || err.is_closed(),
            "unexpected error: {err:?}"
        );
        // The connection is gone: later queries fail at once.
        let later = client.query_one("SELECT 1", &[]).await;
        assert!(later.is_err());
        assert!(client.is_closed());
    })
    .await;
}

#[magpie::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_reconnects_after_a_server_restart() {
    assert_no_tokio();
    let pg = Arc::new(
        magpie::task::spawn_blocking(PgInstance::start)
            .await
            .unwrap(),
    );
    deadline(90, async {
        let pool = Pool::builder(PgManager::new(pg.config(), pg.addr()))
            .max_size(4)
            .acquire_timeout(Some(Duration::from_secs(20)))
            .build();
        let before: i32 = {
            let client = pool.get().await.unwrap();
            client
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap()
                .get(0)
        };
        assert_eq!(pool.status().idle, 1);

        let restart = pg.clone();
        magpie::task::spawn_blocking(move || {
            restart.stop("fast");
            restart.start_again();
        })
        .await
        .unwrap();

        // The idle connection is dead; `get` finds that out and connects anew.
        let client = pool.get().await.unwrap();
        let after: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        assert_ne!(before, after, "a new backend serves the new connection");
        drop(client);
        assert_eq!(pool.status().size, 1);

        // And the pool keeps working under load: 32 tasks, 4 connections.
        let mut tasks = Vec::new();
        for i in 0..32i32 {
            let pool = pool.clone();
            tasks.push(magpie::spawn(async move {
                let client = pool.get().await.unwrap();
                let n: i32 = client
                    .query_one("SELECT $1::INT * 2", &[&i])
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(n, i * 2);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(pool.status().size <= 4);
    })
    .await;
}
