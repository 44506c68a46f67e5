//! [`MagpieExecutor`]: hyper's `rt::Executor` on magpie tasks.

use std::future::Future;

use magpie_runtime::runtime::Handle;

/// A [`hyper::rt::Executor`] that spawns hyper's background futures (HTTP/2 streams,
/// client connection tasks) as magpie tasks.
///
/// [`MagpieExecutor::new`] spawns on the runtime current where `execute` is called
/// (hyper calls it from inside the connection's task, so that is the runtime serving
/// the connection); [`MagpieExecutor::with_handle`] pins it to one runtime, which also
/// works from threads outside any runtime.
///
/// ```
/// use hyper::rt::Executor;
/// # let rt = magpie_runtime::runtime::Builder::new_multi_thread().build().unwrap();
/// let exec = magpie_hyper::MagpieExecutor::with_handle(rt.handle().clone());
/// let (tx, rx) = std::sync::mpsc::channel();
/// exec.execute(async move { tx.send(42).unwrap() }); // from a plain thread
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MagpieExecutor {
    handle: Option<Handle>,
}

impl MagpieExecutor {
    /// An executor that spawns on the current magpie runtime.
    ///
    /// `execute` panics when called outside a runtime (hyper calls it from tasks that
    /// already run on one).
    pub fn new() -> MagpieExecutor {
        MagpieExecutor { handle: None }
    }

    /// An executor that spawns on the runtime of `handle`, from any thread.
    pub fn with_handle(handle: Handle) -> MagpieExecutor {
        MagpieExecutor {
            handle: Some(handle),
        }
    }

    /// Spawns `fut` as a detached magpie task (what [`hyper::rt::Executor::execute`]
    /// does), for code that holds a `MagpieExecutor` and wants to spawn without
    /// importing hyper's trait.
    #[track_caller]
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Dropping the JoinHandle detaches the task; it still runs to completion.
        match &self.handle {
            Some(handle) => drop(handle.spawn(fut)),
            None => drop(magpie_runtime::spawn(fut)),
        }
    }
}

impl<F> hyper::rt::Executor<F> for MagpieExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, fut: F) {
        self.spawn(fut);
    }
}
