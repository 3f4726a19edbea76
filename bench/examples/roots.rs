//! Peak memory of a reduction over many roots that each make a large
//! value: how many roots run ahead of the reduction (Dask's root task
//! overproduction, distributed#6360).
//!
//! ```text
//! cargo run --release -p delayed-bench --example roots            # the table
//! cargo run --release -p delayed-bench --example roots -- 10000   # roots
//! ```
//!
//! Each root makes 1 MiB; the reduction combines them pairwise, each
//! combination another 1 MiB. The minimum is what the synchronous client
//! needs, running the graph depth first on one thread: a value per level
//! of the tree. Each row runs in a fresh process; peak is the growth of
//! resident memory (the kernel's high-water mark).

use std::time::Duration;

use delayed::{Client, Delayed, delayed};

const MIB: usize = 1 << 20;

/// A root: 1 MiB made by a synchronous task.
#[delayed]
fn load(i: u64) -> Vec<u8> {
    vec![(i % 251) as u8 + 1; MIB]
}

/// A root: 1 MiB made by an async task after a short wait (a download).
#[delayed]
async fn fetch(i: u64) -> Vec<u8> {
    tokio::time::sleep(Duration::from_micros(200)).await;
    vec![(i % 251) as u8 + 1; MIB]
}

/// Two values combined into a third of the same size.
#[delayed]
fn combine(a: &Vec<u8>, b: &Vec<u8>) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect()
}

/// A checksum, so that the result is small.
#[delayed]
fn checksum(v: &Vec<u8>) -> u64 {
    v.iter().map(|&b| u64::from(b)).sum()
}

fn reduction(roots: u64, make: fn(u64) -> Delayed<Vec<u8>>) -> Delayed<u64> {
    let root = delayed_bench::pairwise((0..roots).map(make).collect(), combine);
    checksum(root)
}

/// The child: one reduction on one client, printing its peak in MiB.
fn measure(client: &str, roots_of: &str, roots: u64) {
    let client = match client {
        "synchronous" => Client::synchronous(),
        threads => Client::builder()
            .threads(threads.parse().expect("a thread count"))
            .build()
            .unwrap(),
    };
    let make: fn(u64) -> Delayed<Vec<u8>> = match roots_of {
        "sync" => load,
        _ => fetch,
    };
    let graph = reduction(roots, make);
    let before = delayed_bench::status_number("VmRSS");
    let started = std::time::Instant::now();
    std::hint::black_box(client.compute(&graph).unwrap());
    let seconds = started.elapsed().as_secs_f64();
    let peak = delayed_bench::status_number("VmHWM").saturating_sub(before) as f64 / 1024.0;
    println!("{peak:.0} {seconds:.2}");
}

/// Runs one row in a fresh process: its peak in MiB and its time.
fn row(client: &str, roots_of: &str, roots: u64) -> (f64, f64) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure", client, roots_of, &roots.to_string()])
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(f64::NAN));
    (
        fields.next().unwrap_or(f64::NAN),
        fields.next().unwrap_or(f64::NAN),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, client, roots_of, roots] = args.as_slice()
        && flag == "--measure"
    {
        return measure(client, roots_of, roots.parse().unwrap());
    }
    let roots: u64 = args
        .first()
        .map_or(10_000, |n| n.parse().expect("a root count"));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("reduction over {roots} roots of 1 MiB each, pairwise");
    println!(
        "{:<10} {:<14} {:>12} {:>10} {:>14}",
        "roots", "client", "peak MiB", "seconds", "vs minimum"
    );
    for roots_of in ["sync", "async"] {
        let (minimum, seconds) = row("synchronous", roots_of, roots);
        println!(
            "{roots_of:<10} {:<14} {minimum:>12.0} {seconds:>10.2} {:>13.2}x",
            "synchronous", 1.0
        );
        let threads = cores.to_string();
        let (peak, seconds) = row(&threads, roots_of, roots);
        println!(
            "{roots_of:<10} {:<14} {peak:>12.0} {seconds:>10.2} {:>13.2}x",
            format!("threads({threads})"),
            peak / minimum
        );
    }
}
