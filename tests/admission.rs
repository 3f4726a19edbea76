//! Memory-aware admission of root tasks: async roots whose values
//! synchronous tasks consume start at the slots' pace when their values
//! are large, and all at once when they are small. The probe measures the
//! process's resident memory, so the tests of this binary take turns.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::pairwise::pairwise;
use common::{Gauge, within};
use delayed::{Client, Delayed, delayed};

/// One test at a time: another's allocations would be this one's growth.
static TURN: Mutex<()> = Mutex::new(());

const MIB: usize = 1 << 20;

#[delayed]
fn combine(a: &Vec<u8>, b: &Vec<u8>) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect()
}

#[delayed]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn roots_with_large_values_start_at_the_pace_of_the_slots() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    static FETCHING: Gauge = Gauge::new();
    /// 4 MiB after a short wait: a download.
    #[delayed]
    async fn fetch(i: u64) -> Vec<u8> {
        let _inside = FETCHING.enter();
        tokio::time::sleep(Duration::from_millis(2)).await;
        vec![(i % 251) as u8 + 1; 4 * MIB]
    }
    let client = Client::builder().threads(2).build().unwrap();
    let total = pairwise((0..128).map(fetch).collect(), combine);
    let value = within(120, move || client.compute(&total).unwrap());
    let expected = (0..128u64).fold(0u8, |sum, i| sum.wrapping_add((i % 251) as u8 + 1));
    assert_eq!(value.len(), 4 * MIB);
    assert!(value.iter().all(|&b| b == expected));
    // Two slots: at most 4 roots in flight, where 128 would be without
    // admission.
    assert!(
        FETCHING.max() <= 4,
        "{} roots of 4 MiB were in flight at once on 2 slots",
        FETCHING.max()
    );
}

#[test]
fn roots_with_small_values_all_start_after_the_probe() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    static FETCHING: Gauge = Gauge::new();
    #[delayed]
    async fn fetch(i: u64) -> u64 {
        let _inside = FETCHING.enter();
        tokio::time::sleep(Duration::from_millis(200)).await;
        i
    }
    let client = Client::builder().threads(2).build().unwrap();
    let total = pairwise((0..64).map(fetch).collect(), add);
    let value = within(120, move || client.compute(&total).unwrap());
    assert_eq!(value, (0..64).sum::<u64>());
    // The probe's 4, then the other 60 together.
    assert_eq!(FETCHING.max(), 60);
}

#[test]
fn roots_gathered_by_one_task_are_not_held_back() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    static FETCHING: Gauge = Gauge::new();
    #[delayed]
    async fn fetch(i: u64) -> Vec<u8> {
        let _inside = FETCHING.enter();
        tokio::time::sleep(Duration::from_millis(200)).await;
        vec![(i % 251) as u8; MIB]
    }
    #[delayed]
    fn sizes(parts: Vec<Vec<u8>>) -> usize {
        parts.iter().map(Vec::len).sum()
    }
    let client = Client::builder().threads(2).build().unwrap();
    let parts: Vec<Delayed<Vec<u8>>> = (0..32).map(fetch).collect();
    let total = sizes(parts);
    let value = within(120, move || client.compute(&total).unwrap());
    assert_eq!(value, 32 * MIB);
    // Their values wait for each other anyway: all 32 in flight at once.
    assert_eq!(FETCHING.max(), 32);
}
