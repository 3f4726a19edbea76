//! Shared dependencies run once; values move to their last consumer; memory
//! follows the frontier of the compute.

mod common;

use common::within;
use delayed::{Client, Delayed, compute, delayed};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn a_shared_dependency_runs_once_per_compute() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn expensive(x: i64) -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        x
    }
    #[delayed]
    fn add(x: i64, y: i64) -> i64 {
        x + y
    }
    let shared = expensive(1);
    let left = add(&shared, 1);
    let right = add(&shared, 2);
    let top = add(&left, &right);
    assert_eq!(compute!(top, left, right, shared).unwrap(), (5, 2, 3, 1));
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    // Each compute runs the graph again, as Dask does without persist.
    assert_eq!(top.compute().unwrap(), 5);
    assert_eq!(RUNS.load(Ordering::SeqCst), 2);
}

/// Counts clones, so tests can see moves.
macro_rules! clone_counter {
    ($name:ident, $clones:ident) => {
        static $clones: AtomicUsize = AtomicUsize::new(0);
        #[derive(Debug, PartialEq)]
        struct $name(Vec<u64>);
        impl Clone for $name {
            fn clone(&self) -> Self {
                $clones.fetch_add(1, Ordering::SeqCst);
                $name(self.0.clone())
            }
        }
    };
}

#[test]
fn an_owned_parameter_moves_the_value_from_its_only_consumer() {
    clone_counter!(Big, CLONES);
    #[delayed]
    fn make(n: u64) -> Big {
        Big((0..n).collect())
    }
    #[delayed]
    fn consume(b: Big) -> usize {
        b.0.len()
    }
    let threaded = Client::builder().threads(4).build().unwrap();
    for client in [threaded, Client::synchronous()] {
        let lens: Vec<Delayed<usize>> = (0..20).map(|_| consume(make(1000))).collect();
        assert_eq!(client.compute(&lens).unwrap(), vec![1000; 20]);
        // The output of the compute moves to the caller, too.
        assert_eq!(client.compute(&make(3)).unwrap(), Big(vec![0, 1, 2]));
    }
    assert_eq!(CLONES.load(Ordering::SeqCst), 0);
}

#[test]
fn shared_values_are_cloned_for_all_but_the_last_owner() {
    clone_counter!(Big, CLONES);
    #[delayed]
    fn make() -> Big {
        Big(vec![1, 2, 3])
    }
    #[delayed]
    fn consume(b: Big) -> u64 {
        b.0.iter().sum()
    }
    #[delayed]
    fn peek(b: &Big) -> u64 {
        b.0[0]
    }
    let client = Client::synchronous();
    let big = make();
    let owners: Vec<Delayed<u64>> = (0..3).map(|_| consume(&big)).collect();
    assert_eq!(client.compute(&owners).unwrap(), [6, 6, 6]);
    assert_eq!(
        CLONES.load(Ordering::SeqCst),
        2,
        "three owners: two clones, one move"
    );

    let borrowers: Vec<Delayed<u64>> = (0..5).map(|_| peek(&big)).collect();
    assert_eq!(client.compute(&borrowers).unwrap(), [1; 5]);
    assert_eq!(CLONES.load(Ordering::SeqCst), 2, "borrowing never clones");

    // An output that a task also consumes is cloned once, for the task.
    assert_eq!(client.compute(&(consume(&big), big.clone())).unwrap().0, 6);
    assert_eq!(CLONES.load(Ordering::SeqCst), 3);
}

/// A value that counts how many instances are alive.
macro_rules! live_counter {
    ($name:ident, $live:ident) => {
        static $live: AtomicUsize = AtomicUsize::new(0);
        #[derive(Debug)]
        struct $name(#[allow(dead_code)] u64);
        impl $name {
            fn new(v: u64) -> Self {
                $live.fetch_add(1, Ordering::SeqCst);
                $name(v)
            }
        }
        impl Clone for $name {
            fn clone(&self) -> Self {
                $name::new(self.0)
            }
        }
        impl Drop for $name {
            fn drop(&mut self) {
                $live.fetch_sub(1, Ordering::SeqCst);
            }
        }
    };
}

#[test]
fn results_are_freed_once_their_last_consumer_has_them() {
    live_counter!(Live, LIVE);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn start() -> Live {
        Live::new(0)
    }
    #[delayed]
    fn step(prev: &Live) -> Live {
        // Alive now: the input, any not yet dropped, and the new value.
        let next = Live::new(prev.0 + 1);
        PEAK.fetch_max(LIVE.load(Ordering::SeqCst), Ordering::SeqCst);
        next
    }
    let mut tip = start();
    for _ in 0..2_000 {
        tip = step(tip);
    }
    let threaded = Client::builder().threads(2).build().unwrap();
    for client in [threaded, Client::synchronous()] {
        PEAK.store(0, Ordering::SeqCst);
        let value = within(60, {
            let tip = tip.clone();
            move || client.compute(&tip).unwrap()
        });
        assert_eq!(value.0, 2_000);
        // 2,001 values were made; at most the input and the new one lived
        // at once. Without freeing, the peak would be 2,001.
        let peak = PEAK.load(Ordering::SeqCst);
        assert!(peak <= 2, "peak of {peak} live values");
        drop(value);
        assert_eq!(LIVE.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn a_wide_layer_is_freed_as_it_is_reduced() {
    live_counter!(Live, LIVE);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn leaf(i: u64) -> Live {
        Live::new(i)
    }
    #[delayed]
    fn fold(acc: u64, item: Live) -> u64 {
        PEAK.fetch_max(LIVE.load(Ordering::SeqCst), Ordering::SeqCst);
        acc + item.0
    }
    // The synchronous client runs leaves in index order, each just before
    // its fold: the frontier holds a single leaf.
    let mut acc: Delayed<u64> = delayed::value(0);
    for i in 0..500 {
        acc = fold(acc, leaf(i));
    }
    assert_eq!(Client::synchronous().compute(&acc).unwrap(), 124_750);
    assert_eq!(PEAK.load(Ordering::SeqCst), 1);
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}
