//! A constructor that refuses its argument panics *at the caller's line*
//! (`#[track_caller]`), so the message points at the user's code, not at magpie's.

use std::panic::{self, Location};
use std::sync::{Arc, Mutex};

/// Runs `f`, which must panic, and returns the file:line the panic reported.
fn panic_location(f: impl FnOnce() + panic::UnwindSafe) -> String {
    let seen = Arc::new(Mutex::new(String::new()));
    let s2 = seen.clone();
    let prev = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Some(l) = info.location() {
            *s2.lock().unwrap() = format!("{}:{}", l.file(), l.line());
        }
    }));
    let r = panic::catch_unwind(f);
    panic::set_hook(prev);
    assert!(r.is_err(), "expected a panic");
    seen.lock().unwrap().clone()
}

#[track_caller]
fn here(line_offset: u32) -> String {
    let l = Location::caller();
    format!("{}:{}", l.file(), l.line() + line_offset)
}

#[test]
fn constructors_that_refuse_their_argument_blame_the_caller() {
    // Each call is `n` lines below the `here(n)` that computes where it should blame.
    let want = here(1);
    let got = panic_location(|| drop(magpie_sync::mpsc::channel::<u8>(0)));
    assert_eq!(got, want, "mpsc::channel(0)");

    let want = here(1);
    let got = panic_location(|| drop(magpie_sync::broadcast::channel::<u8>(0)));
    assert_eq!(got, want, "broadcast::channel(0)");

    let want = here(2);
    let got = panic_location(|| {
        let _ = magpie_sync::RwLock::with_max_readers(0u8, 0);
    });
    assert_eq!(got, want, "RwLock::with_max_readers(_, 0)");

    let want = here(2);
    let got = panic_location(|| {
        let _ = magpie_sync::Semaphore::new(usize::MAX);
    });
    assert_eq!(got, want, "Semaphore::new(usize::MAX)");
}
