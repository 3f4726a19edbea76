//! The benchmarks of `delayed`, in a workspace member of their own:
//!
//! ```text
//! cargo run --release -p delayed-bench --example overhead   # the overhead table
//! cargo bench -p delayed-bench                              # the same workloads under divan
//! bench/compare.sh 1000 10000                               # side by side with dask.delayed
//! ```
//!
//! See `docs/performance.md` for the figures and how to read them.

use delayed::{Delayed, delayed};

// The integration tests reduce with the same function (`tests/common`).
mod pairwise;
pub use pairwise::pairwise;

/// The trivial task of the `wide` and `chain` workloads: as little work as
/// a task can have, so that what is measured is the library.
///
/// ```
/// assert_eq!(delayed_bench::inc(1).compute()?, 2);
/// # Ok::<(), delayed::Error>(())
/// ```
#[delayed]
pub fn inc(x: u64) -> u64 {
    x + 1
}

/// The reduction of the `tree` workload.
///
/// ```
/// assert_eq!(delayed_bench::add(1, 2).compute()?, 3);
/// # Ok::<(), delayed::Error>(())
/// ```
#[delayed]
pub fn add(x: u64, y: u64) -> u64 {
    x + y
}

/// The `chain` workload's graph: `n` `inc` tasks, each taking the one
/// before it, computing to `n`.
///
/// ```
/// assert_eq!(delayed_bench::chain_of(5).compute()?, 5);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn chain_of(n: u64) -> Delayed<u64> {
    let mut tip = inc(0);
    for _ in 1..n {
        tip = inc(tip);
    }
    tip
}

/// The `tree` workload's graph: `leaves` `inc` tasks reduced pairwise by
/// `add` to one root (about `2 * leaves` tasks), computing to
/// `leaves * (leaves + 1) / 2`.
///
/// ```
/// assert_eq!(delayed_bench::tree_of(5).compute()?, 15);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn tree_of(leaves: u64) -> Delayed<u64> {
    pairwise((0..leaves).map(inc).collect(), add)
}

/// The `tree` workload with its handles passed by reference, as
/// `add(&a, &b)`: each is cloned into its task and dropped with its level,
/// which touches every node twice more (see [`pairwise`]). The growth
/// table shows what that costs as the graph outgrows the cache.
///
/// ```
/// assert_eq!(delayed_bench::tree_by_reference_of(5).compute()?, 15);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn tree_by_reference_of(leaves: u64) -> Delayed<u64> {
    let mut level: Vec<Delayed<u64>> = (0..leaves).map(inc).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => add(a, b),
                [a] => a.clone(),
                _ => unreachable!("chunks of two are not empty"),
            })
            .collect();
    }
    level.pop().expect("at least one leaf")
}

/// The minor page faults of this process so far (`/proc/self/stat`): each
/// is a page of memory the kernel mapped and zeroed for it. 0 where there
/// is no such file (not Linux).
///
/// ```
/// let before = delayed_bench::minor_faults();
/// let touched = std::hint::black_box(vec![1_u8; 1 << 24]); // 16 MiB, new
/// assert!(delayed_bench::minor_faults() > before || !cfg!(target_os = "linux"));
/// # drop(touched);
/// ```
pub fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may
    // hold spaces: state, ppid, pgrp, session, tty, tpgid, flags, minflt.
    stat.rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().nth(7)?.parse().ok())
        .unwrap_or(0)
}

/// A number of this process's `/proc/self/status` (sizes there are in
/// kB); 0 where there is no such field or file (not Linux).
///
/// ```
/// let threads = delayed_bench::status_number("Threads");
/// assert!(threads >= 1 || !cfg!(target_os = "linux"));
/// ```
pub fn status_number(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
}

/// A size in this process's `/proc/self/status` (`VmRSS`, `VmHWM`), in
/// bytes.
///
/// ```
/// let now = delayed_bench::status_bytes("VmRSS");
/// // The high-water mark, read after, is at least what was resident then.
/// assert!(delayed_bench::status_bytes("VmHWM") >= now);
/// ```
pub fn status_bytes(field: &str) -> u64 {
    status_number(field) * 1024
}

/// The workers of a benchmark's arguments: 1, 2 and 4 when none is given.
///
/// ```
/// assert_eq!(delayed_bench::workers(&[]), vec![1, 2, 4]);
/// assert_eq!(delayed_bench::workers(&["3".to_string()]), vec![3]);
/// ```
///
/// # Panics
///
/// If an argument is not a number.
pub fn workers(args: &[String]) -> Vec<usize> {
    let workers: Vec<usize> = args
        .iter()
        .map(|a| a.parse().expect("a number of workers"))
        .collect();
    if workers.is_empty() {
        vec![1, 2, 4]
    } else {
        workers
    }
}
