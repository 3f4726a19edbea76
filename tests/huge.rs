//! A chain of 10^8 tasks built, computed and dropped within this machine's
//! 24 GiB: the scale `docs/performance.md` reports.
//!
//! It takes minutes and most of the machine's memory, so it runs only when
//! asked, and only in release mode:
//!
//! ```text
//! DELAYED_HUGE=1 cargo test --release --test huge -- --nocapture
//! ```
//!
//! Without `DELAYED_HUGE=1` it says it skipped and how to run it.
//! `DELAYED_HUGE_LINKS` sets another length (for trying it on a smaller
//! machine).

use std::time::Instant;

use delayed::{Delayed, delayed};

#[delayed]
fn link(x: u64) -> u64 {
    x + 1
}

/// A size in `/proc/self/status` (`VmRSS`, `VmHWM`), in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

#[test]
fn a_chain_of_a_hundred_million_tasks() {
    if std::env::var_os("DELAYED_HUGE").is_none() {
        println!(
            "skipped: the 10^8-task chain runs only when asked, in release mode: \
             DELAYED_HUGE=1 cargo test --release --test huge -- --nocapture"
        );
        return;
    }
    let release = !cfg!(debug_assertions);
    assert!(
        release,
        "DELAYED_HUGE=1 asks for 10^8 tasks, which a debug build takes far too long for: \
         run `DELAYED_HUGE=1 cargo test --release --test huge -- --nocapture`"
    );
    let links: u64 = std::env::var("DELAYED_HUGE_LINKS")
        .ok()
        .map_or(100_000_000, |n| {
            n.parse().expect("DELAYED_HUGE_LINKS is a number")
        });
    delayed::Client::global().unwrap(); // its threads are not the graph's memory
    let before = status_bytes("VmRSS");

    let start = Instant::now();
    let mut tip: Delayed<u64> = link(0);
    for _ in 1..links {
        tip = link(tip);
    }
    let built = start.elapsed();
    let start = Instant::now();
    let value = tip.compute().unwrap();
    let computed = start.elapsed();
    let peak = status_bytes("VmHWM").saturating_sub(before);
    let start = Instant::now();
    drop(tip);
    let dropped = start.elapsed();

    assert_eq!(value, links);
    let per_task = |d: std::time::Duration| d.as_secs_f64() * 1e9 / links as f64;
    println!(
        "chain of {links} tasks: build {:.1} s ({:.0} ns/task), compute {:.1} s ({:.0} ns/task), \
         drop {:.1} s; peak {:.2} GiB over the start, {:.0} B/task",
        built.as_secs_f64(),
        per_task(built),
        computed.as_secs_f64(),
        per_task(computed),
        dropped.as_secs_f64(),
        peak as f64 / f64::from(1 << 30),
        peak as f64 / links as f64,
    );
}
