//! TCP keepalive: `SO_KEEPALIVE` and its three Linux knobs (`TCP_KEEPIDLE`,
//! `TCP_KEEPINTVL`, `TCP_KEEPCNT`), set and read through socket2 on both
//! [`TcpStream`](super::TcpStream) and [`TcpSocket`](super::TcpSocket).
//!
//! A pooled database connection that sits idle behind a NAT or a load balancer is cut
//! silently; keepalive probes find that out in `time + interval * retries` instead of
//! the kernel's two hours.

use std::io;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

/// Keepalive probe settings: how long a connection is idle before the first probe
/// (`time`), the gap between probes (`interval`), and how many unanswered probes close
/// the connection (`retries`). A field left `None` keeps the system's value.
///
/// ```
/// use magpie_io::net::tcp::Keepalive;
/// use std::time::Duration;
///
/// let ka = Keepalive::new()
///     .with_time(Duration::from_secs(60))
///     .with_interval(Duration::from_secs(10))
///     .with_retries(5);
/// assert_eq!(ka.time(), Some(Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keepalive {
    time: Option<Duration>,
    interval: Option<Duration>,
    retries: Option<u32>,
}

impl Keepalive {
    /// No setting changed (the system's values).
    pub const fn new() -> Keepalive {
        Keepalive {
            time: None,
            interval: None,
            retries: None,
        }
    }

    /// Idle time before the first probe (`TCP_KEEPIDLE`, whole seconds, at least 1).
    pub const fn with_time(mut self, time: Duration) -> Keepalive {
        self.time = Some(time);
        self
    }

    /// Time between probes (`TCP_KEEPINTVL`, whole seconds, at least 1).
    pub const fn with_interval(mut self, interval: Duration) -> Keepalive {
        self.interval = Some(interval);
        self
    }

    /// Unanswered probes before the connection is closed (`TCP_KEEPCNT`, at least 1).
    pub const fn with_retries(mut self, retries: u32) -> Keepalive {
        self.retries = Some(retries);
        self
    }

    /// The idle time, if set.
    pub const fn time(&self) -> Option<Duration> {
        self.time
    }

    /// The probe interval, if set.
    pub const fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// The probe count, if set.
    pub const fn retries(&self) -> Option<u32> {
        self.retries
    }
}

/// Turns `SO_KEEPALIVE` on and applies the settings given. A zero duration or count is
/// refused with `InvalidInput` (the kernel would answer a bare `EINVAL`).
pub(crate) fn set_params(sock: SockRef<'_>, ka: &Keepalive) -> io::Result<()> {
    let zero_time = |d: Option<Duration>| d.is_some_and(|d| d.as_secs() == 0);
    if zero_time(ka.time) || zero_time(ka.interval) || ka.retries == Some(0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "keepalive time and interval must be at least 1 s, retries at least 1",
        ));
    }
    let mut params = TcpKeepalive::new();
    if let Some(time) = ka.time {
        params = params.with_time(time);
    }
    if let Some(interval) = ka.interval {
        params = params.with_interval(interval);
    }
    if let Some(retries) = ka.retries {
        params = params.with_retries(retries);
    }
    // socket2 sets SO_KEEPALIVE and then each knob given.
    sock.set_tcp_keepalive(&params)
}

/// Reads the three knobs back (all `Some`: the values in force, set or system's).
pub(crate) fn params(sock: SockRef<'_>) -> io::Result<Keepalive> {
    Ok(Keepalive {
        time: Some(sock.tcp_keepalive_time()?),
        interval: Some(sock.tcp_keepalive_interval()?),
        retries: Some(sock.tcp_keepalive_retries()?),
    })
}
