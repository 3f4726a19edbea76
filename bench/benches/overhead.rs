//! `cargo bench -p delayed-bench`: per-task cost of building and computing
//! graphs, next to the bare tokio spawn of the same closures. The one-table
//! summary with ratios and memory is
//! `cargo run --release -p delayed-bench --example overhead`.

use delayed::Delayed;
use delayed_bench::{chain_of, inc, tree_of};
use divan::{Bencher, black_box};

fn main() {
    delayed::Client::global().unwrap();
    divan::main();
}

const SIZES: &[u64] = &[1_000, 10_000, 100_000];

/// N independent trivial tasks, built and computed together.
#[divan::bench(args = SIZES)]
fn wide(bencher: Bencher, n: u64) {
    bencher.counter(n).bench(|| {
        let tasks: Vec<Delayed<u64>> = (0..n).map(inc).collect();
        black_box(delayed::compute(&tasks).unwrap())
    });
}

/// The floor for `wide`: a bare `tokio::spawn` of the same closures.
#[divan::bench(args = SIZES)]
fn wide_tokio_spawn(bencher: Bencher, n: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    bencher.counter(n).bench(|| {
        runtime.block_on(async {
            let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i + 1 })).collect();
            let mut values = Vec::with_capacity(handles.len());
            for handle in handles {
                values.push(handle.await.unwrap());
            }
            black_box(values)
        })
    });
}

/// N tasks each taking the previous one's value.
#[divan::bench(args = SIZES)]
fn chain(bencher: Bencher, n: u64) {
    bencher
        .counter(n)
        .bench(|| black_box(chain_of(n).compute().unwrap()));
}

/// N leaves reduced pairwise to one root.
#[divan::bench(args = SIZES)]
fn tree(bencher: Bencher, n: u64) {
    bencher
        .counter(n)
        .bench(|| black_box(tree_of(n).compute().unwrap()));
}

/// Building alone: what a call of a `#[delayed]` function costs.
#[divan::bench(args = SIZES)]
fn build_only(bencher: Bencher, n: u64) {
    bencher
        .counter(n)
        .bench(|| black_box((0..n).map(inc).collect::<Vec<Delayed<u64>>>()));
}
