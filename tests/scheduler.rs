//! The scheduler decides concurrency by itself: CPU-bound tasks never run
//! more than one per core, blocked ones lend their place, async tasks hold
//! none, nested computes help instead of deadlocking, and `compute` works
//! from any context. Every test that could hang runs under a watchdog.

mod common;

use common::{Gauge, within};
use delayed::{Client, Delayed, delayed};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn cores() -> usize {
    std::thread::available_parallelism().unwrap().get()
}

#[test]
fn cpu_bound_tasks_never_run_more_than_one_per_core_on_the_default_client() {
    static RUNNING: Gauge = Gauge::new();
    #[delayed]
    fn spin(i: u64) -> u64 {
        let _inside = RUNNING.enter();
        // Pure arithmetic for 20 ms: the thread never sleeps.
        let start = Instant::now();
        let mut x = i;
        while start.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        x
    }
    let client = Client::builder().build().unwrap();
    let tasks: Vec<Delayed<u64>> = (0..(8 * cores() as u64)).map(spin).collect();
    within(60, move || client.compute(&tasks).unwrap());
    assert!(
        RUNNING.max() <= cores(),
        "{} CPU-bound tasks ran at once on {} cores",
        RUNNING.max(),
        cores()
    );
}

#[test]
fn blocked_tasks_lend_their_place_on_the_default_client() {
    static RUNNING: Gauge = Gauge::new();
    #[delayed]
    fn nap(i: u64) -> u64 {
        let _inside = RUNNING.enter();
        std::thread::sleep(Duration::from_millis(300));
        i
    }
    let client = Client::builder().build().unwrap();
    let tasks: Vec<Delayed<u64>> = (0..(4 * cores() as u64)).map(nap).collect();
    let values = within(60, move || client.compute(&tasks).unwrap());
    assert_eq!(values.len(), 4 * cores());
    assert!(
        RUNNING.max() > cores(),
        "sleeping tasks should overlap beyond the {} cores, saw {}",
        cores(),
        RUNNING.max()
    );
}

#[test]
fn a_fixed_thread_count_bounds_blocked_tasks_too() {
    static RUNNING: Gauge = Gauge::new();
    #[delayed]
    fn nap(i: u64) -> u64 {
        let _inside = RUNNING.enter();
        std::thread::sleep(Duration::from_millis(20));
        i
    }
    let client = Client::builder().threads(2).build().unwrap();
    let tasks: Vec<Delayed<u64>> = (0..12).map(nap).collect();
    within(60, move || client.compute(&tasks).unwrap());
    assert_eq!(RUNNING.max(), 2);
}

#[test]
fn async_tasks_hold_no_slot_while_they_wait() {
    static WAITING: Gauge = Gauge::new();
    #[delayed]
    async fn wait(i: u64) -> u64 {
        let _inside = WAITING.enter();
        tokio::time::sleep(Duration::from_millis(200)).await;
        i
    }
    let client = Client::builder().threads(1).build().unwrap();
    let tasks: Vec<Delayed<u64>> = (0..20).map(wait).collect();
    within(60, move || client.compute(&tasks).unwrap());
    assert_eq!(WAITING.max(), 20, "all twenty wait at once on one slot");
}

#[test]
fn async_tasks_in_flight_are_bounded_per_compute() {
    static WAITING: Gauge = Gauge::new();
    #[delayed]
    async fn wait(i: u64) -> u64 {
        let _inside = WAITING.enter();
        tokio::time::sleep(Duration::from_millis(20)).await;
        i
    }
    let client = Client::builder().max_async_tasks(3).build().unwrap();
    let tasks: Vec<Delayed<u64>> = (0..15).map(wait).collect();
    let values = within(60, move || client.compute(&tasks).unwrap());
    assert_eq!(values, (0..15).collect::<Vec<_>>());
    assert_eq!(WAITING.max(), 3);
}

static ONE: OnceLock<Client> = OnceLock::new();

fn one_thread() -> &'static Client {
    ONE.get_or_init(|| Client::builder().threads(1).build().unwrap())
}

