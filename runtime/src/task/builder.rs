//! `task::Builder`: spawning with options (today, a name), as tokio's
//! `tokio::task::Builder`; and `SpawnMeta`, what every spawn path records about a task
//! besides its future.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::Arc;

use super::{Id, JoinHandle};
use crate::runtime::Handle;

/// What a spawn records about a task: where it was spawned and its name, if any.
/// Carried from the spawn call down to the task's header.
#[derive(Clone)]
pub(crate) struct SpawnMeta {
    pub(crate) location: &'static Location<'static>,
    /// `None` for an unnamed task: nothing is allocated and nothing is cloned.
    pub(crate) name: Option<Arc<String>>,
}

impl SpawnMeta {
    /// The caller's location, no name.
    #[track_caller]
    pub(crate) fn here() -> SpawnMeta {
        SpawnMeta {
            location: Location::caller(),
            name: None,
        }
    }

    #[track_caller]
    fn named(name: Option<&str>) -> SpawnMeta {
        SpawnMeta {
            location: Location::caller(),
            name: name.map(|n| Arc::new(n.to_owned())),
        }
    }
}

/// Spawns tasks with options: today a **name**, shown in task dumps, in debug mode's
/// slow-poll and stuck-worker reports, in unhandled-panic reports, in the
/// [`TaskMeta`](crate::runtime::TaskMeta) hooks receive and, with the `tracing`
/// feature, in the task's span (`task.name`, which tokio-console displays). An unnamed
/// task costs nothing extra.
///
/// The spawn methods return `io::Result`, as tokio's `task::Builder` does; the error
/// is "no runtime" (called outside one), where plain [`spawn`](crate::spawn) panics.
///
/// ```
/// # magpie_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use magpie_runtime::task;
///
/// let handle = task::Builder::new()
///     .name("accept-loop")
///     .spawn(async { 7 })?;
/// assert_eq!(handle.await.unwrap(), 7);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns `future` on the current runtime.
    ///
    /// # Errors
    /// Outside a runtime (`ErrorKind::Other`, saying so).
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = SpawnMeta::named(self.name);
        crate::context::with_current(|h| h.spawn(future, Id::next(), meta))
            .map_err(|e| io::Error::other(format!("`task::Builder::spawn` {e}")))
    }

    /// Spawns `future` on the runtime of `handle` (from any thread).
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = SpawnMeta::named(self.name);
        Ok(handle.inner.spawn(future, Id::next(), meta))
    }

    /// Runs `f` on the current runtime's blocking pool.
    ///
    /// # Errors
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = SpawnMeta::named(self.name);
        crate::context::with_current(|h| h.blocking_spawner().spawn_blocking_meta(f, meta))
            .map_err(|e| io::Error::other(format!("`task::Builder::spawn_blocking` {e}")))
    }

    /// Runs `f` on the blocking pool of `handle`'s runtime.
    #[track_caller]
    pub fn spawn_blocking_on<F, R>(self, f: F, handle: &Handle) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = SpawnMeta::named(self.name);
        Ok(handle.inner.blocking_spawner().spawn_blocking_meta(f, meta))
    }
}
