//! The `tracing` feature: a `task` span per task, entered around every poll, and
//! `spawn` / `complete` events. Run with
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
    message: String,
    /// `task.id` field of the event, if any.
    task_id: Option<u64>,
    /// `outcome` field, if any.
    outcome: Option<String>,
    /// The `id` field of the innermost entered `task` span on the emitting thread.
    in_task_span: Option<u64>,
}

#[derive(Default)]
struct Seen {
    /// span id -> (span name, its `id` field, its `location` field)
    spans: HashMap<u64, (String, Option<u64>, Option<String>)>,
    events: Vec<SeenEvent>,
}

/// A minimal subscriber: records spans and events; keeps a per-thread stack of entered
/// spans to tell which span an event happened in.
struct Recorder {
    next: AtomicU64,
    seen: Mutex<Seen>,
}

thread_local! {
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

#[derive(Default)]
struct Fields {
    message: String,
    id: Option<u64>,
    task_id: Option<u64>,
    location: Option<String>,
    outcome: Option<String>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "id" => self.id = Some(value),
            "task.id" => self.task_id = Some(value),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "outcome" {
            self.outcome = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "location" => self.location = Some(format!("{value:?}")),
            "outcome" => self.outcome = Some(format!("{value:?}")),
            _ => {}
        }
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
        self.seen
            .lock()
            .unwrap()
            .spans
            .insert(n, (attrs.metadata().name().to_string(), f.id, f.location));
        Id::from_u64(n)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let mut seen = self.seen.lock().unwrap();
        // The innermost entered `task` span, or the explicit parent for events that
        // name one.
        let span = match event.parent() {
            Some(p) => Some(p.into_u64()),
            None => STACK.with(|s| {
                s.borrow()
                    .iter()
                    .rev()
                    .find(|id| seen.spans.get(id).is_some_and(|(n, _, _)| n == "task"))
                    .copied()
            }),
        };
        let in_task_span = span.and_then(|s| seen.spans.get(&s).and_then(|(_, id, _)| *id));
        seen.events.push(SeenEvent {
            message: f.message,
            task_id: f.task_id,
            outcome: f.outcome,
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

    // The span carries the spawn location: this file.
    let (_, _, location) = seen
        .spans
        .values()
        .find(|(name, sid, _)| name == "task" && *sid == Some(id))
        .expect("no task span with the task's id");
    let location = location.as_deref().expect("task span without a location");
    assert!(location.contains("tracing.rs"), "location {location:?}");

    // A spawn event and a completion event name the task.
    assert!(
        seen.events
            .iter()
            .any(|e| e.message == "spawn" && e.task_id == Some(id)),
        "no spawn event for task {id}"
    );
    let done = seen
        .events
        .iter()
        .find(|e| e.message == "complete" && e.task_id == Some(id))
        .unwrap_or_else(|| panic!("no complete event for task {id}"));
    assert_eq!(done.outcome.as_deref(), Some("ok"));
    assert_eq!(done.in_task_span, Some(id));
}
