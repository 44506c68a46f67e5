//! redis-rs on magpie: a `MultiplexedConnection` made from a magpie `TcpStream` with
//! `MultiplexedConnection::new_with_config`, its driver future spawned with
//! `magpie::spawn`, and a [`RedisManager`] for `magpie::pool`.
//!
//! What redis-rs needs, precisely (redis 1.x):
//! - its `aio` feature alone does not compile (`compile_error!("tokio-comp or smol-comp
//!   features required for aio feature")`), so `tokio-comp` is on: tokio's `rt`, `net`
//!   and `time` are compiled in, but no tokio runtime is ever started;
//! - `Client::get_multiplexed_async_connection` connects with `tokio::net` and spawns
//!   with `tokio::spawn`: not usable. `MultiplexedConnection::new_with_config(info,
//!   stream, config)` takes any stream with tokio's `AsyncRead + AsyncWrite` (magpie's
//!   `TcpStream` has them) and hands back the driver future for us to spawn;
//! - the default response timeout (500 ms) runs `tokio::time::timeout`, which panics
//!   without a tokio runtime: [`config`] turns it off (`set_response_timeout(None)`);
//!   time commands out with `magpie::time::timeout` instead;
//! - `aio::PubSub` spawns its driver with `tokio::spawn`: use RESP3 push messages on a
//!   multiplexed connection instead (`set_push_sender` + `subscribe`), as the test does.

use std::net::SocketAddr;

use magpie::net::TcpStream;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo, RedisError, RedisResult};

/// The connection settings redis-rs needs on magpie: no response timeout (redis-rs would
/// run it on tokio's timer).
pub fn config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new().set_response_timeout(None)
}

/// Connects to `addr`; the connection's driver runs on a magpie task until every clone
/// of the connection is dropped or the server goes away.
pub async fn connect(
    addr: SocketAddr,
    info: &RedisConnectionInfo,
    config: AsyncConnectionConfig,
) -> RedisResult<MultiplexedConnection> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (conn, driver) = MultiplexedConnection::new_with_config(info, stream, config).await?;
    magpie::spawn(driver);
    Ok(conn)
}

/// A [`magpie::pool::Manager`] of multiplexed redis connections; `check` sends `PING`.
///
/// A multiplexed connection is already shared by clones; a pool of a few of them
/// spreads load over several sockets and, above all, replaces a connection broken by a
/// server restart.
#[derive(Debug, Clone)]
pub struct RedisManager {
    addr: SocketAddr,
    info: RedisConnectionInfo,
}

impl RedisManager {
    /// A manager connecting to `addr` with default settings (database 0, RESP2).
    pub fn new(addr: SocketAddr) -> RedisManager {
        RedisManager {
            addr,
            info: RedisConnectionInfo::default(),
        }
    }
}

impl magpie::pool::Manager for RedisManager {
    type Connection = MultiplexedConnection;
    type Error = RedisError;

    async fn connect(&self) -> RedisResult<MultiplexedConnection> {
        connect(self.addr, &self.info, config()).await
    }

    async fn check(&self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        let pong: String = redis::cmd("PING").query_async(conn).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RedisError::from((
                redis::ErrorKind::Client,
                "unexpected PING reply",
                pong,
            )))
        }
    }
}
