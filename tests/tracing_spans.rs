//! With the `tracing` feature, each task runs inside a span named `task`
//! with its function and key as fields.
#![cfg(feature = "tracing")]

use delayed::{Client, delayed};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, as `(name, value)` text.
type SpanRecord = (String, Vec<(String, String)>);

/// Records the fields of every span created.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanRecord>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(Vec::new());
        span.record(&mut fields);
        let mut spans = self.0.lock().unwrap();
        spans.push((span.metadata().name().to_owned(), fields.0));
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
async fn double(x: i64) -> i64 {
    2 * x
}

#[test]
fn each_task_runs_in_a_span_with_its_function_and_key() {
    let spans = Spans::default();
    let handle = double(inc(1));
    let inner = handle.clone();
    tracing::subscriber::with_default(spans.clone(), || {
        // The synchronous client runs the tasks on this thread, where the
        // subscriber is set.
        assert_eq!(Client::synchronous().compute(&inner).unwrap(), 4);
    });
    let spans = spans.0.lock().unwrap();
    let tasks: Vec<_> = spans.iter().filter(|(name, _)| name == "task").collect();
    assert_eq!(tasks.len(), 2);
    let field = |i: usize, name: &str| {
        tasks[i]
            .1
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field(0, "function"), "\"inc\"");
    assert_eq!(field(1, "function"), "\"double\"");
    assert_eq!(field(1, "key"), handle.key().to_string());
}
