//! The reference article's program: ten chains of `inc`/`dec`/`add`, every
//! function sleeping one second. Run sequentially it takes 30 s. Computed
//! with `delayed` it takes the critical path: `inc` and `dec` side by side,
//! then `add`, so about 2 s (the article measured 3.34 s with Dask, whose
//! thread pool cannot run all twenty first-layer tasks at once).
//!
//! ```text
//! cargo run --release --example seed                  # compute and time it
//! cargo run --release --example seed -- --visualize   # also write seed-graph.svg
//! cargo run --release --example seed -- --progress    # show a progress bar
//! ```

use delayed::diagnostics::ProgressBar;
use delayed::{compute, delayed};
use std::thread::sleep;
use std::time::{Duration, Instant};

#[delayed]
fn inc(x: i64) -> i64 {
    sleep(Duration::from_secs(1));
    x + 1
}

#[delayed]
fn dec(x: i64) -> i64 {
    sleep(Duration::from_secs(1));
    x - 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    sleep(Duration::from_secs(1));
    x + y
}

/// What the 30 sleeping calls take one after another.
const SEQUENTIAL: Duration = Duration::from_secs(30);

fn main() -> Result<(), delayed::Error> {
    let mut visualize = false;
    let mut progress = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--visualize" => visualize = true,
            "--progress" => progress = true,
            other => {
                eprintln!("unknown option `{other}`: use --visualize, --progress or nothing");
                std::process::exit(2);
            }
        }
    }

    let build = Instant::now();
    let mut l = Vec::new();
    for i in 0..10 {
        let a = inc(i); // no work yet: `a` is a Delayed<i64>
        let b = dec(i);
        let c = add(a, b); // handles are arguments, as values would be
        l.push(c);
    }
    let built = build.elapsed();
    if visualize {
        delayed::visualize(&l).save("seed-graph.svg")?; // the task graph, as a picture
        println!("wrote seed-graph.svg");
    }

    let _bar = progress.then(|| ProgressBar::new().register());
    let start = Instant::now();
    let l: Vec<i64> = compute!(l)?;
    let computed = start.elapsed();

    println!("{l:?}");
    println!("graph built in   {:>10.3} ms", built.as_secs_f64() * 1e3);
    println!("computed in      {:>10.3} s", computed.as_secs_f64());
    println!(
        "speed-up         {:>10.2}x over {} s sequentially",
        SEQUENTIAL.as_secs_f64() / computed.as_secs_f64(),
        SEQUENTIAL.as_secs()
    );
    Ok(())
}