#[delayed]
fn double(x: u64) -> u64 {
    2 * x
}

#[test]
fn an_async_task_awaiting_compute_async_on_its_own_one_thread_client_finishes() {
    #[delayed]
    async fn outer(x: u64) -> u64 {
        let inner = vec![double(x), double(x + 1)];
        one_thread()
            .compute_async(&inner)
            .await
            .unwrap()
            .iter()
            .sum()
    }
    let tasks: Vec<Delayed<u64>> = (0..4).map(outer).collect();
    let values = within(30, move || one_thread().compute(&tasks).unwrap());
    assert_eq!(values, [2, 6, 10, 14]);
}

#[test]
fn an_async_task_calling_blocking_compute_on_its_own_one_thread_client_finishes() {
    #[delayed]
    async fn outer(x: u64) -> u64 {
        one_thread().compute(&double(x)).unwrap()
    }
    let tasks: Vec<Delayed<u64>> = (0..4).map(outer).collect();
    let values = within(30, move || one_thread().compute(&tasks).unwrap());
    assert_eq!(values, [0, 2, 4, 6]);
}

static TWO: OnceLock<Client> = OnceLock::new();

#[delayed]
fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let client = TWO.get().unwrap();
    let (a, b) = client.compute(&(fib(n - 1), fib(n - 2))).unwrap();
    a + b
}

#[test]
fn recursive_nested_computes_on_two_threads_finish() {
    let client = TWO.get_or_init(|| Client::builder().threads(2).build().unwrap());
    let value = within(120, move || client.compute(&fib(16)).unwrap());
    assert_eq!(value, 987);
}

#[test]
fn compute_works_inside_a_local_set_on_a_multi_thread_runtime() {
    let value = within(30, || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async { double(21).compute().unwrap() })
    });
    assert_eq!(value, 42);
}

#[test]
fn compute_works_inside_a_spawned_local_task() {
    let value = within(30, || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            tokio::task::spawn_local(async { double(5).compute().unwrap() })
                .await
                .unwrap()
        })
    });
    assert_eq!(value, 10);
}

#[test]
fn compute_works_on_a_current_thread_runtime() {
    let value = within(30, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async { double(4).compute().unwrap() })
    });
    assert_eq!(value, 8);
}

#[test]
fn compute_works_in_tasks_of_a_multi_thread_runtime_and_in_spawn_blocking() {
    let values = within(30, || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        runtime.block_on(async {
            let spawned = tokio::spawn(async { double(1).compute().unwrap() });
            let blocking = tokio::task::spawn_blocking(|| double(2).compute().unwrap());
            (spawned.await.unwrap(), blocking.await.unwrap())
        })
    });
    assert_eq!(values, (2, 4));
}

#[test]
fn compute_works_in_a_drop() {
    static DROPPED_WITH: AtomicUsize = AtomicUsize::new(0);
    struct ComputesOnDrop;
    impl Drop for ComputesOnDrop {
        fn drop(&mut self) {
            let value = one_thread().compute(&double(3)).unwrap();
            DROPPED_WITH.store(value as usize, Ordering::SeqCst);
        }
    }
    #[delayed]
    fn make(_x: u64) -> std::sync::Arc<ComputesOnDrop> {
        std::sync::Arc::new(ComputesOnDrop)
    }
    #[delayed]
    fn consume(value: &std::sync::Arc<ComputesOnDrop>) -> u64 {
        std::sync::Arc::strong_count(value) as u64
    }
    // The value is dropped on a worker, by its last consumer.
    let task = consume(make(0));
    within(30, move || one_thread().compute(&task).unwrap());
    assert_eq!(DROPPED_WITH.load(Ordering::SeqCst), 6);
    // And on the caller's thread.
    within(30, || drop(ComputesOnDrop));
}

