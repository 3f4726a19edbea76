//! Reads a year of library checkouts (twelve CSV files) in parallel with
//! `delayed`, filters and aggregates each month as a task, and combines
//! them: the seed article's pandas section on polars.
//!
//! ```text
//! cargo run --release -p delayed-polars-example                 # the pipeline against reading one file after another
//! cargo run --release -p delayed-polars-example -- --measure    # CPU, wall time and memory against polars alone
//! cargo run --release -p delayed-polars-example -- --picture g.svg   # the pipeline's graph (four months)
//! ```
//!
//! The data set is written to `delayed-polars-checkouts/` in the system's
//! temporary directory on first use (`--data DIR` to choose).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use delayed::Client;
use delayed_polars_example::{pipeline, polars_alone, sequential, write_checkouts};

const MONTHS: usize = 12;
const ROWS: usize = 400_000;
const MIN_CHECKOUTS: i64 = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = args
        .iter()
        .position(|a| a == "--data")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || std::env::temp_dir().join("delayed-polars-checkouts"),
            PathBuf::from,
        );
    let started = Instant::now();
    let paths = write_checkouts(&data, MONTHS, ROWS)?;
    eprintln!(
        "data: {MONTHS} files of {ROWS} records in {} ({:.1} s to check or write)",
        data.display(),
        started.elapsed().as_secs_f64()
    );
    if let Some(variant) = args
        .iter()
        .position(|a| a == "--variant")
        .and_then(|i| args.get(i + 1))
    {
        return run_variant(variant, &paths);
    }
    if args.iter().any(|a| a == "--measure") {
        return measure(&data);
    }
    if let Some(path) = args
        .iter()
        .position(|a| a == "--picture")
        .and_then(|i| args.get(i + 1))
    {
        // The guide's picture of the pipeline: four months, to stay legible.
        let work = pipeline(&paths[..4], MIN_CHECKOUTS);
        delayed::visualize(&(&work.top, &work.records)).save(path)?;
        eprintln!("the pipeline's graph: {path}");
        return Ok(());
    }

    // Every task here waits on polars's own pool, one thread per core: a
    // client bounded to the cores runs as many tasks as that pool can
    // serve, rather than lending the slot of each waiting task to one
    // more read (see "Two schedulers in one process" in the guide).
    let client = Client::builder().threads(cores()).build()?;
    // Three rounds, each way in turn, for medians: the first read of a
    // file and polars's first use of its pool cost more.
    let (mut parallel, mut sequentially) = (Vec::new(), Vec::new());
    let mut answer = None;
    for _ in 0..3 {
        let started = Instant::now();
        let one_by_one = sequential(&paths, MIN_CHECKOUTS)?;
        sequentially.push(started.elapsed());
        let started = Instant::now();
        let work = pipeline(&paths, MIN_CHECKOUTS);
        let (top, records) = client.compute(&(work.top, work.records))?;
        parallel.push(started.elapsed());
        assert!(
            one_by_one.head(Some(10)).equals(&top),
            "the same ranking either way"
        );
        answer = Some((top, records));
    }
    let (top, records) = answer.expect("three rounds");
    println!(
        "{records} loan records; the most borrowed titles (at least {MIN_CHECKOUTS} checkouts a record):"
    );
    println!("{top}");
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let (parallel, sequentially) = (median(&mut parallel), median(&mut sequentially));
    println!(
        "delayed: {parallel:.3} s; reading the files one after another: {sequentially:.3} s \
         ({:.2}x; medians of 3)",
        sequentially / parallel
    );
    Ok(())
}

/// Computes the ranking one way, in this process, and prints its wall
/// time, CPU time and peak memory as `wall,cpu,peak_kib`.
fn run_variant(variant: &str, paths: &[PathBuf]) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let (cpu_before, _) = usage();
    let ranked = match variant {
        "delayed" => pipeline(paths, MIN_CHECKOUTS).totals.compute()?,
        "delayed-threads-1" | "delayed-threads-cores" => {
            let threads = if variant.ends_with("-1") { 1 } else { cores() };
            let client = Client::builder().threads(threads).build()?;
            client.compute(&pipeline(paths, MIN_CHECKOUTS).totals)?
        }
        "polars" => polars_alone(paths, MIN_CHECKOUTS)?,
        "sequential" => sequential(paths, MIN_CHECKOUTS)?,
        other => return Err(format!("unknown variant `{other}`").into()),
    };
    let wall = started.elapsed();
    let (cpu_after, peak) = usage();
    assert!(ranked.height() > 0);
    println!(
        "{:.4},{:.4},{peak}",
        wall.as_secs_f64(),
        (cpu_after - cpu_before).as_secs_f64()
    );
    Ok(())
}

/// This process's CPU time (user and system) and peak resident memory in
/// KiB, from `/proc/self`.
fn usage() -> (Duration, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis (the first is the
    // state, a letter); utime and stime are the 12th and 13th of them, in
    // clock ticks (100 a second here).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let ticks = field(11) + field(12);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (Duration::from_millis(ticks * 10), peak)
}

/// Runs each variant in a fresh process, five times, alternating, and
/// prints the medians: delayed's default client (blocked tasks lend their
/// slot), delayed bounded to as many tasks as cores (no lending) and to
/// one, polars alone (a lazy scan of each file, concatenated) and plain
/// polars reading one file after another.
fn measure(data: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    const RUNS: usize = 5;
    let variants = [
        "delayed",
        "delayed-threads-cores",
        "delayed-threads-1",
        "polars",
        "sequential",
    ];
    let mut figures: Vec<Vec<(f64, f64, u64)>> = vec![Vec::new(); variants.len()];
    let me = std::env::current_exe()?;
    for _ in 0..RUNS {
        for (variant, figures) in variants.iter().zip(&mut figures) {
            let output = Command::new(&me)
                .args(["--data", &data.to_string_lossy(), "--variant", variant])
                .output()?;
            if !output.status.success() {
                return Err(format!(
                    "variant {variant} failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
                .into());
            }
            let line = String::from_utf8_lossy(&output.stdout);
            let parts: Vec<&str> = line.trim().split(',').collect();
            figures.push((parts[0].parse()?, parts[1].parse()?, parts[2].parse()?));
        }
    }
    let cores = cores();
    println!(
        "{MONTHS} files of {ROWS} records, {cores} cores, POLARS_MAX_THREADS={}, medians of {RUNS} runs",
        std::env::var("POLARS_MAX_THREADS").unwrap_or_else(|_| "unset".into())
    );
    println!(
        "{:<20} {:>8} {:>8} {:>10} {:>12}",
        "variant", "wall s", "CPU s", "CPU/wall", "peak MiB"
    );
    for (variant, figures) in variants.iter().zip(&figures) {
        let median = |f: &dyn Fn(&(f64, f64, u64)) -> f64| {
            let mut v: Vec<f64> = figures.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (wall, cpu, peak) = (median(&|f| f.0), median(&|f| f.1), median(&|f| f.2 as f64));
        println!(
            "{variant:<20} {wall:>8.3} {cpu:>8.3} {:>10.2} {:>12.0}",
            cpu / wall,
            peak / 1024.0
        );
    }
    Ok(())
}

/// The machine's cores, as the client counts them.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
