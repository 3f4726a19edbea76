//! What the library costs per task, against the physical limits measured in
//! the same process: a bare `tokio::spawn` of the same closures and a plain
//! sequential loop. Prints one table; see `docs/performance.md`.
//!
//! ```text
//! cargo run --release -p delayed-bench --example overhead            # sizes 10^3 … 10^6
//! cargo run --release -p delayed-bench --example overhead -- --quick # sizes 10^3 … 10^5, no 1 s seed
//! cargo run --release -p delayed-bench --example overhead -- --csv 1000 10000   # for bench/compare.sh
//! cargo run --release -p delayed-bench --example overhead -- --growth  # cost per task 10^4, 10^6, 10^7
//! ```
//!
//! Peak memory is measured in a fresh process per workload (this program
//! runs itself with `--memory WORKLOAD N`), from the kernel's high-water
//! mark of resident memory.
//!
//! A second table puts the scheduler against its peers in the same run:
//! CPU-bound work against `threads(cores)` and rayon (time, peak memory
//! and OS threads, each in a fresh process: `--cpu-bound CONFIG`), async
//! waits against plain tokio, blocking waits against `spawn_blocking`, a
//! recursive nested compute (`--nested`), and trivial tasks against
//! `rayon::scope`.

use delayed::{Client, Delayed, delayed};
use delayed_bench::{chain_of, inc, status_bytes, status_number, tree_by_reference_of, tree_of};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[delayed]
fn take(data: Vec<u64>) -> u64 {
    data[0]
}

#[delayed]
fn borrow(data: &[u64]) -> u64 {
    data[0]
}

#[delayed]
fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[delayed]
fn sleepy_add(x: u64, y: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(x));
    x + y
}

#[delayed]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Build and compute times of one run.
struct Timing {
    build: Duration,
    compute: Duration,
}

/// Times building a list of handles, then computing it.
fn timed(build: impl FnOnce() -> Vec<Delayed<u64>>) -> Timing {
    let start = Instant::now();
    let tasks = build();
    let build = start.elapsed();
    let start = Instant::now();
    black_box(delayed::compute(&tasks).unwrap());
    Timing {
        build,
        compute: start.elapsed(),
    }
}

fn wide(n: u64) -> Timing {
    timed(|| (0..n).map(inc).collect())
}

fn chain(n: u64) -> Timing {
    let start = Instant::now();
    let tip = chain_of(n);
    let build = start.elapsed();
    let start = Instant::now();
    assert_eq!(tip.compute().unwrap(), n);
    let compute = start.elapsed();
    Timing { build, compute }
}

fn tree(leaves: u64) -> Timing {
    tree_built_by(tree_of, leaves)
}

/// `tree` with its handles passed by reference (`add(&a, &b)`).
fn tree_by_reference(leaves: u64) -> Timing {
    tree_built_by(tree_by_reference_of, leaves)
}

fn tree_built_by(build: fn(u64) -> Delayed<u64>, leaves: u64) -> Timing {
    let start = Instant::now();
    let root = build(leaves);
    let build = start.elapsed();
    let start = Instant::now();
    assert_eq!(root.compute().unwrap(), leaves * (leaves + 1) / 2);
    let compute = start.elapsed();
    Timing { build, compute }
}

/// One big value read by `n` tasks, taken by value or by reference.
fn fan_out(n: u64, by_value: bool) -> Timing {
    timed(|| {
        let data = delayed::value((0..100_000).collect::<Vec<u64>>());
        (0..n)
            .map(|_| if by_value { take(&data) } else { borrow(&data) })
            .collect()
    })
}

/// Half async tasks (a 1 ms timer), half trivial sync tasks.
fn mixed(n: u64) -> Timing {
    timed(|| {
        (0..n)
            .map(|i| if i % 2 == 0 { nap(1) } else { inc(i) })
            .collect()
    })
}

/// The article's graph with `ms`-millisecond sleeps.
fn seed(ms: u64) -> Timing {
    timed(|| {
        (0..10)
            .map(|_| sleepy_add(sleepy(ms), sleepy(ms)))
            .collect()
    })
}

/// About 5 ms of arithmetic over 16 MiB the task owns.
#[delayed]
fn crunch(seed: u64) -> u64 {
    cpu_work(seed)
}

