use delayed::delayed;
use std::sync::atomic::{AtomicBool, Ordering};
#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}
fn main() {
    let n: u64 = std::env::args().nth(1).unwrap().parse().unwrap();
    delayed::Client::global().unwrap();
    let before = rss();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let t0 = std::time::Instant::now();
    let sampler = std::thread::spawn(move || {
        let mut out = Vec::new();
        while !s2.load(Ordering::Relaxed) {
            out.push((t0.elapsed().as_millis(), rss()));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        out
    });
    let tasks: Vec<_> = (0..n).map(inc).collect();
    let built = t0.elapsed().as_millis();
    let out = delayed::compute(&tasks).unwrap();
    let computed = t0.elapsed().as_millis();
    drop(out);
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    println!("built at {built} ms, computed at {computed} ms");
    for (t, r) in samples.iter().step_by(4) {
        println!("{t:>5} ms {:>6.1} B/task", (*r - before) as f64 / n as f64);
    }
    let max = samples.iter().map(|s| s.1).max().unwrap();
    println!("max {:.1}", (max - before) as f64 / n as f64);
}
