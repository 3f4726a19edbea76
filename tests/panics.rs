//! Every panic we can attribute fails the compute in the name of a task,
//! the same way on every client: in a body, in the `Drop` of a value its
//! last consumer releases, and in a callback hook.

mod common;

use delayed::diagnostics::{Callback, ComputeStart, TaskStart};
use delayed::{Client, Error, delayed};
use std::error::Error as _;
use std::sync::Arc;

/// A value whose `Drop` panics.
#[derive(Clone)]
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("bomb dropped");
        }
    }
}

#[delayed]
fn make_bomb() -> Bomb {
    Bomb
}

#[delayed]
fn look_at(_bomb: &Bomb) -> u32 {
    1
}

#[delayed]
fn take(bomb: Bomb) -> u32 {
    std::mem::forget(bomb);
    2
}

/// Both kinds of client, with `callback` registered if there is one.
fn clients(callback: Option<Panicky>) -> Vec<(&'static str, Client)> {
    let callback: Option<Arc<dyn Callback>> = callback.map(|c| Arc::new(c) as Arc<dyn Callback>);
    let builder = || {
        let builder = Client::builder();
        match &callback {
            Some(callback) => builder.callback(callback.clone()),
            None => builder,
        }
    };
    vec![
        ("threaded", builder().threads(2).build().unwrap()),
        ("synchronous", builder().synchronous().build().unwrap()),
    ]
}

fn assert_panicked_in(error: &Error, key: &delayed::Key, message: &str) {
    assert!(error.is_panic(), "{error:?}");
    assert_eq!(error.key(), Some(key), "{error:?}");
    assert_eq!(error.source().unwrap().to_string(), message);
}

/// The input's `Drop` used to run outside the guard: the threaded client
/// lost the task ("the delayed runtime stopped"), the synchronous one
/// unwound into the caller.
#[test]
fn a_panic_dropping_an_input_fails_the_task_that_released_it() {
    for (name, client) in clients(None) {
        let consumer = look_at(make_bomb());
        let error = common::within(30, {
            let (client, consumer) = (client.clone(), consumer.clone());
            move || client.compute(&consumer).unwrap_err()
        });
        assert_panicked_in(&error, consumer.key(), "bomb dropped");
        // The client is still usable.
        assert_eq!(client.compute(&take(make_bomb())).unwrap(), 2, "{name}");
    }
}

/// A callback that panics in one of its hooks.
struct Panicky {
    in_start: bool,
}

impl Callback for Panicky {
    fn start(&self, _: &ComputeStart<'_>) {
        if self.in_start {
            panic!("start hook");
        }
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        if !self.in_start && task.name == "watched" {
            panic!("task hook");
        }
    }
}

#[delayed]
fn watched(x: i64) -> i64 {
    x + 1
}

/// A hook that panicked used to lose its task on the threaded client and
/// unwind into the caller on the synchronous one.
#[test]
fn a_panic_in_a_task_hook_fails_that_task() {
    for (name, client) in clients(Some(Panicky { in_start: false })) {
        let task = watched(delayed::value(1).map(|x| x * 10));
        let error = common::within(30, {
            let (client, task) = (client.clone(), task.clone());
            move || client.compute(&task).unwrap_err()
        });
        assert_panicked_in(&error, task.key(), "task hook");
        // Tasks the hook lets through still run on the same client.
        assert_eq!(
            client.compute(&delayed::value(3).map(|x| x + 1)).unwrap(),
            4,
            "{name}"
        );
    }
}

#[test]
fn a_panic_in_a_compute_hook_fails_the_compute_without_a_task() {
    for (name, client) in clients(Some(Panicky { in_start: true })) {
        let error = common::within(30, {
            let client = client.clone();
            move || client.compute(&watched(1)).unwrap_err()
        });
        assert!(error.is_panic(), "{name}: {error:?}");
        assert_eq!(error.key(), None);
        assert_eq!(error.to_string(), "a callback panicked in its `start` hook");
        assert_eq!(error.source().unwrap().to_string(), "start hook");
    }
}
