//! The client's pool of idle HTTP/1 connections, per `host:port`.
//!
//! Life of a connection: made by `Client::request` (checked out from the start), used
//! for one request; when its response body has been read to the end
//! ([`ResponseBody`](super::ResponseBody)) it is `put` back, stamped with the time.
//! (Putting it back then, not when hyper's connection task has also seen the end and
//! made it ready, is what makes back-to-back requests reuse it: waiting for
//! readiness on a task of its own raced the next request.) `checkout` takes the most
//! recently used one (LIFO: warm first), waits for it to be ready, and drops any that
//! are closed or idle past the timeout. One **reaper** task per pool (started by the
//! `put` that finds none running, ended when the pool has no idle entry left) sleeps on
//! the pool timer ([`MagpieTimer`]) until the oldest entry's idle timeout, drops every
//! expired entry, which closes its connection (the dropped `SendRequest` ends hyper's
//! connection task), and sleeps again. So idle connections close on time even when no
//! further request comes, and the cost is one task and one timer per pool, not per
//! returned connection. Outside a runtime no reaper starts: expired entries are then
//! dropped by `checkout`. (The shape of hyper-util's legacy pool, reduced to HTTP/1
//! and one map.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hyper::client::conn::http1::SendRequest;
use hyper::rt::Timer;
use magpie_time::Instant;

use crate::MagpieTimer;

struct Idle<B> {
    send: SendRequest<B>,
    since: Instant,
}

struct State<B> {
    idle: HashMap<String, Vec<Idle<B>>>,
    /// A reaper task is running.
    reaping: bool,
}

/// The pool; cloned handles share it.
pub(crate) struct Pool<B> {
    state: Arc<Mutex<State<B>>>,
    idle_timeout: Option<Duration>,
    max_idle_per_host: usize,
    timer: MagpieTimer,
}

impl<B> Clone for Pool<B> {
    fn clone(&self) -> Self {
        Pool {
            state: self.state.clone(),
            idle_timeout: self.idle_timeout,
            max_idle_per_host: self.max_idle_per_host,
            timer: self.timer,
        }
    }
}

impl<B: Send + 'static> Pool<B> {
    pub(crate) fn new(idle_timeout: Option<Duration>, max_idle_per_host: usize) -> Pool<B> {
        Pool {
            state: Arc::new(Mutex::new(State {
                idle: HashMap::new(),
                reaping: false,
            })),
            idle_timeout,
            max_idle_per_host,
            timer: MagpieTimer::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<B>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expired(&self, since: Instant) -> bool {
        self.idle_timeout.is_some_and(|t| since.elapsed() >= t)
    }

    /// A live idle connection to `key`, if there is one. An entry is put back when
    /// its response body ended, possibly a moment before hyper's connection task has
    /// seen that end; such an entry is waited for (briefly: nothing is left to read),
    /// and dropped if it turns out closed.
    pub(crate) async fn checkout(&self, key: &str) -> Option<SendRequest<B>> {
        loop {
            let entry = {
                let mut state = self.lock();
                let list = state.idle.get_mut(key)?;
                let entry = list.pop();
                if list.is_empty() {
                    state.idle.remove(key);
                }
                entry?
            };
            let mut send = entry.send;
            if send.is_closed() || self.expired(entry.since) {
                continue;
            }
            if send.is_ready() || send.ready().await.is_ok() {
                return Some(send);
            }
        }
    }

    /// Puts a ready connection back; starts the reaper if none is running.
    pub(crate) fn put(&self, key: String, send: SendRequest<B>) {
        if self.max_idle_per_host == 0 {
            return;
        }
        let start_reaper = {
            let mut state = self.lock();
            let list = state.idle.entry(key).or_default();
            if list.len() >= self.max_idle_per_host {
                return;
            }
            list.push(Idle {
                send,
                since: Instant::now(),
            });
            self.idle_timeout.is_some() && !std::mem::replace(&mut state.reaping, true)
        };
        if start_reaper {
            self.spawn_reaper();
        }
    }

    /// Starts the reaper on the current runtime (none outside one).
    fn spawn_reaper(&self) {
        let Some(limit) = self.idle_timeout else {
            return;
        };
        let state = Arc::downgrade(&self.state);
        let timer = self.timer;
        let reaper = async move {
            while let Some(next) = reap(&state, limit) {
                timer.sleep_until(next.into()).await;
            }
        };
        match magpie_runtime::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(reaper)),
            Err(_) => self.lock().reaping = false,
        }
    }

    /// Idle connections in the pool (for tests).
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.lock().idle.values().map(Vec::len).sum()
    }
}

/// Drops every entry idle for `limit` or longer; returns when the oldest remaining one
/// expires, or `None` (and marks the reaper stopped) when none is left or the pool is
/// gone.
fn reap<B>(state: &Weak<Mutex<State<B>>>, limit: Duration) -> Option<Instant> {
    let state = state.upgrade()?;
    let mut expired = Vec::new();
    let next = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        state.idle.retain(|_, list| {
            let (old, fresh): (Vec<_>, Vec<_>) = list
                .drain(..)
                .partition(|e| now.saturating_duration_since(e.since) >= limit);
            expired.extend(old);
            *list = fresh;
            !list.is_empty()
        });
        let oldest = state.idle.values().flatten().map(|e| e.since).min();
        if oldest.is_none() {
            state.reaping = false;
        }
        oldest.map(|since| since + limit)
    };
    // Closed outside the lock (dropping a `SendRequest` runs hyper's code).
    drop(expired);
    next
}
