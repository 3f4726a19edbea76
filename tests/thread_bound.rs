//! OS threads stay bounded: a recursive nested compute on `threads(2)`
//! needs no thread per level. Alone in its test binary, so that the
//! process's thread count is this test's.

mod common;

use delayed::{Client, delayed};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

static CLIENT: OnceLock<Client> = OnceLock::new();

#[delayed]
fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = CLIENT
        .get()
        .unwrap()
        .compute(&(fib(n - 1), fib(n - 2)))
        .unwrap();
    a + b
}

/// The threads of this process, from the kernel.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

#[test]
fn nested_fib_on_two_threads_needs_no_thread_per_level() {
    if !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipped: this platform has no /proc to count threads with");
        return;
    }
    static DONE: AtomicBool = AtomicBool::new(false);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    let before = threads();
    let sampler = std::thread::spawn(|| {
        while !DONE.load(Ordering::SeqCst) {
            PEAK.fetch_max(threads(), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let client = CLIENT.get_or_init(|| Client::builder().threads(2).build().unwrap());
    let value = common::within(120, move || client.compute(&fib(18)).unwrap());
    DONE.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    assert_eq!(value, 2584);
    let cores = std::thread::available_parallelism().unwrap().get();
    // Besides the threads there before: the sampler, the watchdog's
    // thread, the runtime's workers and the pool's two.
    let added = PEAK.load(Ordering::SeqCst) - before;
    assert!(
        added <= cores + 8,
        "{added} threads for a nested fib(18) on threads(2) with {cores} cores"
    );
}
