//! Retries and timeouts: a flaky task runs again with backoff, every
//! attempt is visible to callbacks, the final error says how many attempts
//! were made, async attempts that run out of time are dropped, and a
//! synchronous task that runs out of time fails the compute without
//! waiting for it.

mod common;

use common::{Gate, within};
use delayed::diagnostics::{Callback, TaskStart};
use delayed::{Client, delayed};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

fn clients() -> Vec<(&'static str, Client)> {
    vec![
        ("threaded", Client::builder().threads(2).build().unwrap()),
        ("synchronous", Client::synchronous()),
    ]
}

/// Counts task starts, attempts included.
#[derive(Default)]
struct Starts(AtomicUsize);

impl Callback for Starts {
    fn task_start(&self, _task: &TaskStart<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_task_that_fails_twice_then_works_is_retried_and_every_attempt_is_seen() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[delayed(retries = 3, backoff = "1ms")]
    fn flaky(x: u32) -> Result<u32, String> {
        match CALLS.fetch_add(1, Ordering::SeqCst) % 3 {
            0 | 1 => Err(format!("attempt failed for {x}")),
            _ => Ok(x * 2),
        }
    }
    for (name, client) in clients() {
        let starts = Arc::new(Starts::default());
        let builder = match client.threads() {
            Some(threads) => Client::builder().threads(threads),
            None => Client::builder().synchronous(),
        };
        let client = builder.callback(starts.clone()).build().unwrap();
        CALLS.store(0, Ordering::SeqCst);
        assert_eq!(client.compute(&flaky(21)).unwrap(), 42, "{name}");
        assert_eq!(CALLS.load(Ordering::SeqCst), 3, "{name}");
        assert_eq!(starts.0.load(Ordering::SeqCst), 3, "{name}: three attempts");
    }
}

#[test]
fn a_panic_is_retried() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[delayed]
    fn shaky(x: u32) -> u32 {
        if CALLS.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            panic!("first attempt panics");
        }
        x + 1
    }
    for (name, client) in clients() {
        CALLS.store(0, Ordering::SeqCst);
        let task = shaky(1)
            .with_retries(1)
            .with_backoff(Duration::from_millis(1));
        assert_eq!(client.compute(&task).unwrap(), 2, "{name}");
    }
}

#[test]
fn exhausted_retries_keep_the_last_cause_and_count_the_attempts() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[delayed(retries = 2, backoff = "1ms")]
    fn broken(x: u32) -> Result<u32, String> {
        let n = CALLS.fetch_add(1, Ordering::SeqCst);
        Err(format!("failure {} of {x}", n % 3 + 1))
    }
    for (name, client) in clients() {
        CALLS.store(0, Ordering::SeqCst);
        let task = broken(7);
        let err = client.compute(&task).unwrap_err();
        assert_eq!(err.attempts(), 3, "{name}");
        assert_eq!(err.key(), Some(task.key()), "{name}");
        assert!(
            err.to_string().ends_with("failed after 3 attempts"),
            "{name}: {err}"
        );
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(cause, "failure 3 of 7", "{name}");
    }
}

#[test]
fn retrying_a_shared_handle_leaves_the_original_as_it_was() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[delayed]
    fn once_broken(x: u32) -> Result<u32, String> {
        match CALLS.fetch_add(1, Ordering::SeqCst) {
            0 => Err("first call fails".into()),
            _ => Ok(x),
        }
    }
    let plain = once_broken(5);
    let retried = plain
        .clone()
        .with_retries(1)
        .with_backoff(Duration::from_millis(1));
    assert_eq!(retried.key(), plain.key());
    assert_eq!(retried.compute().unwrap(), 5);
    CALLS.store(0, Ordering::SeqCst);
    assert_eq!(plain.compute().unwrap_err().attempts(), 1);
}

#[test]
fn a_retried_task_gets_clones_of_its_inputs_and_frees_them_after() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    #[derive(Clone)]
    struct Tracked(Vec<u8>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    #[delayed]
    fn make(n: usize) -> Tracked {
        Tracked(vec![1; n])
    }
    #[delayed(retries = 1, backoff = "1ms")]
    fn consume(data: Tracked) -> Result<usize, String> {
        // The first attempt consumes its copy and fails.
        if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err("try again".into());
        }
        Ok(data.0.len())
    }
    let client = Client::builder().threads(2).build().unwrap();
    let before = DROPS.load(Ordering::SeqCst);
    assert_eq!(client.compute(&consume(make(3))).unwrap(), 3);
    // Two attempts' clones and the stored value: all dropped.
    assert_eq!(DROPS.load(Ordering::SeqCst) - before, 3);
}

#[test]
fn an_async_attempt_that_runs_out_of_time_is_dropped() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    struct OnDrop;
    impl Drop for OnDrop {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }
    #[delayed(timeout = "20ms")]
    async fn hang(x: u32) -> u32 {
        let _guard = OnDrop;
        std::future::pending::<()>().await;
        x
    }
    for (name, client) in clients() {
        let before = DROPPED.load(Ordering::SeqCst);
        let task = hang(1);
        let err = within(30, move || client.compute(&task).unwrap_err());
        assert!(err.is_timeout(), "{name}: {err}");
        assert!(err.to_string().contains("timed out"), "{name}: {err}");
        assert_eq!(DROPPED.load(Ordering::SeqCst) - before, 1, "{name}");
    }
}

#[test]
fn an_async_task_that_times_out_once_is_retried() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[delayed(timeout = "20ms", retries = 2, backoff = "1ms")]
    async fn slow_then_fast(x: u32) -> u32 {
        if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        x
    }
    let value = within(30, || slow_then_fast(9).compute().unwrap());
    assert_eq!(value, 9);
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
}

#[test]
fn a_synchronous_task_that_runs_out_of_time_fails_the_compute_without_waiting_for_it() {
    static RELEASE: Gate = Gate::new();
    #[delayed]
    fn stuck(x: u32) -> u32 {
        // Returns only once the test has seen the compute fail.
        RELEASE.wait();
        x
    }
    let client = Client::builder().threads(1).build().unwrap();
    let task = stuck(3).with_timeout(Duration::from_millis(20));
    let key = task.key().clone();
    let err = within(30, move || client.compute(&task).unwrap_err());
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.key(), Some(&key));
    RELEASE.open();
}

#[test]
fn on_the_synchronous_client_a_late_synchronous_task_is_a_timeout() {
    #[delayed(timeout = "5ms")]
    fn late(x: u32) -> u32 {
        std::thread::sleep(Duration::from_millis(30));
        x
    }
    let err = Client::synchronous().compute(&late(1)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[test]
fn zero_retries_or_a_zero_timeout_fail_with_a_message_that_says_so() {
    #[delayed]
    fn work(x: u32) -> u32 {
        x
    }
    let task = work(1).with_retries(0);
    let err = task.compute().unwrap_err();
    assert_eq!(err.key(), Some(task.key()));
    assert!(err.to_string().contains("with_retries(0)"), "{err}");
    let err = work(1).with_timeout(Duration::ZERO).compute().unwrap_err();
    assert!(err.to_string().contains("positive duration"), "{err}");
}
