//! `persist`: compute now, keep the value, release the upstream graph.

use delayed::{Client, delayed};
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts live instances, so the test can see upstream values freed.
#[derive(Debug)]
struct Tracked(u64);

impl Tracked {
    fn new(v: u64) -> Tracked {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Tracked(v)
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Tracked {
        Tracked::new(self.0)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn persist_reuses_the_value_and_releases_the_upstream_graph() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn summarise(data: &Tracked) -> u64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        data.0 * 2
    }
    #[delayed]
    fn add(x: u64, y: u64) -> u64 {
        x + y
    }
    // The input lives inside the graph, as a constant of the first task.
    let summary = summarise(Tracked::new(21));
    assert_eq!(LIVE.load(Ordering::SeqCst), 1);

    let persisted = summary.persist().unwrap();
    assert_eq!(persisted.key(), summary.key());
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);

    drop(summary);
    // The persisted handle does not hold the upstream task or its input.
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);

    let client = Client::builder().threads(2).build().unwrap();
    assert_eq!(client.compute(&add(&persisted, 1)).unwrap(), 43);
    assert_eq!(client.compute(&add(&persisted, 2)).unwrap(), 44);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1, "never recomputed");
}

#[test]
fn persist_reports_failures() {
    #[delayed]
    fn broken(x: u64) -> Result<u64, String> {
        Err(format!("broken {x}"))
    }
    let handle = broken(1);
    let err = Client::synchronous().persist(&handle).unwrap_err();
    assert_eq!(err.key(), Some(handle.key()));
}
