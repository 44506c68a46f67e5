//! The `tracing` feature: a `runtime.spawn` span per task in tokio-console's shape,
//! entered around every poll, `runtime::waker` events, and `spawn` / `complete` events. Run with
//! `cargo test -p magpie-runtime --features tracing --test tracing`.
#![cfg(feature = "tracing")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What the subscriber saw of one event.
#[derive(Clone, Debug)]
struct SeenEvent {
    target: String,
    message: String,
    fields: HashMap<String, String>,
    /// The `task.id` field of the innermost entered `runtime.spawn` span on the
    /// emitting thread.
    in_task_span: Option<u64>,
}

impl SeenEvent {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// What the subscriber saw of one span.
#[derive(Clone, Debug)]
struct SeenSpan {
    name: String,
    target: String,
    fields: HashMap<String, String>,
}

#[derive(Default)]
struct Seen {
    /// tracing span id -> span
    spans: HashMap<u64, SeenSpan>,
    events: Vec<SeenEvent>,
}

/// A minimal subscriber: records spans and events with every field as a string; keeps
/// a per-thread stack of entered spans to tell which span an event happened in.
struct Recorder {
    next: AtomicU64,
    seen: Mutex<Seen>,
}

thread_local! {
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut f = Fields::default();
        attrs.record(&mut f);
        let span = SeenSpan {
            name: attrs.metadata().name().to_string(),
            target: attrs.metadata().target().to_string(),
            fields: f.0,
        };
        self.seen.lock().unwrap().spans.insert(n, span);
        Id::from_u64(n)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let mut seen = self.seen.lock().unwrap();
        // The innermost entered task span, or the explicit parent for events that
        // name one.
        let span = match event.parent() {
            Some(p) => Some(p.into_u64()),
            None => STACK.with(|s| {
                s.borrow()
                    .iter()
                    .rev()
                    .find(|id| {
                        seen.spans
                            .get(id)
                            .is_some_and(|s| s.name == "runtime.spawn")
                    })
                    .copied()
            }),
        };
        let in_task_span = span.and_then(|s| {
            let id = seen.spans.get(&s)?.fields.get("task.id")?;
            id.parse().ok()
        });
        let mut fields = f.0;
        let message = fields.remove("message").unwrap_or_default();
        seen.events.push(SeenEvent {
            target: event.metadata().target().to_string(),
            message,
            fields,
            in_task_span,
        });
    }

    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            let pos = s.iter().rposition(|x| *x == span.into_u64());
            s.remove(pos.expect("exit of a span that was not entered"));
        });
    }
}

fn recorder() -> &'static Arc<Recorder> {
    static REC: OnceLock<Arc<Recorder>> = OnceLock::new();
    REC.get_or_init(|| {
        let rec = Arc::new(Recorder {
            next: AtomicU64::new(1),
            seen: Mutex::new(Seen::default()),
        });
        // tracing-core implements `Subscriber` for `Arc<S>`.
        tracing::subscriber::set_global_default(rec.clone()).expect("a subscriber was already set");
        rec
    })
}

