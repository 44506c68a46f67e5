//! Task hooks (`on_task_spawn`, `on_before_task_poll`, ...) and thread hooks, and the
//! containment every user callback runs under: a panicking hook is reported and the
//! runtime goes on.

use super::{Hook, default_sink};
use std::sync::Arc;

/// A thread hook (`on_thread_park` and friends).
pub(crate) type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// The task hooks and the worker park hooks; each is optional.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) spawn: Option<Hook>,
    pub(crate) terminate: Option<Hook>,
    pub(crate) before_poll: Option<Hook>,
    pub(crate) after_poll: Option<Hook>,
    /// Run by a worker just before it parks (`Builder::on_thread_park`).
    pub(crate) thread_park: Option<ThreadHook>,
    /// Run by a worker just after it unparks (`Builder::on_thread_unpark`).
    pub(crate) thread_unpark: Option<ThreadHook>,
}

impl Hooks {
    /// Whether a per-poll hook is set (the park hooks do not put the observer on the
    /// poll path).
    pub(super) fn any(&self) -> bool {
        self.spawn.is_some()
            || self.terminate.is_some()
            || self.before_poll.is_some()
            || self.after_poll.is_some()
    }
}

/// Runs a user callback, containing a panic in it: the panic is reported to `sink` and
/// the runtime goes on (a hook must never kill a worker or strand a task).
pub(crate) fn contain(what: &str, sink: &dyn Fn(&str), f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a non-string payload");
        sink(&format!(
            "magpie: the `{what}` hook panicked ({msg}); the panic was caught and the \
             runtime goes on"
        ));
        // The payload's own Drop may panic too; that one is dropped silently.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    }
}

/// Runs an optional thread hook (`on_thread_start`/`on_thread_stop`), containing a
/// panic in it (reported on stderr).
pub(crate) fn run_hook(what: &str, hook: Option<&(dyn Fn() + Send + Sync)>) {
    if let Some(h) = hook {
        contain(what, &default_sink, h);
    }
}
