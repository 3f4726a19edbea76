//! Dropping a `compute_async` future cancels the compute: no new task
//! starts, running ones finish, and nothing of the run is leaked.

mod common;

use delayed::{Client, Delayed, delayed};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// The task that holds the compute up: the `GATE`-th one.
const GATE: u64 = 4;

/// Starts computing `computable` on `client`, cancels it by dropping its
/// future once `started` reports the gate task running, then opens the
/// gate with `release`.
fn cancel_at_the_gate<C: delayed::Computable + Sync>(
    client: &Client,
    computable: &C,
    started: &AtomicUsize,
    release: &AtomicBool,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let at_gate = async {
            while started.load(Ordering::SeqCst) < GATE as usize + 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::select! {
            _ = client.compute_async(computable) => panic!("the gate task never returns before release"),
            _ = at_gate => {}
            _ = tokio::time::sleep(Duration::from_secs(20)) => panic!("the gate task never started"),
        }
    });
    // The compute's future is dropped: cancelled while the gate task runs.
    release.store(true, Ordering::SeqCst);
}

#[test]
fn dropping_the_future_stops_async_tasks_from_starting() {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    static RELEASE: AtomicBool = AtomicBool::new(false);
    #[delayed]
    async fn step(prev: &Tracked) -> Tracked {
        STARTED.fetch_add(1, Ordering::SeqCst);
        while prev.0 == GATE && !RELEASE.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Tracked::new(prev.0 + 1)
    }
    let mut tip = step(Tracked::new(0));
    for _ in 1..LINKS {
        tip = step(tip);
    }
    let client = Client::builder().threads(2).build().unwrap();
    cancel_at_the_gate(&client, &tip.map_ref(|t| t.0), &STARTED, &RELEASE);
    drop(tip);
    // The run and every value it held go once the gate task ends: nothing
    // leaked, and no task started after the cancellation.
    common::wait_until("the run to release its values", || {
        LIVE.load(Ordering::SeqCst) == 0
    });
    assert_eq!(STARTED.load(Ordering::SeqCst), GATE as usize + 1);
}

#[test]
fn dropping_the_future_stops_blocking_tasks_from_starting() {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    static RELEASE: AtomicBool = AtomicBool::new(false);
    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn step(prev: u64) -> u64 {
        STARTED.fetch_add(1, Ordering::SeqCst);
        RUNNING.fetch_add(1, Ordering::SeqCst);
        while prev == GATE && !RELEASE.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        prev + 1
    }
    // With one task at a time, the tasks start in order: the gate task is
    // the fifth.
    let wide: Vec<Delayed<u64>> = (0..LINKS as u64).map(step).collect();
    let client = Client::builder().threads(1).build().unwrap();
    cancel_at_the_gate(&client, &wide, &STARTED, &RELEASE);
    // The next compute waits for the cancelled one's only slot, which is
    // given back once its running task has ended without starting another.
    assert_eq!(client.compute(&step(1000)).unwrap(), 1001);
    assert_eq!(STARTED.load(Ordering::SeqCst), GATE as usize + 2);
    assert_eq!(RUNNING.load(Ordering::SeqCst), 0, "a task is still running");
}
