//! With the `tracing` feature, each task runs inside a span named `task`
//! with its function and key as fields.
#![cfg(feature = "tracing")]

mod common;

use common::spans::Spans;
use delayed::{Client, delayed};

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
