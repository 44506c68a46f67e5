//! The error of [`Pool::get`](crate::Pool::get).

use std::fmt;

/// Why [`Pool::get`](crate::Pool::get) gave no connection.
#[derive(Debug)]
pub enum PoolError<E> {
    /// The acquire timeout passed: every connection stayed busy, or the server did not
    /// answer `connect`/`check` in time.
    Timeout,
    /// [`Pool::close`](crate::Pool::close) was called.
    Closed,
    /// The manager's `connect` failed (a `check` failure is not reported: the connection
    /// is replaced).
    Backend(E),
}

impl<E: fmt::Display> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout => f.write_str("timed out waiting for a pooled connection"),
            PoolError::Closed => f.write_str("the pool is closed"),
            PoolError::Backend(e) => write!(f, "could not connect: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Backend(e) => Some(e),
            _ => None,
        }
    }
}
