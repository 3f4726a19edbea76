//! The benchmarks of `delayed`, in a workspace member of their own:
//!
//! ```text
//! cargo run --release -p delayed-bench --example overhead   # the overhead table
//! cargo bench -p delayed-bench                              # the same workloads under divan
//! bench/compare.sh 1000 10000                               # side by side with dask.delayed
//! ```
//!
//! See `docs/performance.md` for the figures and how to read them.
