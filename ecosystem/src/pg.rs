//! tokio-postgres on magpie: `Config::connect_raw` over a magpie `TcpStream` or
//! `UnixStream` (they implement tokio's `AsyncRead`/`AsyncWrite` natively), the
//! connection future spawned with `magpie::spawn`, and a [`PgManager`] for
//! `magpie::pool`.
//!
//! tokio-postgres must be built with `default-features = false`: its default `runtime`
//! feature makes `Config::connect` resolve and connect with tokio's reactor, which
//! panics with "there is no reactor running" on magpie.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use magpie::net::{TcpStream, UnixStream};
use tokio_postgres::{Client, Config, NoTls};

/// Connects over TCP to `addr` with `config`'s user, database and options; the
/// connection runs on a magpie task until the client is dropped or the server goes away.
pub async fn connect_tcp(config: &Config, addr: SocketAddr) -> Result<Client, ConnectError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (client, connection) = config.connect_raw(stream, NoTls).await?;
    magpie::spawn(connection);
    Ok(client)
}

/// Connects over the server's Unix socket in `socket_dir` (`.s.PGSQL.<port>`).
pub async fn connect_unix(
    config: &Config,
    socket_dir: &Path,
    port: u16,
) -> Result<Client, ConnectError> {
    let path = socket_dir.join(format!(".s.PGSQL.{port}"));
    let stream = UnixStream::connect(&path).await?;
    let (client, connection) = config.connect_raw(stream, NoTls).await?;
    magpie::spawn(connection);
    Ok(client)
}

/// Why a connection could not be made: the socket, or PostgreSQL.
#[derive(Debug)]
pub enum ConnectError {
    /// Connecting the socket failed (refused, unreachable).
    Io(io::Error),
    /// The server refused the startup or the query failed.
    Pg(tokio_postgres::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Io(e) => write!(f, "connecting to PostgreSQL: {e}"),
            ConnectError::Pg(e) => write!(f, "PostgreSQL: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Io(e) => Some(e),
            ConnectError::Pg(e) => Some(e),
        }
    }
}

impl From<io::Error> for ConnectError {
    fn from(e: io::Error) -> ConnectError {
        ConnectError::Io(e)
    }
}

impl From<tokio_postgres::Error> for ConnectError {
    fn from(e: tokio_postgres::Error) -> ConnectError {
        ConnectError::Pg(e)
    }
}

/// A [`magpie::pool::Manager`] of tokio-postgres clients over TCP.
///
/// `check` runs an empty query (one round trip), so a connection the server closed
/// (a restart, an idle timeout) is found and replaced; `recycle` drops a client whose
/// connection task has ended.
///
/// ```no_run
/// use magpie::pool::Pool;
/// use magpie_ecosystem::pg::PgManager;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config: tokio_postgres::Config = "host=127.0.0.1 user=app dbname=app".parse()?;
/// let pool = Pool::builder(PgManager::new(config, "127.0.0.1:5432".parse()?))
///     .max_size(8)
///     .build();
/// let client = pool.get().await?;
/// let row = client.query_one("SELECT 1 + 1", &[]).await?;
/// assert_eq!(row.get::<_, i32>(0), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgManager {
    config: Config,
    addr: SocketAddr,
}

impl PgManager {
    /// A manager connecting to `addr` with `config`.
    pub fn new(config: Config, addr: SocketAddr) -> PgManager {
        PgManager { config, addr }
    }
}

impl magpie::pool::Manager for PgManager {
    type Connection = Client;
    type Error = ConnectError;

    async fn connect(&self) -> Result<Client, ConnectError> {
        connect_tcp(&self.config, self.addr).await
    }

    async fn check(&self, client: &mut Client) -> Result<(), ConnectError> {
        client.simple_query("").await?;
        Ok(())
    }

    fn recycle(&self, client: &mut Client) -> bool {
        !client.is_closed()
    }
}
