//! The seed program on a local cluster: four worker processes of this
//! executable and a private `redis-server` as their broker. Each task
//! sleeps one second on a worker, and a worker runs one task at a time:
//! the twenty `inc`s and `dec`s take 5 s on 4 workers, the ten `add`s 3 s
//! more, about 8 s in all (against 30 s one after another).
//!
//! ```text
//! cargo run --release --features distributed --example distributed
//! ```
//!
//! It needs `redis-server` on the PATH (`apt-get install redis-server`).

use delayed::distributed::LocalCluster;
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

fn main() -> Result<(), delayed::Error> {
    // In a worker process (started by the cluster below): serve tasks.
    delayed::distributed::serve_if_worker()?;

    let cluster = LocalCluster::new(4)?;
    let client = cluster.client()?;
    let _on_cluster = client.enter(); // `compute!` uses this client here
    let mut l = Vec::new();
    for i in 0..10 {
        let a = inc(i);
        let b = dec(i);
        l.push(add(a, b));
    }
    let start = Instant::now();
    let l: Vec<i64> = compute!(l)?;
    assert_eq!(l, (0..10).map(|i| 2 * i).collect::<Vec<_>>());
    println!(
        "computed {l:?} on {} workers in {:.2} s",
        cluster.workers(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
