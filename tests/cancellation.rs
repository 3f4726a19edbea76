//! Dropping a `compute_async` future cancels the compute: no new task
//! starts, running ones finish, and nothing of the run is leaked.

mod common;

use delayed::{Client, Delayed, delayed};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A value that counts its live instances.
struct Tracked(u64);

impl Tracked {
    fn new(v: u64) -> Tracked {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Tracked(v)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

const LINKS: usize = 200;

fn cancel_after(tip: Delayed<Tracked>, wait: Duration) {
    let client = Client::builder().threads(2).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancelled = runtime.block_on(async {
        tokio::time::timeout(wait, client.compute_async(&tip.map_ref(|t| t.0))).await
    });
    assert!(
        cancelled.is_err(),
        "the compute should still have been running"
    );
}

#[test]
fn dropping_the_future_stops_async_tasks_from_starting() {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    async fn step(prev: &Tracked) -> Tracked {
        STARTED.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2)).await;
        Tracked::new(prev.0 + 1)
    }
    let mut tip = step(Tracked::new(0));
    for _ in 1..LINKS {
        tip = step(tip);
    }
    cancel_after(tip, Duration::from_millis(40));
    let started = STARTED.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        STARTED.load(Ordering::SeqCst),
        started,
        "tasks started after cancellation"
    );
    assert!(started < LINKS, "all {started} tasks ran");
    // The run and every value it held are gone: nothing leaked.
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn dropping_the_future_stops_blocking_tasks_from_starting() {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    static LIVE_B: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn step(prev: u64) -> u64 {
        STARTED.fetch_add(1, Ordering::SeqCst);
        LIVE_B.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(2));
        LIVE_B.fetch_sub(1, Ordering::SeqCst);
        prev + 1
    }
    let wide: Vec<Delayed<u64>> = (0..LINKS as u64).map(step).collect();
    let client = Client::builder().threads(1).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancelled = runtime.block_on(async {
        tokio::time::timeout(Duration::from_millis(30), client.compute_async(&wide)).await
    });
    assert!(cancelled.is_err());
    std::thread::sleep(Duration::from_millis(20)); // the running task ends
    let started = STARTED.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(STARTED.load(Ordering::SeqCst), started);
    assert!(started < LINKS);
    assert_eq!(LIVE_B.load(Ordering::SeqCst), 0, "a task is still running");
    // The client still works.
    assert_eq!(client.compute(&step(1)).unwrap(), 2);
}