#[test]
fn every_poll_of_a_task_runs_inside_its_span() {
    let rec = recorder();
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (id, inner_id) = rt.block_on(async {
        let handle = magpie_runtime::spawn(async {
            tracing::info!("first poll");
            // Pending once: the second event comes from a later poll.
            magpie_runtime::task::yield_now().await;
            tracing::info!("second poll");
            magpie_runtime::task::id().as_u64()
        });
        let id = handle.id().as_u64();
        (id, handle.await.unwrap())
    });
    assert_eq!(id, inner_id);
    drop(rt);

    let seen = rec.seen.lock().unwrap();
    let find = |msg: &str| {
        seen.events
            .iter()
            .find(|e| e.message == msg)
            .unwrap_or_else(|| panic!("no {msg:?} event; saw {:?}", seen.events))
            .clone()
    };
    // Both polls ran inside a span whose `id` field is the task's id.
    assert_eq!(find("first poll").in_task_span, Some(id));
    assert_eq!(find("second poll").in_task_span, Some(id));

    // The span has the shape tokio-console's subscriber matches: the name
    // `runtime.spawn`, a target its default filter (`tokio=trace,runtime=trace`)
    // keeps, `kind`, `task.id`, and the spawn location as `loc.file/line/col`.
    let (_, span) = task_span(&seen, id);
    assert!(
        span.target.starts_with("runtime"),
        "target {:?}",
        span.target
    );
    assert_eq!(span.fields.get("kind").map(String::as_str), Some("task"));
    let file = span.fields.get("loc.file").expect("no loc.file");
    assert!(file.ends_with("tracing.rs"), "loc.file {file:?}");
    assert!(
        span.fields
            .get("loc.line")
            .is_some_and(|l| l.parse::<u32>().unwrap() > 0)
    );
    assert!(span.fields.get("loc.col").is_some());
    assert!(
        span.fields.get("task.name").is_none(),
        "an unnamed task has no task.name"
    );

    // A spawn event and a completion event name the task.
    assert!(
        seen.events
            .iter()
            .any(|e| e.message == "spawn" && e.field("task.id") == Some(&*id.to_string())),
        "no spawn event for task {id}"
    );
    let done = seen
        .events
        .iter()
        .find(|e| e.message == "complete" && e.field("task.id") == Some(&*id.to_string()))
        .unwrap_or_else(|| panic!("no complete event for task {id}"));
    assert_eq!(done.field("outcome"), Some("ok"));
    assert_eq!(done.in_task_span, Some(id));
}

/// The `runtime.spawn` span of task `id`, with its tracing span id.
fn task_span(seen: &Seen, id: u64) -> (u64, SeenSpan) {
    let (sid, span) = seen
        .spans
        .iter()
        .find(|(_, s)| {
            s.name == "runtime.spawn" && s.fields.get("task.id") == Some(&id.to_string())
        })
        .unwrap_or_else(|| panic!("no runtime.spawn span for task {id}"));
    (*sid, span.clone())
}

#[test]
fn a_named_task_carries_its_name_in_its_span() {
    let rec = recorder();
    let rt = magpie_runtime::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let id = rt.block_on(async {
        let h = magpie_runtime::task::Builder::new()
            .name("accept-loop")
            .spawn(async { magpie_runtime::task::id().as_u64() })
            .unwrap();
        h.await.unwrap()
    });
    let seen = rec.seen.lock().unwrap();
    let (_, span) = task_span(&seen, id);
    assert_eq!(
        span.fields.get("task.name").map(String::as_str),
        Some("accept-loop")
    );
}

/// Waker operations are `runtime::waker` events whose `task.id` is the tracing id of
/// the task's span (what tokio-console counts wakes and self-wakes by).
#[test]
fn waker_operations_are_reported_against_the_task_span() {
    let rec = recorder();
    let rt = magpie_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let id = rt.block_on(async {
        let h = magpie_runtime::spawn(async {
            // Woken once from a foreign thread (clone, then wake by value) and once by
            // itself (wake_by_ref inside yield_now).
            let mut sent = false;
            std::future::poll_fn(|cx| {
                if sent {
                    return std::task::Poll::Ready(());
                }
                sent = true;
                let w = cx.waker().clone();
                std::thread::spawn(move || w.wake());
                std::task::Poll::Pending
            })
            .await;
            magpie_runtime::task::yield_now().await;
            magpie_runtime::task::id().as_u64()
        });
        h.await.unwrap()
    });
    drop(rt);
    let seen = rec.seen.lock().unwrap();
    let (sid, _) = task_span(&seen, id);
    let ops: Vec<&str> = seen
        .events
        .iter()
        .filter(|e| e.target == "runtime::waker" && e.field("task.id") == Some(&*sid.to_string()))
        .filter_map(|e| e.field("op"))
        .collect();
    for op in ["waker.clone", "waker.wake"] {
        assert!(
            ops.contains(&op),
            "no {op} event for the task's span: {ops:?}"
        );
    }
}
