//! The benchmarks of `delayed`, in a workspace member of their own:
//!
//! ```text
//! cargo run --release -p delayed-bench --example overhead   # the overhead table
//! cargo bench -p delayed-bench                              # the same workloads under divan
//! bench/compare.sh 1000 10000                               # side by side with dask.delayed
//! ```
//!
//! See `docs/performance.md` for the figures and how to read them.

use delayed::delayed;

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
