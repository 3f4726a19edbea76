//! Draws the pictures the guide shows, into `docs/src/images/`: the seed
//! program's task graph, summaries of large graphs, a graph drawn left to
//! right, and the profiler's timeline of the seed program (with 100 ms
//! sleeps instead of 1 s).
//!
//! ```text
//! cargo run --release --features png --example pictures
//! ```

use delayed::diagnostics::Profiler;
use delayed::{Delayed, delayed};
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

#[delayed]
fn inc(x: i64) -> i64 {
    sleep(Duration::from_millis(100));
    x + 1
}

#[delayed]
fn dec(x: i64) -> i64 {
    sleep(Duration::from_millis(100));
    x - 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    sleep(Duration::from_millis(100));
    x + y
}

#[delayed]
fn total(values: Vec<i64>) -> i64 {
    values.iter().sum()
}

#[delayed]
fn load(part: i64) -> i64 {
    part
}

#[delayed]
fn combine(x: i64, y: i64) -> i64 {
    x + y
}

/// Combines neighbours in pairs: one layer of a reduction tree.
fn pairs(level: &[Delayed<i64>]) -> Vec<Delayed<i64>> {
    level
        .chunks(2)
        .map(|pair| combine(pair[0].clone(), pair[1].clone()))
        .collect()
}

fn main() -> Result<(), delayed::Error> {
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/images");
    std::fs::create_dir_all(&images).map_err(|e| delayed::Error::from_io(&images, e))?;

    // The article's graph: ten chains of inc/dec/add.
    let l: Vec<Delayed<i64>> = (0..10).map(|i| add(inc(i), dec(i))).collect();
    delayed::visualize(&l).save(images.join("seed-graph.svg"))?;
    delayed::visualize(&l).save(images.join("seed-graph.png"))?;

    // A graph too big to draw task by task: a summary by function.
    let big: Vec<Delayed<i64>> = (0..10_000).map(|i| add(inc(i), dec(i))).collect();
    let sum = total(big);
    delayed::visualize(&sum).save(images.join("summary-graph.svg"))?;
    delayed::visualize(&sum).save(images.join("summary-graph.png"))?;

    // A two-level reduction, summarised: one box per function and layer.
    let parts: Vec<Delayed<i64>> = (0..984).map(load).collect();
    let reduced = total(pairs(&pairs(&parts)));
    delayed::visualize(&reduced).save(images.join("reduction-summary.png"))?;

    // Twelve chains of three, left to right.
    let chains: Vec<Delayed<i64>> = (0..12).map(|i| add(inc(inc(i)), dec(i))).collect();
    delayed::visualize(&total(chains))
        .left_to_right()
        .save(images.join("left-to-right.png"))?;

    // The seed program's task stream: twenty tasks side by side, then ten.
    let profiler = Profiler::new();
    {
        let _recording = profiler.register();
        delayed::compute(&l)?;
    }
    profiler.save(images.join("seed-timeline.svg"))?;
    profiler.save(images.join("seed-timeline.png"))?;
    println!("{}", profiler.summary());

    println!("wrote pictures to {}", images.display());
    Ok(())
}
