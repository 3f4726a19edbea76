//! Callbacks, the progress bar and the profiler, on known graphs.
//!
//! Scoped registrations see every compute in the process, so the tests of
//! this file run one at a time.

use delayed::diagnostics::{
    self, Callback, ComputeFinish, ComputeStart, Profiler, ProgressBar, TaskFinish, TaskStart,
};
use delayed::{Client, Delayed, delayed};
use std::sync::{Arc, Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records every hook call as a line.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Callback for Log {
    fn start(&self, compute: &ComputeStart<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("start {}", compute.tasks));
    }
    fn task_start(&self, task: &TaskStart<'_>) {
        assert_eq!(task.name, task.key.name());
        self.0
            .lock()
            .unwrap()
            .push(format!("task_start {}", task.name));
    }
    fn task_finish(&self, task: &TaskFinish<'_>) {
        assert!(task.started.elapsed() >= task.duration);
        self.0
            .lock()
            .unwrap()
            .push(format!("task_finish {} {}", task.name, task.ok));
    }
    fn finish(&self, compute: &ComputeFinish<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("finish {}", compute.ok));
    }
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[delayed]
fn check(x: i64) -> Result<i64, String> {
    if x > 2 {
        Err(format!("{x} is too big"))
    } else {
        Ok(x)
    }
}

#[test]
fn hooks_come_in_order_with_counts_on_the_synchronous_client() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    let client = Client::builder()
        .synchronous()
        .callback(log.clone())
        .build()
        .unwrap();
    let graph = add(inc(1), delayed::value(10));
    assert_eq!(client.compute(&graph).unwrap(), 12);
    assert_eq!(
        log.lines(),
        [
            "start 2",
            "task_start inc",
            "task_finish inc true",
            "task_start add",
            "task_finish add true",
            "finish true",
        ]
    );
}

#[test]
fn hooks_report_a_failing_graph() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    let client = Client::builder()
        .synchronous()
        .callback(log.clone())
        .build()
        .unwrap();
    let graph = add(check(inc(2)), inc(0));
    assert!(client.compute(&graph).is_err());
    assert_eq!(
        log.lines(),
        [
            "start 4",
            "task_start inc",
            "task_finish inc true",
            "task_start check",
            "task_finish check false",
            "finish false",
        ]
    );
}

#[test]
fn every_task_is_seen_once_on_the_threaded_client() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    let client = Client::builder()
        .threads(4)
        .callback(log.clone())
        .build()
        .unwrap();
    let l: Vec<Delayed<i64>> = (0..50).map(|i| add(inc(i), inc(i))).collect();
    client.compute(&l).unwrap();
    let lines = log.lines();
    assert_eq!(lines.first().map(String::as_str), Some("start 150"));
    assert_eq!(lines.last().map(String::as_str), Some("finish true"));
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("task_start inc"), 100);
    assert_eq!(count("task_finish add true"), 50);
    assert_eq!(count("task_start"), count("task_finish"));
}

#[test]
fn a_scoped_registration_ends_with_its_guard() {
    let _serial = serial();
    let log = Arc::new(Log::default());
    {
        let _guard = diagnostics::register(log.clone());
        inc(1).compute().unwrap();
    }
    inc(1).compute().unwrap();
    assert_eq!(
        log.lines()
            .iter()
            .filter(|l| l.starts_with("start"))
            .count(),
        1
    );
}

#[test]
fn the_progress_bar_counts_tasks_and_clears_on_error() {
    let _serial = serial();
    let bar = ProgressBar::hidden();
    let l: Vec<Delayed<i64>> = (0..20).map(inc).collect();
    {
        let _shown = bar.register();
        delayed::compute(&l).unwrap();
        assert_eq!((bar.position(), bar.length()), (20, Some(20)));
        assert!(!bar.is_cleared());
        let failing = add(check(5), inc(1));
        let client = Client::synchronous();
        assert!(client.compute(&failing).is_err());
    }
    assert!(bar.is_cleared());
}

