//! Draws the pictures the guide shows, into `docs/src/images/`: the seed
//! program's task graph and a summary of a large graph.
//!
//! ```text
//! cargo run --release --example pictures
//! ```

use delayed::{Delayed, delayed};
use std::path::Path;

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn dec(x: i64) -> i64 {
    x - 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[delayed]
fn total(values: Vec<i64>) -> i64 {
    values.iter().sum()
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

    println!("wrote pictures to {}", images.display());
    Ok(())
}
