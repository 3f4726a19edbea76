//! Many computes in a loop and many threads computing at once: results
//! stay right, nothing deadlocks, and threads and memory do not grow.
//!
//! `DELAYED_LONG_TESTS=1` runs ten times as many computes.

mod common;

use delayed::{Client, Delayed, delayed};
use std::sync::Arc;

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

#[delayed]
fn add(x: u64, y: u64) -> u64 {
    x + y
}

fn loops() -> u64 {
    if std::env::var_os("DELAYED_LONG_TESTS").is_some() {
        100_000
    } else {
        10_000
    }
}

/// A field of `/proc/self/status`, such as `Threads` or `VmRSS` (in kB).
fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[test]
fn ten_thousand_computes_in_a_loop_without_growth() {
    let client = Client::builder().threads(4).build().unwrap();
    let diamond = |i: u64| {
        let a = inc(i);
        add(inc(&a), inc(&a))
    };
    let run = |from: u64, to: u64| {
        for i in from..to {
            assert_eq!(client.compute(&diamond(i)).unwrap(), 2 * i + 4);
        }
    };
    run(0, 1_000); // warm up: threads and allocator pools reach their size
    let (threads, rss) = (status("Threads"), status("VmRSS"));
    run(1_000, 1_000 + loops());
    let (threads_after, rss_after) = (status("Threads"), status("VmRSS"));
    eprintln!("threads {threads} -> {threads_after}, rss {rss} kB -> {rss_after} kB");
    assert!(
        threads_after <= threads + 4,
        "threads grew from {threads} to {threads_after}"
    );
    assert!(
        rss_after <= rss + 16 * 1024,
        "memory grew from {rss} kB to {rss_after} kB"
    );
}

#[test]
fn eight_threads_compute_overlapping_graphs_on_one_client() {
    let client = Arc::new(Client::builder().threads(4).build().unwrap());
    let shared: Vec<Delayed<u64>> = (0..16).map(inc).collect();
    let results = common::within(120, move || {
        let workers: Vec<_> = (0..8_u64)
            .map(|t| {
                let client = client.clone();
                let shared = shared.clone();
                std::thread::spawn(move || {
                    for round in 0..loops() / 40 {
                        let index = ((t + round) % 16) as usize;
                        let mine = add(&shared[index], t * 1_000 + round);
                        let expected = index as u64 + 1 + t * 1_000 + round;
                        let both = client.compute(&(mine, &shared[0])).unwrap();
                        assert_eq!(both, (expected, 1));
                    }
                    t
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(results, (0..8).collect::<Vec<_>>());
}
