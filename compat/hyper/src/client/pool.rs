//! The client's pool of idle HTTP/1 connections, per `host:port`.
//!
//! Life of a connection: made by `Client::request` (checked out from the start), used
//! for one request; when its response body has been read to the end
//! ([`ResponseBody`](super::ResponseBody)) it is `put` back, stamped with the time.
//! (Putting it back then, not when hyper's connection task has also seen the end and
//! made it ready, is what makes back-to-back requests reuse it: waiting for
//! readiness on a task of its own raced the next request.) `checkout` takes the most
//! recently used one (LIFO: warm first), waits for it to be ready, and drops any that
//! are closed or idle past the timeout. Each `put` also
//! arms a timer (the pool timer, [`MagpieTimer`]) for the idle timeout: when it fires
//! and the same entry is still idle, it is dropped, which closes the connection (the
//! dropped `SendRequest` ends hyper's connection task). So idle connections close on
//! time even when no further request comes. (The shape of hyper-util's legacy pool,
//! reduced to HTTP/1 and one map.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hyper::client::conn::http1::SendRequest;
use hyper::rt::Timer;
use magpie_time::Instant;

use crate::MagpieTimer;

struct Idle<B> {
    id: u64,
    send: SendRequest<B>,
    since: Instant,
}

struct State<B> {
    idle: HashMap<String, Vec<Idle<B>>>,
    next_id: u64,
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
                next_id: 0,
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

    /// Puts a ready connection back, and arms its idle timer.
    pub(crate) fn put(&self, key: String, send: SendRequest<B>) {
        let id = {
            let mut state = self.lock();
            let id = state.next_id;
            state.next_id += 1;
            let list = state.idle.entry(key.clone()).or_default();
            if list.len() >= self.max_idle_per_host {
                return;
            }
            list.push(Idle {
                id,
                send,
                since: Instant::now(),
            });
            id
        };
        if let Some(limit) = self.idle_timeout {
            let sleep = self.timer.sleep(limit);
            let state = Arc::downgrade(&self.state);
            magpie_runtime::spawn(async move {
                sleep.await;
                remove(&state, &key, id);
            });
        }
    }

    /// Idle connections in the pool (for tests).
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.lock().idle.values().map(Vec::len).sum()
    }
}

/// Drops entry `id` of `key` if it is still idle (its idle timer fired).
fn remove<B>(state: &Weak<Mutex<State<B>>>, key: &str, id: u64) {
    let Some(state) = state.upgrade() else { return };
    let entry = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = state.idle.get_mut(key) else {
            return;
        };
        let entry = list.iter().position(|e| e.id == id).map(|i| list.remove(i));
        if list.is_empty() {
            state.idle.remove(key);
        }
        entry
    };
    drop(entry);
}
