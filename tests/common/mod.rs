//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod spans;

// The benchmarks' reduction, so that a test reduces as they do.
#[path = "../../bench/src/pairwise.rs"]
pub mod pairwise;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Appends `line` to the file at `log`, which tests count runs by: a task
/// that logs each run, wherever it runs (in another process too).
pub fn log_run(log: &str, line: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the run log opens");
    writeln!(file, "{line}").expect("the run log is written");
}

/// Runs `f` on its own thread and fails the test if it does not finish in
/// `seconds`: a hang is a failure, never a stuck test run.
pub fn within<T: Send + 'static>(seconds: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = sender.send(f());
    });
    match receiver.recv_timeout(Duration::from_secs(seconds)) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within {seconds} s"),
    }
}

/// Polls `condition` every millisecond until it holds; fails the test
/// after 20 s rather than hanging.
pub fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Holds the tasks that wait on it until the test opens it; a task still
/// waiting after 20 s fails rather than hanging the test.
pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    pub const fn new() -> Gate {
        Gate {
            open: Mutex::new(false),
            opened: Condvar::new(),
        }
    }

    /// Waits until the gate is open.
    pub fn wait(&self) {
        let open = self.open.lock().unwrap();
        let (_open, waited) = self
            .opened
            .wait_timeout_while(open, Duration::from_secs(20), |open| !*open)
            .unwrap();
        assert!(!waited.timed_out(), "the gate was not opened within 20 s");
    }

    /// Lets every waiting task, and every later one, through.
    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Counts how many tasks are inside a section at once, and the most seen.
pub struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    pub const fn new() -> Gauge {
        Gauge {
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
        }
    }

    /// Enters the section until the guard drops.
    pub fn enter(&self) -> GaugeGuard<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(self)
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    /// Waits until `n` tasks have been inside at once, or `timeout` passes;
    /// returns whether they were.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.max() < n {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}

pub struct GaugeGuard<'a>(&'a Gauge);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}
