//! A chain of a million tasks builds, computes and drops on an ordinary
//! 2 MiB thread stack: no recursion over the graph anywhere.

mod common;

use delayed::{Client, Delayed, delayed};

const LINKS: u64 = 1_000_000;

#[delayed]
fn link(x: u64) -> u64 {
    x + 1
}

/// Runs `f` on a thread with the default 2 MiB stack of spawned threads.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn chain() -> Delayed<u64> {
    let mut tip = link(0);
    for _ in 1..LINKS {
        tip = link(tip);
    }
    tip
}

#[test]
fn a_million_link_chain_builds_computes_and_drops() {
    let value = common::within(300, || {
        on_small_stack(|| {
            let tip = chain();
            let value = tip.compute().unwrap();
            drop(tip);
            value
        })
    });
    assert_eq!(value, LINKS);
}

#[test]
fn a_million_link_chain_on_the_synchronous_client() {
    let value = common::within(300, || {
        on_small_stack(|| Client::synchronous().compute(&chain()).unwrap())
    });
    assert_eq!(value, LINKS);
}

#[test]
fn dropping_a_million_link_chain_without_computing() {
    common::within(300, || on_small_stack(|| drop(chain())));
}

#[test]
fn a_million_wide_fan_builds_computes_visualises_and_drops() {
    let total = common::within(300, || {
        on_small_stack(|| {
            let base = delayed::value(1_u64);
            let fan: Vec<Delayed<u64>> = (0..LINKS).map(|_| link(&base)).collect();
            let values = delayed::compute(&fan).unwrap();
            let picture = delayed::visualize(&fan).to_svg();
            drop(fan);
            (values.iter().sum::<u64>(), picture)
        })
    });
    assert_eq!(total.0, 2 * LINKS);
    assert!(total.1.contains("link × 1,000,000"), "{}", total.1);
}

#[test]
fn handles_dropped_while_their_graph_computes() {
    #[delayed]
    fn slow(x: u64) -> u64 {
        std::thread::sleep(std::time::Duration::from_millis(1));
        x + 1
    }
    let mut tip = slow(0);
    for _ in 0..200 {
        tip = slow(tip);
    }
    let computing = {
        let tip = tip.clone();
        std::thread::spawn(move || tip.compute().unwrap())
    };
    drop(tip); // the only other handle goes while the compute runs
    assert_eq!(common::within(60, move || computing.join().unwrap()), 201);
}
