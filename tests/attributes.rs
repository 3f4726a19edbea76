//! Which attributes of a `#[delayed]` function go where: attribute macros
//! wrap the body that runs as the task, wherever they are written; docs,
//! `cfg`, `must_use`, `inline` and lint levels stay on the lazy function
//! (lint levels also cover the body, which is expanded inside it).

#![deny(unused_variables)]

mod common;

use common::spans::Spans;
use delayed::{Client, delayed};

#[delayed]
#[tracing::instrument]
fn below(x: i64) -> i64 {
    x + 1
}

#[tracing::instrument]
#[delayed]
fn above(x: i64) -> i64 {
    x + 2
}

#[delayed]
#[tracing::instrument(name = "fetching")]
async fn fetch(id: u32) -> String {
    format!("page {id}")
}

/// `#[tracing::instrument]` below `#[delayed]` used to wrap the graph
/// building, not the task's run.
#[test]
fn instrument_wraps_the_task_run_wherever_it_is_written() {
    let spans = Spans::default();
    let client = Client::synchronous();
    tracing::subscriber::with_default(spans.clone(), || {
        let tasks = (below(1), above(1), fetch(7));
        assert!(spans.names().is_empty(), "no span while building");
        let values = client.compute(&tasks).unwrap();
        assert_eq!(values, (2, 3, "page 7".to_string()));
    });
    // (With the `tracing` feature each task also runs in a `task` span.)
    let ours: Vec<String> = spans.names().into_iter().filter(|n| n != "task").collect();
    assert_eq!(ours, ["below", "above", "fetching"]);
}

mod lazy_function_attributes {
    use delayed::delayed;

    /// Doubles a number.
    #[delayed]
    #[must_use]
    #[inline]
    #[allow(unused_variables)]
    pub fn double(x: i64) -> i64 {
        // Unused on purpose: the file denies unused variables, so this
        // compiles only because `allow` reaches the body.
        let unused = 0;
        2 * x
    }

    // Compiled out: if `cfg` were lost, `triple` would be defined twice.
    #[delayed]
    #[cfg(not(test))]
    pub fn triple(x: i64) -> i64 {
        x
    }

    #[delayed]
    #[cfg(test)]
    pub fn triple(x: i64) -> i64 {
        3 * x
    }
}

#[test]
fn docs_cfg_must_use_inline_and_lints_stay_on_the_lazy_function() {
    let (two, three) = delayed::compute!(
        lazy_function_attributes::double(1),
        lazy_function_attributes::triple(1)
    )
    .unwrap();
    assert_eq!((two, three), (2, 3));
}
