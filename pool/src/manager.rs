//! The manager trait: how the pool makes, checks and recycles one kind of connection.

use std::future::Future;

/// Makes, checks and recycles the pool's connections.
///
/// Implement it with `async fn`s; the futures must be `Send` (the pool is used from
/// magpie's multi-thread runtime).
pub trait Manager: Send + Sync + 'static {
    /// The pooled connection.
    type Connection: Send + 'static;
    /// The error of `connect` and `check`, given back by [`Pool::get`](crate::Pool::get)
    /// as [`PoolError::Backend`](crate::PoolError::Backend).
    type Error: Send + 'static;

    /// Opens a new connection.
    fn connect(&self) -> impl Future<Output = Result<Self::Connection, Self::Error>> + Send;

    /// Checks an idle connection before it is handed out (a `SELECT 1`, a `PING`, or
    /// just "is the connection task still running"). An error drops the connection and
    /// the pool tries the next idle one or connects anew.
    fn check(
        &self,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Called when a checked-out connection is given back: `false` drops it instead of
    /// keeping it idle (say, the client reports its socket closed). It runs inside a
    /// `Drop`, so it must be quick and must not block; the default keeps every
    /// connection.
    fn recycle(&self, conn: &mut Self::Connection) -> bool {
        let _ = conn;
        true
    }
}