fn cpu_work(seed: u64) -> u64 {
    let mut data = vec![seed; 2 << 20];
    let mut acc = seed;
    for round in 0..1_u64 {
        for x in &mut data {
            acc = acc
                .wrapping_mul(6364136223846793005)
                .wrapping_add(*x ^ round);
            *x = acc;
        }
    }
    black_box(&data);
    acc
}

/// One OS thread sleeping, as a blocking call does.
#[delayed]
fn block(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

static NESTED: std::sync::OnceLock<Client> = std::sync::OnceLock::new();

/// Fibonacci by nested computes on the same client, a task per call.
#[delayed]
fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let client = NESTED.get().expect("set before computing");
    let (a, b) = client.compute(&(fib(n - 1), fib(n - 2))).unwrap();
    a + b
}

/// Samples this process's OS threads until dropped; `peak` is the most.
struct ThreadSampler {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadSampler {
    fn start() -> ThreadSampler {
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (d, p) = (done.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !d.load(Ordering::SeqCst) {
                // Not counting this sampler itself.
                p.fetch_max(status_number("Threads").saturating_sub(1), Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        ThreadSampler {
            done,
            peak,
            thread: Some(thread),
        }
    }

    fn peak(mut self) -> u64 {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The child side of the CPU-bound row: prints seconds, peak MiB, peak
/// OS threads for one configuration.
fn measure_cpu_bound(config: &str) {
    const TASKS: u64 = 400;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let before = status_bytes("VmRSS");
    let (elapsed, threads) = match config {
        "rayon" => {
            let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
            let sampler = ThreadSampler::start();
            let start = Instant::now();
            let sum: u64 = pool.install(|| {
                use rayon::prelude::*;
                (0..TASKS)
                    .into_par_iter()
                    .map(cpu_work)
                    .reduce(|| 0, u64::wrapping_add)
            });
            black_box(sum);
            (start.elapsed(), sampler.peak())
        }
        _ => {
            let client = match config {
                "default" => Client::builder().build().unwrap(),
                _ => Client::builder().threads(cores).build().unwrap(),
            };
            let sampler = ThreadSampler::start();
            let start = Instant::now();
            let tasks: Vec<Delayed<u64>> = (0..TASKS).map(crunch).collect();
            black_box(client.compute(&tasks).unwrap());
            (start.elapsed(), sampler.peak())
        }
    };
    let peak = status_bytes("VmHWM").saturating_sub(before);
    println!(
        "{:.3} {:.0} {threads}",
        elapsed.as_secs_f64(),
        peak as f64 / (1 << 20) as f64
    );
}

/// The child side of the nested row: seconds and peak OS threads of
/// `fib(20)` on `threads(2)`.
fn measure_nested() {
    let client = NESTED.get_or_init(|| Client::builder().threads(2).build().unwrap());
    let sampler = ThreadSampler::start();
    let start = Instant::now();
    assert_eq!(client.compute(&fib(20)).unwrap(), 6765);
    let elapsed = start.elapsed();
    println!("{:.3} 0 {}", elapsed.as_secs_f64(), sampler.peak());
}

/// Runs this program as a child with `args`; its three printed figures.
fn child(args: &[&str]) -> Option<(f64, f64, u64)> {
    let output = std::process::Command::new(std::env::current_exe().ok()?)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut fields = text.split_whitespace();
    Some((
        fields.next()?.parse().ok()?,
        fields.next()?.parse().ok()?,
        fields.next()?.parse().ok()?,
    ))
}

/// `n` tasks computed by the default client: the async and blocking waits.
fn computed(n: u64, task: fn(u64) -> Delayed<u64>) -> Duration {
    let tasks: Vec<Delayed<u64>> = (0..n).map(|_| task(10)).collect();
    let start = Instant::now();
    black_box(delayed::compute(&tasks).unwrap());
    start.elapsed()
}

/// The same waits spawned straight on tokio, `spawn` or `spawn_blocking`,
/// then awaited.
fn spawned(
    n: u64,
    runtime: &tokio::runtime::Runtime,
    spawn: fn() -> tokio::task::JoinHandle<()>,
) -> Duration {
    let start = Instant::now();
    runtime.block_on(async {
        let handles: Vec<_> = (0..n).map(|_| spawn()).collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    start.elapsed()
}

fn tokio_sleep() -> tokio::task::JoinHandle<()> {
    tokio::spawn(tokio::time::sleep(Duration::from_millis(10)))
}

fn blocking_sleep() -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(10)))
}

/// `rayon::scope` spawning `n` trivial closures: the floor for `wide`.
fn rayon_wide(n: u64) -> Duration {
    let start = Instant::now();
    rayon::scope(|scope| {
        for i in 0..n {
            scope.spawn(move |_| {
                black_box(i + 1);
            });
        }
    });
    start.elapsed()
}

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap()
}

/// One row of the scheduler table: ours, the peer's, and their ratio.
fn compared(label: &str, ours: f64, peer: f64, unit: &str, decimals: usize) {
    let width = 11 - unit.len();
    println!(
        "{label:<44} {ours:>width$.decimals$} {unit} {peer:>width$.decimals$} {unit} {:>9.2}x",
        ours / peer
    );
}

/// The scheduler against its peers, each pair measured in this run.
fn scheduler_table(quick: bool, runtime: &tokio::runtime::Runtime) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!();
    println!(
        "{:<44} {:>12} {:>12} {:>10}",
        "scheduler", "delayed", "peer", "ratio"
    );
    let runs = if quick { 3 } else { 5 };
    let sizes: &[u64] = if quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 1_000_000]
    };
    let mut per_size = Vec::new();
    for &n in sizes {
        let ours = (0..7)
            .map(|_| wide(n))
            .min_by_key(|t| t.build + t.compute)
            .unwrap();
        let floor = best(7, || rayon_wide(n));
        let total = per_task(ours.build + ours.compute, n);
        let floor = per_task(floor, n);
        let label = format!("wide {n}: build + compute vs rayon::scope");
        compared(&label, total, floor, "ns", 0);
        let label = format!("wide {n}: compute alone vs rayon::scope");
        compared(&label, per_task(ours.compute, n), floor, "ns", 0);
        per_size.push(total);
    }
    if let [small, large] = per_size.as_slice() {
        let label = format!("wide cost per task growth {} -> {}", sizes[0], sizes[1]);
        compared(&label, *large, *small, "ns", 0);
    }
    // The synchronous client against the threaded one on a chain, where
    // threads have nothing to overlap.
    let synchronous = Client::synchronous();
    let chain_on = |client: &Client, n: u64| {
        let tip = chain_of(n);
        let start = Instant::now();
        assert_eq!(client.compute(&tip).unwrap(), n);
        start.elapsed()
    };
    for &n in sizes {
        let ours = median_duration(runs, || chain_on(&synchronous, n));
        let threaded = median_duration(runs, || chain_on(Client::global().unwrap(), n));
        let label = format!("chain {n}: synchronous vs threaded client");
        compared(&label, per_task(ours, n), per_task(threaded, n), "ns", 0);
    }
    // A running compute against a blocking one, on the same graphs.
    let n = if quick { 10_000 } else { 100_000 };
    for (name, graph) in [
        ("wide", (0..n).map(inc).collect::<Vec<_>>()),
        ("chain", vec![chain_of(n)]),
    ] {
        let client = Client::global().unwrap();
        let blocking = median_duration(runs, || {
            let start = Instant::now();
            black_box(client.compute(&graph).unwrap());
            start.elapsed()
        });
        let submitted = median_duration(runs, || {
            let start = Instant::now();
            black_box(client.submit(&graph).wait().unwrap());
            start.elapsed()
        });
        let label = format!("{name} {n}: submit + wait vs compute");
        compared(
            &label,
            per_task(submitted, n),
            per_task(blocking, n),
            "ns",
            0,
        );
    }
    let cpu: Vec<_> = ["default", "cores", "rayon"]
        .iter()
        .map(|config| child(&["--cpu-bound", config]))
        .collect();
    if let [Some(default), Some(bounded), Some(rayon)] = cpu.as_slice() {
        for (name, peer) in [("threads(cores)", bounded), ("rayon", rayon)] {
            let label = format!("CPU-bound 400 x 16 MiB, time vs {name}");
            compared(&label, default.0, peer.0, "s", 3);
            let label = format!("CPU-bound 400 x 16 MiB, peak memory vs {name}");
            compared(&label, default.1, peer.1, "MiB", 0);
            println!(
                "{:<44} {:>12} {:>12} {:>10}",
                format!("CPU-bound 400 x 16 MiB, OS threads vs {name}"),
                default.2,
                peer.2,
                format!("+{}", default.2 as i64 - cores as i64)
            );
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ours = median_duration(runs, || computed(1_000, nap));
    let peer = median_duration(runs, || spawned(1_000, runtime, tokio_sleep));
    let label = "async waits 1,000 x 10 ms vs tokio::spawn";
    compared(label, ms(ours), ms(peer), "ms", 1);
    let ours = median_duration(runs, || computed(1_000, block));
    let peer = median_duration(runs, || spawned(1_000, runtime, blocking_sleep));
    let label = "blocking waits 1,000 x 10 ms vs spawn_blocking";
    compared(label, ms(ours), ms(peer), "ms", 1);
    if let Some((secs, _, threads)) = child(&["--nested"]) {
        println!(
            "{:<44} {:>10.3} s {:>12} {:>10}",
            "nested fib(20) on threads(2): time, threads",
            secs,
            threads,
            format!("+{}", threads as i64 - cores as i64)
        );
    }
}

/// What the dashboard costs a wide compute of `n` tasks while a page
/// watches it: the same compute on a client without a dashboard, on one
/// with a no-op callback (what any callback costs) and on one with the
/// dashboard, alternated, each the median of 7 runs.
#[cfg(feature = "dashboard")]
fn dashboard_cost(n: u64) {
    use std::io::{Read, Write};

    let plain = Client::builder().build().unwrap();
    let hooked = Client::builder()
        .callback(std::sync::Arc::new(NoOp))
        .build()
        .unwrap();
    let watched = Client::builder().dashboard("127.0.0.1:0").build().unwrap();
    // An open page: a reader of the event stream that takes every frame.
    let address = watched.dashboard().unwrap().address();
    let mut page = std::net::TcpStream::connect(address).unwrap();
    write!(page, "GET /events HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let frames = std::thread::spawn(move || {
        let mut buffer = vec![0; 1 << 16];
        let mut received = 0_usize;
        while let Ok(read @ 1..) = page.read(&mut buffer) {
            received += read;
        }
        received
    });
    let run = |client: &Client| {
        let tasks: Vec<Delayed<u64>> = (0..n).map(inc).collect();
        let start = Instant::now();
        black_box(client.compute(&tasks).unwrap());
        start.elapsed()
    };
    let (mut without, mut noop, mut with) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        without.push(run(&plain));
        noop.push(run(&hooked));
        with.push(run(&watched));
    }
    for runs in [&mut without, &mut noop, &mut with] {
        runs.sort();
    }
    let (without, noop, with) = (without[3], noop[3], with[3]);
    println!(
        "wide {n}: compute {:.0} ns/task without a dashboard, {:.0} with one open: {:.2}x \
         (a no-op callback: {:.0} ns/task, {:.2}x)",
        per_task(without, n),
        per_task(with, n),
        with.as_secs_f64() / without.as_secs_f64(),
        per_task(noop, n),
        noop.as_secs_f64() / without.as_secs_f64(),
    );
    drop(watched);
    println!(
        "the page received {} KB of frames",
        frames.join().unwrap() / 1024
    );
}

#[cfg(not(feature = "dashboard"))]
fn dashboard_cost(_n: u64) {
    eprintln!(
        "the dashboard row needs the feature: \
         cargo run --release -p delayed-bench --features dashboard --example overhead -- --dashboard"
    );
}

/// A callback that does nothing: what the hooks themselves cost.
struct NoOp;

impl delayed::diagnostics::Callback for NoOp {}

/// `wide` on a client with a no-op callback registered.
fn wide_with_callback(n: u64, client: &Client) -> Timing {
    let start = Instant::now();
    let tasks: Vec<Delayed<u64>> = (0..n).map(inc).collect();
    let build = start.elapsed();
    let start = Instant::now();
    black_box(client.compute(&tasks).unwrap());
    Timing {
        build,
        compute: start.elapsed(),
    }
}

/// The bare-runtime floor for `wide`: spawn each closure on tokio.
fn tokio_spawn(n: u64, runtime: &tokio::runtime::Runtime) -> Duration {
    let start = Instant::now();
    runtime.block_on(async {
        let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i + 1 })).collect();
        let mut values = Vec::with_capacity(handles.len());
        for handle in handles {
            values.push(handle.await.unwrap());
        }
        black_box(values);
    });
    start.elapsed()
}

