//! `lookup_host`: the system resolver, off the async threads.
//!
//! `getaddrinfo` blocks, so it runs on the blocking spawner installed on the current
//! I/O [`Handle`](crate::driver::Handle) with
//! [`Handle::set_blocking_spawner`](crate::driver::Handle::set_blocking_spawner) (the
//! runtime installs its blocking pool there), or, when none is installed or no driver is
//! current, on a new plain thread (`std::thread::spawn`): magpie-io does not depend on
//! the runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::driver::Handle;

type LookupResult = io::Result<std::vec::IntoIter<SocketAddr>>;

#[derive(Default)]
struct Slot {
    result: Option<LookupResult>,
    waker: Option<Waker>,
    /// The job delivered a result (or was dropped and delivered an error).
    done: bool,
}

/// Completes the lookup with an error if the job is dropped without running (its
/// runtime's blocking pool shut down), so the awaiting task is never left hanging.
struct Completer(Arc<Mutex<Slot>>);

impl Completer {
    fn complete(&self, r: LookupResult) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if s.done {
                return;
            }
            s.done = true;
            s.result = Some(r);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        self.complete(Err(io::Error::other(
            "the DNS lookup was cancelled: its runtime's blocking pool shut down",
        )));
    }
}

struct Lookup(Arc<Mutex<Slot>>);

impl Future for Lookup {
    type Output = LookupResult;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LookupResult> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Resolves `host` (`"host:port"`, a `(host, port)` pair, or anything else that is
/// [`ToSocketAddrs`]) with the system resolver, without blocking the calling task.
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    match host.resolve() {
        Resolve::Done(v) => Ok(v.into_iter()),
        Resolve::Lookup(s) => system_lookup(s).await,
    }
}

async fn system_lookup(host: String) -> LookupResult {
    use std::net::ToSocketAddrs as _;
    let slot = Arc::new(Mutex::new(Slot::default()));
    let job = {
        let completer = Completer(slot.clone());
        move || {
            let r = host
                .to_socket_addrs()
                .map(|it| it.collect::<Vec<_>>().into_iter());
            completer.complete(r);
        }
    };
    match Handle::try_current().and_then(|h| h.blocking_spawner()) {
        Some(spawn) => spawn(Box::new(job)),
        None => {
            std::thread::Builder::new()
                .name("magpie-resolver".into())
                .spawn(job)?;
        }
    }
    Lookup(slot).await
}

/// Addresses that `connect`/`bind`/`send_to` accept: a [`SocketAddr`], an `(IpAddr,
/// u16)` pair, or a `"host:port"` string / `(host, port)` pair. Strings that are not a
/// literal address are resolved with [`lookup_host`] (off the async threads).
///
/// Sealed: it cannot be implemented outside magpie.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use std::net::SocketAddr;

    /// What an address argument turned into without blocking.
    pub enum Resolve {
        /// Already resolved.
        Done(Vec<SocketAddr>),
        /// Needs the resolver: `host:port`.
        Lookup(String),
    }

    pub trait Sealed {
        fn resolve(&self) -> Resolve;
    }
}

use sealed::Resolve;

pub(crate) async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    match addr.resolve() {
        Resolve::Done(v) => Ok(v),
        Resolve::Lookup(s) => Ok(system_lookup(s).await?.collect()),
    }
}

/// Runs `f` on each resolved address until one succeeds; the last error otherwise.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let addrs = resolve(addr).await?;
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

macro_rules! done {
    ($($t:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::Sealed for $t {
            fn resolve(&self) -> Resolve {
                let $s = self;
                Resolve::Done($e)
            }
        }
    )*};
}

done! {
    SocketAddr => |s| vec![*s];
    std::net::SocketAddrV4 => |s| vec![SocketAddr::V4(*s)];
    std::net::SocketAddrV6 => |s| vec![SocketAddr::V6(*s)];
    (std::net::IpAddr, u16) => |s| vec![SocketAddr::new(s.0, s.1)];
    (std::net::Ipv4Addr, u16) => |s| vec![SocketAddr::new(s.0.into(), s.1)];
    (std::net::Ipv6Addr, u16) => |s| vec![SocketAddr::new(s.0.into(), s.1)];
    [SocketAddr] => |s| s.to_vec();
    Vec<SocketAddr> => |s| s.clone();
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::Sealed for [SocketAddr; N] {
    fn resolve(&self) -> Resolve {
        Resolve::Done(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolve::Done(vec![a]),
            Err(_) => Resolve::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn resolve(&self) -> Resolve {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn resolve(&self) -> Resolve {
        match self.0.parse::<std::net::IpAddr>() {
            Ok(ip) => Resolve::Done(vec![SocketAddr::new(ip, self.1)]),
            Err(_) if self.0.contains(':') => Resolve::Lookup(format!("[{}]:{}", self.0, self.1)),
            Err(_) => Resolve::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: sealed::Sealed + ?Sized> sealed::Sealed for &T {
    fn resolve(&self) -> Resolve {
        (**self).resolve()
    }
}