#[test]
fn threads_above_the_ceiling_is_an_error_that_says_what_to_write() {
    let err = Client::builder().threads(600).build().unwrap_err();
    assert_eq!(err.kind(), delayed::ErrorKind::Config);
    let shown = err.to_string();
    assert!(shown.contains("max_threads(600)"), "{shown}");
    let client = Client::builder()
        .threads(600)
        .max_threads(600)
        .build()
        .unwrap();
    assert_eq!(client.threads(), Some(600));
    for bad in [
        Client::builder().max_threads(0),
        Client::builder().max_async_tasks(0),
    ] {
        let err = bad.build().unwrap_err();
        assert_eq!(err.kind(), delayed::ErrorKind::Config);
        let shown = err.to_string();
        assert!(shown.contains("at least 1"), "{shown}");
    }
}

#[test]
fn the_last_of_overlapping_by_value_consumers_gets_the_value_moved() {
    static CLONES: AtomicUsize = AtomicUsize::new(0);
    static OVERLAP: Gauge = Gauge::new();
    struct Big(Vec<u8>);
    impl Clone for Big {
        fn clone(&self) -> Big {
            CLONES.fetch_add(1, Ordering::SeqCst);
            Big(self.0.clone())
        }
    }
    #[delayed]
    fn make(n: usize) -> Big {
        Big(vec![7; n])
    }
    #[delayed]
    fn consume(big: Big) -> usize {
        let _inside = OVERLAP.enter();
        std::thread::sleep(Duration::from_millis(2));
        big.0.len()
    }
    let client = Client::builder().threads(4).build().unwrap();
    let big = make(1 << 16);
    let consumers: Vec<Delayed<usize>> = (0..50).map(|_| consume(&big)).collect();
    let lens = within(60, move || client.compute(&consumers).unwrap());
    assert_eq!(lens, vec![1 << 16; 50]);
    assert!(OVERLAP.max() > 1, "the consumers overlapped");
    assert_eq!(CLONES.load(Ordering::SeqCst), 49, "49 clones and one move");
}

#[test]
fn chains_whose_length_is_a_multiple_of_the_counting_batch_finish() {
    // Workers count done tasks in batches of 256: the batch that holds the
    // last task must end the compute.
    for length in [255_u64, 256, 257, 512] {
        let client = Client::builder().threads(2).build().unwrap();
        let mut tip = double(1);
        for _ in 1..length {
            tip = inc_chain(tip);
        }
        let value = within(30, move || client.compute(&tip).unwrap());
        assert_eq!(value, 2 + length - 1, "a chain of {length}");
    }
}

#[delayed]
fn inc_chain(x: u64) -> u64 {
    x + 1
}

#[test]
fn tasks_a_pool_thread_took_do_not_wait_for_its_blocked_task() {
    // A pool thread that runs tiny tasks takes a few queued ones at once.
    // One of them blocks here until every other task has run: the tasks it
    // took besides must go to the other pool thread, or they would wait
    // for it, and it for them, until the latch gives up.
    const TASKS: u64 = 4_000;
    static DONE: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn tiny(i: u64) -> u64 {
        DONE.fetch_add(1, Ordering::SeqCst);
        i
    }
    #[delayed]
    fn latch(i: u64) -> Result<u64, String> {
        let start = Instant::now();
        while DONE.load(Ordering::SeqCst) < (TASKS - 1) as usize {
            if start.elapsed() > Duration::from_secs(20) {
                return Err(format!(
                    "{} of {} other tasks ran; the rest waited for this one",
                    DONE.load(Ordering::SeqCst),
                    TASKS - 1
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(i)
    }
    let client = Client::builder().threads(2).build().unwrap();
    // The latch at a few places, each well inside the fan, where the pool
    // threads take several tasks at a time.
    for at in [300, 1_000, 2_500] {
        DONE.store(0, Ordering::SeqCst);
        let tasks: Vec<Delayed<u64>> = (0..TASKS)
            .map(|i| if i == at { latch(i) } else { tiny(i) })
            .collect();
        let client = client.clone();
        let values = within(60, move || client.compute(&tasks).unwrap());
        assert_eq!(values, (0..TASKS).collect::<Vec<_>>());
    }
}