/// The floor for `chain`: the same additions in a loop.
fn sequential(n: u64) -> Duration {
    let start = Instant::now();
    let mut x = 0_u64;
    for _ in 0..n {
        x = black_box(x) + 1;
    }
    black_box(x);
    start.elapsed()
}

/// Median of `runs` timings by compute time.
fn median(runs: usize, mut f: impl FnMut() -> Timing) -> Timing {
    let mut all: Vec<Timing> = (0..runs).map(|_| f()).collect();
    all.sort_by_key(|t| t.compute);
    all.swap_remove(runs / 2)
}

fn median_duration(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut all: Vec<Duration> = (0..runs).map(|_| f()).collect();
    all.sort();
    all[runs / 2]
}

fn per_task(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

/// How the cost per task (build + compute) grows with the graph's size:
/// wide, chain and tree at 10^4, 10^6 and 10^7 tasks, the median of 7
/// runs each, and the ratio of each size's median to the one before.
/// `tree&` is the tree built with its handles passed by reference.
/// The last columns are the page faults per thousand tasks of the median
/// run at 10^6 and 10^7: memory the process had to map and zero again.
fn growth_table() {
    const SIZES: [u64; 3] = [10_000, 1_000_000, 10_000_000];
    Client::global().unwrap();
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>12} {:>12} {:>10} {:>10}",
        "workload",
        "10^4 ns/t",
        "10^6 ns/t",
        "10^7 ns/t",
        "10^4->10^6",
        "10^6->10^7",
        "pf/1k 10^6",
        "pf/1k 10^7"
    );
    for (name, workload) in [
        ("wide", wide as fn(u64) -> Timing),
        ("chain", chain),
        ("tree", tree),
        ("tree&", tree_by_reference),
    ] {
        let runs = SIZES.map(|n| {
            let mut runs: Vec<(Duration, u64)> = (0..7)
                .map(|_| {
                    let faults = delayed_bench::minor_faults();
                    let t = workload(n);
                    (t.build + t.compute, delayed_bench::minor_faults() - faults)
                })
                .collect();
            runs.sort();
            let (total, faults) = runs[runs.len() / 2];
            (per_task(total, n), faults as f64 * 1000.0 / n as f64)
        });
        let costs = runs.map(|(cost, _)| cost);
        println!(
            "{name:<8} {:>10.0} {:>10.0} {:>10.0} {:>11.2}x {:>11.2}x {:>10.1} {:>10.1}",
            costs[0],
            costs[1],
            costs[2],
            costs[1] / costs[0],
            costs[2] / costs[1],
            runs[1].1,
            runs[2].1
        );
    }
}

