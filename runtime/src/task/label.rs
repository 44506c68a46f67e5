//! `Label`: where a task was spawned and, only when it has them, its name and the time
//! of its last poll, in one word of the task header.
//!
//! # Word layout
//!
//! ```text
//! bit 0 = 0   the word is a `&'static Location<'static>`: an unnamed task of a runtime
//!             not in debug mode (the common case), nothing allocated
//! bit 0 = 1   the word, bit 0 cleared, is a `Box<Extras>` the label owns: location,
//!             name, last-poll time (a named task, or any task of a runtime in debug
//!             mode, which records poll times for task dumps)
//! ```
//!
//! Both pointees are at least 2-byte aligned (checked at compile time), so bit 0 of a
//! real pointer is always 0. Three words (location, name, last poll) became one: with
//! the rest of the header this takes an idle task's cell from 120 to 104 bytes, a
//! 112-byte glibc chunk instead of 128 (docs/benchmarks.md, "Task layout").

use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// What a label points at when the task has a name or records its polls.
struct Extras {
    location: &'static Location<'static>,
    name: Option<Arc<String>>,
    last_poll: AtomicU64,
}

const _: () = assert!(std::mem::align_of::<Location<'static>>() >= 2);
const _: () = assert!(std::mem::align_of::<Extras>() >= 2);

const BOXED: usize = 1;

pub(crate) struct Label(NonNull<()>);

// SAFETY: the label is a shared reference to a `'static` `Location` (Sync) or owns a
// `Box<Extras>`, whose fields are Send + Sync (`Arc<String>`, an atomic); it hands out
// only shared references to them.
unsafe impl Send for Label {}
// SAFETY: as above.
unsafe impl Sync for Label {}

impl Label {
    /// `track_polls`: keep a last-poll time (a runtime in debug mode).
    pub(crate) fn new(
        location: &'static Location<'static>,
        name: Option<Arc<String>>,
        track_polls: bool,
    ) -> Label {
        if name.is_none() && !track_polls {
            return Label(NonNull::from(location).cast());
        }
        let extras = Box::new(Extras {
            location,
            name,
            last_poll: AtomicU64::new(0),
        });
        let ptr = NonNull::from(Box::leak(extras)).cast::<()>();
        Label(ptr.map_addr(|a| a | BOXED))
    }

    fn extras(&self) -> Option<&Extras> {
        if self.0.addr().get() & BOXED == 0 {
            return None;
        }
        let ptr = self.0.map_addr(|a| {
            // A pointer from `Box::leak` with bit 0 set: clearing it gives back the
            // original, non-null address.
            std::num::NonZeroUsize::new(a.get() & !BOXED).expect("non-null box")
        });
        // SAFETY: bit 0 set means the word is our leaked `Box<Extras>`, alive until
        // `drop`; only shared references are handed out.
        Some(unsafe { ptr.cast::<Extras>().as_ref() })
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        match self.extras() {
            Some(e) => e.location,
            // SAFETY: bit 0 clear: the word is a `&'static Location<'static>`.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    pub(crate) fn name(&self) -> Option<&Arc<String>> {
        self.extras()?.name.as_ref()
    }

    /// The last-poll time (epoch nanoseconds, 0: never), when the task records it.
    pub(crate) fn last_poll(&self) -> Option<&AtomicU64> {
        self.extras().map(|e| &e.last_poll)
    }
}

impl Drop for Label {
    fn drop(&mut self) {
        if self.0.addr().get() & BOXED != 0 {
            let ptr = self.0.as_ptr().map_addr(|a| a & !BOXED).cast::<Extras>();
            // SAFETY: bit 0 set: the word (bit cleared) came from `Box::leak` in `new`
            // and is freed only here, once.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Label;
    use std::panic::Location;
    use std::sync::Arc;

    #[test]
    fn plain_named_and_tracked_labels() {
        let here = Location::caller();
        let plain = Label::new(here, None, false);
        assert_eq!(plain.location(), here);
        assert!(plain.name().is_none() && plain.last_poll().is_none());

        let name = Arc::new("worker".to_string());
        let named = Label::new(here, Some(name.clone()), false);
        assert_eq!(named.location(), here);
        assert_eq!(named.name().map(|n| n.as_str()), Some("worker"));
        assert!(named.last_poll().is_some());
        assert_eq!(Arc::strong_count(&name), 2);
        drop(named);
        assert_eq!(Arc::strong_count(&name), 1, "the label's name was dropped");

        let tracked = Label::new(here, None, true);
        tracked
            .last_poll()
            .unwrap()
            .store(7, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(tracked.location(), here);
        assert!(tracked.name().is_none());
        assert_eq!(
            tracked
                .last_poll()
                .unwrap()
                .load(std::sync::atomic::Ordering::Relaxed),
            7
        );
    }
}
