//! Annotations: a task's priority orders the ready tasks, its resources
//! say where and how many at once it runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delayed::diagnostics::{Callback, TaskStart};
use delayed::{Client, Delayed, ErrorKind, Resources, delayed};

/// The keys of the tasks in the order they started.
#[derive(Default)]
struct Starts(Mutex<Vec<String>>);

impl Callback for Starts {
    fn task_start(&self, task: &TaskStart<'_>) {
        self.0.lock().unwrap().push(task.key.to_string());
    }
}

#[delayed]
fn job(n: u32) -> u32 {
    n
}

#[delayed(priority = 10)]
fn urgent(n: u32) -> u32 {
    n
}

#[delayed(priority = -3)]
fn whenever(n: u32) -> u32 {
    n
}

fn order_on(client: impl Fn(Arc<Starts>) -> Client) {
    let starts = Arc::new(Starts::default());
    let client = client(starts.clone());
    let tasks: Vec<Delayed<u32>> = vec![
        job(0),
        whenever(1),
        job(2).with_priority(3),
        urgent(3),
        job(4),
        job(5).with_priority(3),
        job(6).with_priority(-3),
    ];
    // Keys in the order the priorities say: highest first, ties as listed.
    let expected: Vec<String> = [3, 2, 5, 0, 4, 1, 6]
        .iter()
        .map(|&i| tasks[i].key().to_string())
        .collect();
    assert_eq!(client.compute(&tasks).unwrap(), [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(*starts.0.lock().unwrap(), expected);
}

#[test]
fn ready_tasks_run_highest_priority_first_ties_in_order() {
    order_on(|starts| {
        Client::builder()
            .threads(1)
            .callback(starts)
            .build()
            .unwrap()
    });
    order_on(|starts| {
        Client::builder()
            .synchronous()
            .callback(starts)
            .build()
            .unwrap()
    });
}

#[test]
fn a_dependent_waits_its_turn_behind_a_higher_queued_task() {
    for synchronous in [false, true] {
        let starts = Arc::new(Starts::default());
        let builder = Client::builder().callback(starts.clone());
        let client = match synchronous {
            true => builder.synchronous(),
            false => builder.threads(1),
        }
        .build()
        .unwrap();
        let first = job(1);
        let next = job(first.clone()).with_priority(-1);
        let important = job(2).with_priority(5);
        let low = job(3);
        client
            .compute(&(next.clone(), low.clone(), important.clone()))
            .unwrap();
        let order: Vec<String> = [&important, &first, &low, &next]
            .iter()
            .map(|h| h.key().to_string())
            .collect();
        assert_eq!(
            *starts.0.lock().unwrap(),
            order,
            "synchronous: {synchronous}"
        );
    }
}

static ON_GPU: AtomicUsize = AtomicUsize::new(0);
static MOST_ON_GPU: AtomicUsize = AtomicUsize::new(0);
static CPU_WHILE_GPU: AtomicUsize = AtomicUsize::new(0);

#[delayed(resources(gpu = 1))]
fn train(seed: u32) -> u32 {
    let now = ON_GPU.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_ON_GPU.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    ON_GPU.fetch_sub(1, Ordering::SeqCst);
    seed
}

#[delayed]
fn prepare(seed: u32) -> u32 {
    if ON_GPU.load(Ordering::SeqCst) > 0 {
        CPU_WHILE_GPU.fetch_add(1, Ordering::SeqCst);
    }
    std::thread::sleep(Duration::from_millis(5));
    seed
}

#[delayed(resources(gpu = 1))]
async fn infer(seed: u32) -> u32 {
    let now = ON_GPU.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_ON_GPU.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    ON_GPU.fetch_sub(1, Ordering::SeqCst);
    seed
}

#[test]
fn a_task_holds_its_resources_while_it_runs_and_the_rest_go_on() {
    for gpus in [1, 2] {
        MOST_ON_GPU.store(0, Ordering::SeqCst);
        CPU_WHILE_GPU.store(0, Ordering::SeqCst);
        let client = Client::builder()
            .threads(4)
            .resources(Resources::from([("gpu", gpus)]))
            .build()
            .unwrap();
        let trained: Vec<Delayed<u32>> = (0..6).map(train).collect();
        let inferred: Vec<Delayed<u32>> = (0..6).map(infer).collect();
        let prepared: Vec<Delayed<u32>> = (0..12).map(prepare).collect();
        let (t, i, p) = client.compute(&(trained, inferred, prepared)).unwrap();
        assert_eq!((t.len(), i.len(), p.len()), (6, 6, 12));
        assert_eq!(
            MOST_ON_GPU.load(Ordering::SeqCst),
            gpus as usize,
            "gpus: {gpus}"
        );
        assert!(
            CPU_WHILE_GPU.load(Ordering::SeqCst) > 0,
            "tasks needing nothing ran beside those on the GPU"
        );
    }
}

#[delayed(resources(memory = "4GiB"))]
fn big_join(x: u32) -> u32 {
    x
}

#[test]
fn a_task_no_one_can_fit_fails_at_once_naming_the_resource() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = {
        let runs = runs.clone();
        move |x: u32| {
            runs.fetch_add(1, Ordering::SeqCst);
            x
        }
    };
    for client in [
        Client::builder().threads(2).build().unwrap(),
        Client::builder().synchronous().build().unwrap(),
        Client::builder()
            .threads(2)
            .resources("memory=2GiB".parse::<Resources>().unwrap())
            .build()
            .unwrap(),
    ] {
        let slow = delayed::value(1_u32).map(counted.clone());
        let joined = big_join(slow.clone());
        let started = Instant::now();
        let err = client.compute(&(slow, joined.clone())).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "at once, never a hang"
        );
        assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
        assert_eq!(err.key(), Some(joined.key()));
        let message = err.to_string();
        assert!(message.contains("needs memory=4GiB"), "{message}");
        assert!(
            message.contains("has no memory") || message.contains("has memory=2GiB"),
            "{message}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 0, "no task ran first");
    }
    // With enough, it runs.
    let client = Client::builder()
        .threads(2)
        .resources(Resources::from([("memory", 8 << 30)]))
        .build()
        .unwrap();
    assert_eq!(client.compute(&big_join(7)).unwrap(), 7);
    // `with_resources` on any handle, and a bad list, say what to write.
    let err = "gpu=lots".parse::<Resources>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let mapped = delayed::value(2)
        .map(|x| x + 1)
        .with_resources([("gpu", 1)]);
    let err = client.compute(&mapped).unwrap_err();
    assert!(err.to_string().contains("needs gpu=1"), "{err}");
}
