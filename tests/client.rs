//! `Client`: bounded threads, the synchronous scheduler, async computes.

mod common;

use common::{Gauge, within};
use delayed::{Client, Delayed, compute, delayed};
use std::sync::Mutex;
use std::time::Duration;

#[test]
fn threads_bounds_how_many_tasks_run_at_once() {
    static GAUGE: Gauge = Gauge::new();
    #[delayed]
    fn busy(i: u32) -> u32 {
        let _inside = GAUGE.enter();
        // Wait for a partner so that two tasks surely overlap if allowed.
        GAUGE.wait_for(2, Duration::from_millis(500));
        i
    }
    let client = Client::builder().threads(2).build().unwrap();
    let tasks: Vec<Delayed<u32>> = (0..8).map(busy).collect();
    let values = within(30, move || client.compute(&tasks).unwrap());
    assert_eq!(values, (0..8).collect::<Vec<_>>());
    assert_eq!(GAUGE.max(), 2);
}

#[test]
fn one_thread_runs_one_task_at_a_time() {
    static GAUGE: Gauge = Gauge::new();
    #[delayed]
    fn busy(i: u32) -> u32 {
        let _inside = GAUGE.enter();
        std::thread::sleep(Duration::from_millis(2));
        i
    }
    let client = Client::builder().threads(1).build().unwrap();
    let tasks: Vec<Delayed<u32>> = (0..10).map(busy).collect();
    within(30, move || client.compute(&tasks).unwrap());
    assert_eq!(GAUGE.max(), 1);
}

#[test]
fn blocking_tasks_do_not_starve_each_other_on_the_default_client() {
    // Twenty sleeping tasks on two cores: each waits until all twenty are
    // inside at once, which only happens if blocking never holds a worker.
    static GAUGE: Gauge = Gauge::new();
    #[delayed]
    fn sleeper(i: u32) -> bool {
        let _inside = GAUGE.enter();
        let all_in = GAUGE.wait_for(20, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(i as u64 % 3));
        all_in
    }
    let tasks: Vec<Delayed<bool>> = (0..20).map(sleeper).collect();
    let all_in = within(60, move || compute!(tasks).unwrap());
    assert!(all_in.iter().all(|&x| x), "{all_in:?}");
}

#[test]
fn async_tasks_wait_together() {
    static GAUGE: Gauge = Gauge::new();
    #[delayed]
    async fn waiter(i: u32) -> u32 {
        let _inside = GAUGE.enter();
        while GAUGE.max() < 30 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        i
    }
    let tasks: Vec<Delayed<u32>> = (0..30).map(waiter).collect();
    within(60, move || compute!(tasks).unwrap());
    assert_eq!(GAUGE.max(), 30);
}

#[test]
fn the_synchronous_client_runs_in_order_on_the_calling_thread() {
    static LOG: Mutex<Vec<(String, std::thread::ThreadId)>> = Mutex::new(Vec::new());
    #[delayed]
    fn step(name: &'static str, _after: Vec<u8>) -> Vec<u8> {
        LOG.lock()
            .unwrap()
            .push((name.to_string(), std::thread::current().id()));
        Vec::new()
    }
    let a = step("a", Vec::<u8>::new());
    let b = step("b", &a);
    let c = step("c", Vec::<u8>::new());
    let d = step("d", &b);
    let client = Client::synchronous();
    for _ in 0..3 {
        client.compute(&(d.clone(), c.clone())).unwrap();
    }
    let log = LOG.lock().unwrap();
    let names: Vec<&str> = log.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["a", "b", "d", "c", "a", "b", "d", "c", "a", "b", "d", "c"]
    );
    let me = std::thread::current().id();
    assert!(log.iter().all(|(_, thread)| *thread == me));
}

#[test]
fn the_synchronous_client_awaits_async_tasks() {
    #[delayed]
    async fn later(x: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
        x + 1
    }
    let client = Client::synchronous();
    assert_eq!(client.compute(&later(later(1))).unwrap(), 3);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let value = runtime.block_on(client.compute_async(&later(5))).unwrap();
    assert_eq!(value, 6);
}

#[test]
fn client_compute_async_from_another_runtime() {
    #[delayed]
    fn square(x: u64) -> u64 {
        x * x
    }
    let client = Client::builder().threads(3).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let l = vec![square(2), square(3)];
    assert_eq!(runtime.block_on(client.compute_async(&l)).unwrap(), [4, 9]);
}

