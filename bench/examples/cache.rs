//! The cache's cost (feature `cache`): a hit against recomputing a trivial
//! task, and the overhead of caching on a graph where every task misses.
//!
//! `cargo run --release -p delayed-bench --features cache --example cache`
//!
//! Each figure is the median of 7 runs, the cached and plain forms
//! alternated in one process. Tasks are independent (a wide graph), on a
//! default client; the disk store is in the system's temporary directory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delayed::cache::{DiskStore, Store};
use delayed::{Client, Delayed, delayed};

#[delayed(cache)]
fn inc_cached(x: u64) -> u64 {
    x + 1
}

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

/// A store in memory: what the cache costs without a disk.
#[derive(Default)]
struct InMemory(Mutex<HashMap<String, Vec<u8>>>);

impl Store for InMemory {
    fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }
}

const RUNS: usize = 7;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn wide(n: u64, task: fn(u64) -> Delayed<u64>) -> Vec<Delayed<u64>> {
    (0..n).map(task).collect()
}

fn timed(client: &Client, graph: &[Delayed<u64>]) -> Duration {
    let started = Instant::now();
    let values = client.compute(graph).expect("the compute");
    let elapsed = started.elapsed();
    assert_eq!(values.len(), graph.len());
    elapsed
}

fn per_task(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("delayed-bench-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Hits: every task of a wide graph read back, against running it.
fn hits(n: u64) {
    let dir = scratch("hits");
    let disk = Client::builder()
        .cache_store(Arc::new(DiskStore::open(&dir)))
        .build()
        .unwrap();
    let memory = Client::builder()
        .cache_store(Arc::new(InMemory::default()))
        .build()
        .unwrap();
    let plain = Client::builder().build().unwrap();
    // Fill both stores once.
    timed(&disk, &wide(n, inc_cached));
    timed(&memory, &wide(n, inc_cached));
    let (mut on_disk, mut in_memory, mut recomputed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        on_disk.push(timed(&disk, &wide(n, inc_cached)));
        in_memory.push(timed(&memory, &wide(n, inc_cached)));
        recomputed.push(timed(&plain, &wide(n, inc)));
    }
    let (d, m, r) = (median(on_disk), median(in_memory), median(recomputed));
    println!("hit, {n} independent tasks, median of {RUNS}:");
    println!(
        "  recomputed (plain #[delayed])  {:8.2} µs/task",
        per_task(r, n)
    );
    println!(
        "  hit, in-memory store           {:8.2} µs/task",
        per_task(m, n)
    );
    println!(
        "  hit, disk store                {:8.2} µs/task",
        per_task(d, n)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Misses: a graph whose every task misses (a fresh store each run),
/// against the same graph of plain tasks.
fn misses(n: u64) {
    let plain = Client::builder().build().unwrap();
    let (mut on_disk, mut in_memory, mut uncached) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let dir = scratch(&format!("misses-{run}"));
        let disk = Client::builder()
            .cache_store(Arc::new(DiskStore::open(&dir)))
            .build()
            .unwrap();
        on_disk.push(timed(&disk, &wide(n, inc_cached)));
        let _ = std::fs::remove_dir_all(&dir);
        let memory = Client::builder()
            .cache_store(Arc::new(InMemory::default()))
            .build()
            .unwrap();
        in_memory.push(timed(&memory, &wide(n, inc_cached)));
        uncached.push(timed(&plain, &wide(n, inc)));
    }
    let (d, m, u) = (median(on_disk), median(in_memory), median(uncached));
    println!("every task a miss, {n} independent tasks, median of {RUNS}:");
    println!(
        "  plain #[delayed]               {:8.2} µs/task  {:7.3} s",
        per_task(u, n),
        u.as_secs_f64()
    );
    println!(
        "  cached, in-memory store        {:8.2} µs/task  {:7.3} s",
        per_task(m, n),
        m.as_secs_f64()
    );
    println!(
        "  cached, disk store             {:8.2} µs/task  {:7.3} s",
        per_task(d, n),
        d.as_secs_f64()
    );
}

/// The disk store's own operations, one thread, on small entries: where
/// a miss's time goes.
fn store_operations(n: usize) {
    let dir = scratch("store");
    let store = DiskStore::open(&dir);
    let keys: Vec<String> = (0..n).map(|i| format!("{i:032x}")).collect();
    let each = |f: &dyn Fn(&str)| {
        let started = Instant::now();
        keys.iter().for_each(|key| f(key));
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    };
    let put = each(&|key| store.put(key, &[7; 40]).unwrap());
    let get = each(&|key| assert!(store.get(key).unwrap().is_some()));
    let absent = each(&|key| assert!(store.get(&format!("absent-{key}")).unwrap().is_none()));
    let claim = each(&|key| drop(store.lock(key).unwrap()));
    println!("disk store operations, {n} keys of 40 bytes, one thread:");
    println!(
        "  put {put:8.2} µs   get {get:6.2} µs   get (absent) {absent:6.2} µs   claim {claim:8.2} µs"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `misses N`: that row alone, for a profiler.
    if let [what, n] = args.as_slice()
        && what == "misses"
    {
        return misses(n.parse().expect("a number of tasks"));
    }
    let quick = args.iter().any(|a| a == "--quick");
    store_operations(if quick { 1_000 } else { 10_000 });
    hits(if quick { 1_000 } else { 10_000 });
    misses(if quick { 10_000 } else { 100_000 });
}
