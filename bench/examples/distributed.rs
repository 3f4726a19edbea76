//! `delayed` on a `LocalCluster` of 1, 2 and 4 single-threaded workers, on the graphs of
//! `bench/distributed.sh`, which runs Dask distributed on the same ones.
//! Prints `workload,tasks,workers,seconds` lines (median of 3 runs), and
//! last the 10 ms tasks on one worker of two threads (workers `1x2`).
//! `1mb-shared`, which Dask's table does not have, reads each 1 MB value
//! twice, so that it goes through the broker rather than pass from its
//! task to the one reader in memory as `1mb-values`' do.
//!
//! ```text
//! cargo run --release -p delayed-bench --features distributed --example distributed -- [WORKERS…]
//! ```
//!
//! With `--scale N [WORKERS…]` it runs only `N` independent tasks (the
//! `inc` of the `wide` workload, and no-op tasks that return `()`, whose
//! figure is what HyperQueue's zero-worker mode measures: everything but
//! the task's own work) and prints tasks per second and the client's peak
//! memory per task (the graph's own included) for each number of workers,
//! each in a fresh process.

use std::hint::black_box;
use std::time::Instant;

use delayed::distributed::LocalCluster;
use delayed::{Client, Delayed, delayed};
use delayed_bench::{chain_of, inc, status_bytes, tree_of, workers};

/// `rounds` rounds of arithmetic: a fixed amount of CPU work, the same
/// however many processes share the cores (a deadline on the clock would
/// give each of them less work when they do).
#[delayed]
fn spin(rounds: u64, seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..rounds {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    x
}

/// How many rounds of [`spin`] take 10 ms on one core here, measured in
/// this process before any worker starts: the median of 9 tries.
fn rounds_in_10_ms() -> u64 {
    let probe = 1_000_000;
    let mut tries: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            black_box(
                Client::synchronous()
                    .compute(&spin(probe, 1))
                    .expect("it spins"),
            );
            start.elapsed().as_secs_f64()
        })
        .collect();
    tries.sort_by(f64::total_cmp);
    (probe as f64 * 0.010 / tries[4]) as u64
}

/// A task that does nothing: what it costs is the scheduler, the broker
/// and the worker's bookkeeping alone.
#[delayed]
fn noop(_i: u64) {}

/// A value of `bytes` bytes.
#[delayed]
fn make(bytes: usize, seed: u8) -> Vec<u8> {
    vec![seed; bytes]
}

#[delayed]
fn size(v: Vec<u8>) -> usize {
    v.len()
}

fn chain(n: u64) -> Vec<Delayed<u64>> {
    vec![chain_of(n)]
}

fn wide(n: u64) -> Vec<Delayed<u64>> {
    (0..n).map(inc).collect()
}

fn tree(leaves: u64) -> Vec<Delayed<u64>> {
    vec![tree_of(leaves)]
}

fn cpu(n: u64, rounds: u64) -> Vec<Delayed<u64>> {
    (0..n).map(|i| spin(rounds, i)).collect()
}

/// `n` values of 1 MB, each made by one task and measured by another.
fn megabytes(n: u64) -> Vec<Delayed<usize>> {
    (0..n).map(|i| size(make(1 << 20, i as u8))).collect()
}

/// `n` values of 1 MB, each read by two tasks: with two readers a value
/// does not pass to one in memory on its worker, but is written to the
/// broker.
fn shared_megabytes(n: u64) -> Vec<Delayed<usize>> {
    (0..n)
        .flat_map(|i| {
            let value = make(1 << 20, i as u8);
            [size(&value), size(&value)]
        })
        .collect()
}

fn time<T: delayed::TaskValue + Clone>(
    client: &Client,
    build: impl Fn() -> Vec<Delayed<T>>,
) -> f64 {
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let graph = build();
            let start = Instant::now();
            black_box(client.compute(&graph).expect("the graph computes"));
            start.elapsed().as_secs_f64()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

/// The time a message takes to go through Redis and back between the
/// blocking stream reads of two threads, each with a runtime and a
/// connection of its own as a client and a worker have: a chain's link
/// does that (task to the worker, completion to the client), so this is
/// the floor of a link on this machine. Median of 2,000 rounds, in
/// microseconds.
fn floor(url: &str) -> f64 {
    use redis::AsyncCommands;
    use redis::streams::{StreamReadOptions, StreamReadReply};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = redis::Client::open(url).expect("the broker's address");
    // Each side's connection is made on the runtime of the thread that
    // uses it: a multiplexed connection's replies are read by a task on
    // the runtime it was made on, which must be running while it waits.
    let mut ping = runtime
        .block_on(client.get_multiplexed_async_connection())
        .expect("the broker answers");
    let (there, back) = ("bench:floor:there", "bench:floor:back");
    let _: () = runtime
        .block_on(ping.del(&[there, back]))
        .expect("the streams are new");
    // Each side writes and then waits on the other stream in one round
    // trip, as a worker records a task and reads the next.
    fn pass(to: &str, wait_on: &str, after: &str) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        pipe.xadd(to, "*", &[("m", "x")]).ignore().xread_options(
            &[wait_on],
            &[after],
            &StreamReadOptions::default().block(0),
        );
        pipe
    }
    let echo_client = client.clone();
    let echo = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut pong = runtime
            .block_on(echo_client.get_multiplexed_async_connection())
            .expect("the broker answers");
        runtime.block_on(async move {
            let first: StreamReadReply = pong
                .xread_options(&[there], &["0"], &StreamReadOptions::default().block(0))
                .await
                .expect("a read");
            let mut after = first.keys[0].ids[0].id.clone();
            for _ in 1..2000 {
                let (read,): (StreamReadReply,) = pass(back, there, &after)
                    .query_async(&mut pong)
                    .await
                    .expect("a round");
                after = read.keys[0].ids[0].id.clone();
            }
            let _: String = pong.xadd(back, "*", &[("m", "x")]).await.expect("a write");
        });
    });
    let mut rounds: Vec<f64> = runtime.block_on(async {
        let mut after = "0".to_string();
        let mut rounds = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let start = Instant::now();
            let (read,): (StreamReadReply,) = pass(there, back, &after)
                .query_async(&mut ping)
                .await
                .expect("a round");
            after = read.keys[0].ids[0].id.clone();
            rounds.push(start.elapsed().as_secs_f64() * 1e6);
        }
        rounds
    });
    echo.join().expect("the echo ran");
    let _: () = runtime
        .block_on(ping.del(&[there, back]))
        .expect("the streams are deleted");
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