#[test]
fn clients_are_cloneable_and_can_be_dropped_inside_async_code() {
    let client = Client::builder().threads(2).build().unwrap();
    let copy = client.clone();
    drop(client);
    assert_eq!(copy.compute(&delayed::value(1)).unwrap(), 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let inner = Client::builder().threads(1).build().unwrap();
        assert_eq!(inner.compute_async(&delayed::value(2)).await.unwrap(), 2);
        drop(inner); // must not panic inside the runtime
        drop(copy);
    });
}

#[test]
fn zero_threads_is_a_clear_error() {
    let err = Client::builder().threads(0).build().unwrap_err();
    // A setting to fix, said in the error itself, not a failure to start.
    assert_eq!(err.kind(), delayed::ErrorKind::Config);
    let shown = err.to_string();
    assert!(shown.contains("at least one thread"), "{shown}");
    assert!(shown.contains("threads(1)"), "{shown}");
    assert_eq!(Client::synchronous().threads(), None);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(Client::global().unwrap().threads(), Some(cores));
}

#[test]
fn a_task_computing_on_its_own_one_thread_client_does_not_deadlock() {
    use std::sync::OnceLock;
    static CLIENT: OnceLock<Client> = OnceLock::new();
    #[delayed]
    fn double(x: u64) -> u64 {
        2 * x
    }
    #[delayed]
    fn nested(x: u64) -> u64 {
        // The only permit is held by this task while it waits.
        let client = CLIENT.get().unwrap();
        client
            .compute(&vec![double(x), double(x + 1)])
            .unwrap()
            .iter()
            .sum()
    }
    let client = CLIENT.get_or_init(|| Client::builder().threads(1).build().unwrap());
    let outer: Vec<Delayed<u64>> = (0..4).map(nested).collect();
    let values = within(30, move || client.compute(&outer).unwrap());
    assert_eq!(values, [2, 6, 10, 14]);
}

#[test]
fn a_finished_compute_returns_while_other_computes_hold_every_permit() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Instant;
    static RELEASE: AtomicBool = AtomicBool::new(false);
    static ROOT_STARTED: AtomicBool = AtomicBool::new(false);
    static HOLDING: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn hold(i: u64) -> u64 {
        // Holds a permit until told to let go (or 20 s pass).
        HOLDING.fetch_add(1, Ordering::SeqCst);
        common::wait_until("the release", || RELEASE.load(Ordering::SeqCst));
        i
    }
    #[delayed]
    fn quick(x: u64) -> u64 {
        x + 1
    }
    #[delayed]
    fn slow_root(x: u64) -> u64 {
        // Runs until the other compute holds the second permit.
        ROOT_STARTED.store(true, Ordering::SeqCst);
        common::wait_until("the other compute's task", || {
            HOLDING.load(Ordering::SeqCst) >= 1
        });
        x + 1
    }
    let client = Client::builder().threads(2).build().unwrap();
    // A wide graph: its first task makes several ready at once, so more
    // drivers are asked for than permits can be had.
    let quick_graph: Vec<Delayed<u64>> = {
        let root = slow_root(0);
        (0..8).map(|_| quick(&root)).collect()
    };
    let first = client.clone();
    let quick_done = std::thread::spawn(move || {
        let start = Instant::now();
        let values = first.compute(&quick_graph).unwrap();
        (values, start.elapsed())
    });
    common::wait_until("the root", || ROOT_STARTED.load(Ordering::SeqCst));
    // While its root runs, another compute takes the other permit, and
    // queues for the root's one; both keep theirs.
    let second = client.clone();
    let holders = std::thread::spawn(move || second.compute(&vec![hold(1), hold(2)]).unwrap());
    let (values, took) = within(60, move || quick_done.join().unwrap());
    let held = HOLDING.load(Ordering::SeqCst);
    RELEASE.store(true, Ordering::SeqCst);
    holders.join().unwrap();
    assert_eq!(values, vec![2; 8]);
    assert!(
        held >= 1,
        "the other compute held a permit while the root ran"
    );
    assert!(
        took < Duration::from_secs(10),
        "the quick compute waited {took:?} for another's permits"
    );
}