/// Sleeps for `ms` milliseconds: a task that takes a known time.
#[delayed]
fn nap(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

/// A writer whose bytes the test reads back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn without_a_terminal_the_progress_bar_prints_plain_lines_and_an_outcome() {
    let _serial = serial();
    let out = Captured::default();
    let bar = ProgressBar::lines(out.clone(), std::time::Duration::from_millis(30));
    let client = Client::builder()
        .threads(2)
        .callback(std::sync::Arc::new(bar.clone()))
        .build()
        .unwrap();
    client
        .compute(&(0..20).map(|_| nap(10)).collect::<Vec<_>>())
        .unwrap();
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    // About 100 ms of work at a line per 30 ms: lines while it ran, each
    // with a count, a rate and (past the first tenth) what is left; then
    // the outcome.
    assert!(lines.len() >= 3, "{text}");
    for line in &lines[..lines.len() - 1] {
        assert!(line.starts_with("[00:00:00] "), "{line}");
        assert!(line.contains("/20 tasks  "), "{line}");
        assert!(line.contains(" tasks/s"), "{line}");
    }
    let estimates = lines.iter().filter(|l| l.ends_with(" s left")).count();
    assert!(estimates >= 1, "{text}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("[00:00:00] 20/20 tasks done in 0."),
        "{last}"
    );
    assert!(last.ends_with(" tasks/s"), "{last}");
    // Plain text: no carriage returns or terminal escapes.
    assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");

    let failing = add(check(5), inc(1));
    assert!(client.compute(&failing).is_err());
    let text = out.text();
    let last = text.lines().last().unwrap();
    assert!(last.contains(" tasks, failed after "), "{last}");
}

#[test]
fn the_profiler_records_a_timeline_and_a_summary() {
    let _serial = serial();
    let profiler = Profiler::new();
    {
        let _recording = profiler.register();
        let client = Client::builder().threads(2).build().unwrap();
        client.compute(&vec![nap(20), nap(20), nap(5)]).unwrap();
    }
    let records = profiler.records();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.function == "nap" && r.ok));
    // Two tasks ran side by side, on different threads, never three.
    let threads: std::collections::HashSet<usize> = records.iter().map(|r| r.thread).collect();
    assert!(threads.len() >= 2, "{records:?}");
    let overlapping = |t: f64| records.iter().filter(|r| r.start <= t && t < r.end).count();
    let most = records.iter().map(|r| overlapping(r.start)).max().unwrap();
    assert_eq!(most, 2, "{records:?}");
    let twenty = records.iter().filter(|r| r.end - r.start >= 0.019).count();
    assert!(twenty >= 2, "{records:?}");

    let summary = profiler.summary();
    assert_eq!(summary.functions.len(), 1);
    assert_eq!(summary.functions[0].tasks, 3);
    assert!(summary.functions[0].total >= std::time::Duration::from_millis(45));
    assert!(
        summary
            .to_string()
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("nap")
    );

    let svg = profiler.to_svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let bars = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("task"))
        .count();
    let rows = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("row"))
        .count();
    assert_eq!((bars, rows), (3, threads.len()));

    let json = profiler.to_json();
    let back: Vec<diagnostics::TaskRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, records);
}

/// Remembers each task's duration; reads the clock only when `timed`.
struct Durations {
    timed: bool,
    seen: std::sync::Mutex<Vec<std::time::Duration>>,
}

impl Callback for Durations {
    fn task_finish(&self, task: &TaskFinish<'_>) {
        self.seen.lock().unwrap().push(task.duration);
    }

    fn times_tasks(&self) -> bool {
        self.timed
    }
}

#[test]
fn tasks_are_timed_only_when_a_callback_reads_the_times() {
    let _serial = serial();
    let durations = |callbacks: &[bool]| {
        let all: Vec<std::sync::Arc<Durations>> = callbacks
            .iter()
            .map(|&timed| {
                std::sync::Arc::new(Durations {
                    timed,
                    seen: std::sync::Mutex::new(Vec::new()),
                })
            })
            .collect();
        let mut builder = Client::builder();
        for callback in &all {
            builder = builder.callback(callback.clone());
        }
        builder.build().unwrap().compute(&nap(5)).unwrap();
        all.iter()
            .map(|c| c.seen.lock().unwrap()[0])
            .collect::<Vec<_>>()
    };
    // No callback reads the times: none is taken.
    assert_eq!(durations(&[false]), [std::time::Duration::ZERO]);
    // One does: every callback sees the real duration.
    let both = durations(&[false, true]);
    assert!(
        both.iter()
            .all(|d| *d >= std::time::Duration::from_millis(5)),
        "{both:?}"
    );
}

#[test]
fn the_timeline_legend_is_packed_beside_its_heading() {
    let _serial = serial();
    #[delayed]
    fn ab(x: i64) -> i64 {
        x
    }
    #[delayed]
    fn cd(x: i64) -> i64 {
        x
    }
    let profiler = Profiler::new();
    {
        let _recording = profiler.register();
        Client::synchronous().compute(&vec![ab(1), cd(2)]).unwrap();
    }
    let svg = profiler.to_svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let xs: Vec<f64> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("legend"))
        .map(|n| n.attribute("x").unwrap().parse().unwrap())
        .collect();
    assert_eq!(xs.len(), 2, "{svg}");
    // Side by side, each entry as wide as its name, not spread over the
    // plot's width.
    assert!(xs[1] - xs[0] < 80.0, "{xs:?}");
    assert!(svg.contains(">functions</text>"));
}