/// `n` independent tasks on 1, 2 and 4 workers (or `workers`), each
/// number of workers in a fresh process (so that each one's peak memory
/// is its own): tasks per second (median of 3 computes) and the client's
/// peak resident memory over its own before the first compute, per task.
fn scale(n: u64, workers: &[usize]) {
    println!(
        "{:<12} {:>9} {:>8} {:>10} {:>12} {:>16}",
        "workload", "tasks", "workers", "seconds", "tasks/s", "client B/task"
    );
    for &w in workers {
        let status = std::process::Command::new(std::env::current_exe().expect("this program"))
            .args(["--scale-one", &n.to_string(), &w.to_string()])
            .status()
            .expect("the child runs");
        assert!(status.success(), "the run on {w} workers failed");
    }
}

/// The child side of [`scale`]: one number of workers.
fn scale_one(n: u64, w: usize) -> Result<(), delayed::Error> {
    let (_cluster, client) = cluster_of(w)?;
    let before = status_bytes("VmRSS");
    let row = |name: &str, seconds: f64| {
        let peak = status_bytes("VmHWM").saturating_sub(before);
        println!(
            "{name:<12} {n:>9} {w:>8} {seconds:>10.2} {:>12.0} {:>16.0}",
            n as f64 / seconds,
            peak as f64 / n as f64
        );
    };
    row("inc", time(&client, || wide(n)));
    row("no-op", time(&client, || noops(n)));
    Ok(())
}

/// A `LocalCluster` of `w` single-threaded workers, as Dask's are in
/// `bench/distributed.sh`, and its client with the workers' connections
/// warmed up.
fn cluster_of(w: usize) -> Result<(LocalCluster, Client), delayed::Error> {
    let cluster = LocalCluster::builder()
        .workers(w)
        .threads_per_worker(1)
        .build()?;
    let client = cluster.client()?;
    client.compute(&wide(100))?;
    Ok((cluster, client))
}

fn noops(n: u64) -> Vec<Delayed<()>> {
    (0..n).map(noop).collect()
}

fn main() -> Result<(), delayed::Error> {
    delayed::distributed::serve_if_worker()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n, w] = args.as_slice()
        && flag == "--scale-one"
    {
        return scale_one(
            n.parse().expect("a number of tasks"),
            w.parse().expect("a number of workers"),
        );
    }
    if let Some(("--scale", rest)) = args.split_first().map(|(a, r)| (a.as_str(), r)) {
        let (n, listed) = rest.split_first().expect("--scale N [WORKERS…]");
        scale(n.parse().expect("a number of tasks"), &workers(listed));
        return Ok(());
    }
    let workers = workers(&args);
    let rounds = rounds_in_10_ms();
    for (i, w) in workers.into_iter().enumerate() {
        let (cluster, client) = cluster_of(w)?;
        if i == 0 {
            println!("floor,1,{w},{:.6}", floor(cluster.url()) / 1e6);
        }
        println!("chain,2000,{w},{:.4}", time(&client, || chain(2000)));
        println!(
            "independent,20000,{w},{:.4}",
            time(&client, || wide(20_000))
        );
        println!(
            "tree,{},{w},{:.4}",
            (1 << 15) - 1,
            time(&client, || tree(1 << 14))
        );
        println!("cpu-10ms,200,{w},{:.4}", time(&client, || cpu(200, rounds)));
        println!(
            "1mb-values,1000,{w},{:.4}",
            time(&client, || megabytes(1000))
        );
        println!(
            "1mb-shared,1000,{w},{:.4}",
            time(&client, || shared_megabytes(1000))
        );
    }
    // One worker of two threads against two single-threaded workers: the
    // same cores, in one process.
    let cluster = LocalCluster::builder()
        .workers(1)
        .threads_per_worker(2)
        .build()?;
    let client = cluster.client()?;
    client.compute(&wide(100))?;
    println!("cpu-10ms,200,1x2,{:.4}", time(&client, || cpu(200, rounds)));
    Ok(())
}