/// Peak resident memory per task of `workload` at `n`, in a fresh process.
fn peak_bytes_per_task(workload: &str, n: u64) -> Option<f64> {
    let output = std::process::Command::new(std::env::current_exe().ok()?)
        .args(["--memory", workload, &n.to_string()])
        .output()
        .ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// The child side of [`peak_bytes_per_task`]; `times` computes one after
/// the other (the second keeps its arrays, and the third and later ones
/// reuse the arrays of the one before: `delayed-runtime/src/scratch.rs`).
fn measure_memory(workload: &str, n: u64, times: usize) {
    Client::global().unwrap(); // start the runtime before the baseline
    let before = status_bytes("VmRSS");
    for _ in 0..times {
        match workload {
            "wide" => drop(wide(n)),
            "chain" => drop(chain(n)),
            "tree" => drop(tree(n)),
            other => panic!("unknown workload {other}"),
        }
    }
    let peak = status_bytes("VmHWM");
    println!("{:.1}", peak.saturating_sub(before) as f64 / n as f64);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, workload, n, times @ ..] = args.as_slice()
        && flag == "--memory"
    {
        let times = times
            .first()
            .map_or(1, |t| t.parse().expect("a number of computes"));
        measure_memory(workload, n.parse().expect("a task count"), times);
        return;
    }
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--cpu-bound", config] => return measure_cpu_bound(config),
        ["--nested"] => return measure_nested(),
        ["--dashboard"] => return dashboard_cost(1_000_000),
        ["--scheduler", rest @ ..] => {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            Client::global().unwrap();
            return scheduler_table(rest.contains(&"--quick"), &runtime);
        }
        _ => {}
    }
    if args.first().map(String::as_str) == Some("--growth") {
        return growth_table();
    }
    if args.first().map(String::as_str) == Some("--csv") {
        // For bench/compare.sh: workload,tasks,build ns/task,compute ns/task.
        let sizes: Vec<u64> = args[1..]
            .iter()
            .map(|s| s.parse().expect("a task count"))
            .collect();
        Client::global().unwrap();
        for n in sizes {
            for (name, workload) in [
                ("wide", wide as fn(u64) -> Timing),
                ("chain", chain),
                ("tree", tree),
            ] {
                let t = median(5, || workload(n));
                println!(
                    "{name},{n},{:.0},{:.0}",
                    per_task(t.build, n),
                    per_task(t.compute, n)
                );
            }
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: &[u64] = if quick {
        &[1_000, 10_000, 100_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    let runs = 5;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    Client::global().unwrap();
    let hooked = Client::builder()
        .callback(std::sync::Arc::new(NoOp))
        .build()
        .unwrap();

    println!(
        "{:<16} {:>9} {:>12} {:>14} {:>12} {:>10} {:>12}",
        "workload", "tasks", "build ns/t", "compute ns/t", "floor ns/t", "ratio", "peak B/t"
    );
    let row = |name: &str, n: u64, t: &Timing, floor: Option<Duration>, memory: Option<f64>| {
        let total = per_task(t.build + t.compute, n);
        // A floor under a nanosecond per task (a loop of additions) makes
        // no meaningful ratio.
        let floor = floor.filter(|f| per_task(*f, n) >= 1.0);
        let (floor, ratio) = match floor {
            Some(f) => (
                format!("{:.0}", per_task(f, n)),
                format!("{:.2}x", total / per_task(f, n)),
            ),
            None => ("-".into(), "-".into()),
        };
        let memory = memory.map_or("-".into(), |m| format!("{m:.0}"));
        println!(
            "{name:<16} {n:>9} {:>12.0} {:>14.0} {floor:>12} {ratio:>10} {memory:>12}",
            per_task(t.build, n),
            per_task(t.compute, n)
        );
    };
    for &n in sizes {
        let memory = |w: &str| (n >= 100_000).then(|| peak_bytes_per_task(w, n)).flatten();
        let spawn = median_duration(runs, || tokio_spawn(n, &runtime));
        row(
            "wide",
            n,
            &median(runs, || wide(n)),
            Some(spawn),
            memory("wide"),
        );
        let with_callback = median(runs, || wide_with_callback(n, &hooked));
        row("wide+callback", n, &with_callback, Some(spawn), None);
        let loop_floor = median_duration(runs, || sequential(n));
        row(
            "chain",
            n,
            &median(runs, || chain(n)),
            Some(loop_floor),
            memory("chain"),
        );
        row("tree", n, &median(runs, || tree(n)), None, memory("tree"));
        if n <= 10_000 {
            row(
                "fan-out move",
                n,
                &median(3, || fan_out(n, true)),
                None,
                None,
            );
            row(
                "fan-out borrow",
                n,
                &median(3, || fan_out(n, false)),
                None,
                None,
            );
        }
        if n <= 100_000 {
            row("mixed", n, &median(3, || mixed(n)), None, None);
        }
    }
    scheduler_table(quick, &runtime);
    for ms in if quick { vec![10] } else { vec![10, 1_000] } {
        let t = median(if ms >= 1_000 { 1 } else { 3 }, || seed(ms));
        let sequential = Duration::from_millis(30 * ms);
        println!(
            "seed {ms} ms sleeps: {:.3} s ({:.2}x over {:.1} s sequentially)",
            t.compute.as_secs_f64(),
            sequential.as_secs_f64() / t.compute.as_secs_f64(),
            sequential.as_secs_f64()
        );
    }
}
