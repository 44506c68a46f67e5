//! Whether this thread is driving a magpie runtime (a worker thread, or a thread inside
//! `block_on`). The runtime sets it; crates below the runtime read it, so that
//! magpie-sync's `blocking_*` methods can refuse to block a runtime thread without
//! depending on the runtime crate.

use std::cell::Cell;

thread_local! {
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is driving a runtime now.
#[inline]
pub fn in_runtime() -> bool {
    IN_RUNTIME.try_with(|c| c.get()).unwrap_or(false)
}

/// Marks (`true`) or unmarks (`false`) this thread as driving a runtime, until the
/// returned guard is dropped, which restores the previous mark.
#[inline]
pub fn set_in_runtime(entered: bool) -> InRuntimeGuard {
    let prev = IN_RUNTIME.try_with(|c| c.replace(entered)).unwrap_or(false);
    InRuntimeGuard { prev }
}

/// Restores the previous mark on drop; see [`set_in_runtime`].
#[derive(Debug)]
#[must_use = "dropping the guard restores the previous mark at once"]
pub struct InRuntimeGuard {
    prev: bool,
}

impl Drop for InRuntimeGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = IN_RUNTIME.try_with(|c| c.set(prev));
    }
}
