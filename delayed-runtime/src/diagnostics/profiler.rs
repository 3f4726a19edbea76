//! A task-timeline profiler: Dask's `Profiler` and its task stream.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::visualize::timeline::TaskRecord;

use super::{Callback, ComputeStart, Registration, TaskFinish, register};
use crate::error::Error;
use crate::key::Key;
use crate::visualize::save_as;

/// Records when each task ran and on which thread, for a timeline picture
/// (one row per thread, one bar per task, coloured by function) and a
/// per-function summary.
///
/// ```
/// use delayed::{delayed, diagnostics::Profiler};
///
/// #[delayed]
/// fn work(ms: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(ms)); ms }
///
/// let profiler = Profiler::new();
/// {
///     let _recording = profiler.register();
///     delayed::compute(&vec![work(2), work(3)])?;
/// }
/// let records = profiler.records();
/// assert_eq!(records.len(), 2);
/// assert!(records.iter().all(|r| r.function == "work" && r.end >= r.start));
/// println!("{}", profiler.summary());
/// # let dir = std::env::temp_dir();
/// profiler.save(dir.join("timeline.svg"))?; // also .json and .png
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Profiler {
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// The start of the first compute recorded: time zero of the timeline.
    origin: OnceLock<Instant>,
    tasks: Mutex<Vec<Raw>>,
}

struct Raw {
    key: Key,
    thread: ThreadId,
    worker: Option<String>,
    started: Instant,
    duration: Duration,
    ok: bool,
    cached: bool,
}

/// Where a task is drawn: the thread of this process it ran on, or the
/// worker.
#[derive(PartialEq, Eq, Hash)]
enum Row<'a> {
    Thread(ThreadId),
    Worker(&'a str),
}

impl Profiler {
    /// A profiler that records nothing until registered.
    ///
    /// ```
    /// assert!(delayed::diagnostics::Profiler::new().records().is_empty());
    /// ```
    pub fn new() -> Profiler {
        Profiler::default()
    }

    /// Records every compute until the guard is dropped.
    ///
    /// ```
    /// let profiler = delayed::diagnostics::Profiler::new();
    /// let _recording = profiler.register();
    /// ```
    pub fn register(&self) -> Registration {
        register(Arc::new(self.clone()))
    }

    /// The tasks recorded so far, in the order they started.
    ///
    /// ```
    /// let profiler = delayed::diagnostics::Profiler::new();
    /// {
    ///     let _recording = profiler.register();
    ///     delayed::value(2).map(|x| x * 2).compute()?;
    /// }
    /// assert_eq!(profiler.records()[0].function, "map");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn records(&self) -> Vec<TaskRecord> {
        let tasks = self
            .state
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(origin) = self.state.origin.get().copied() else {
            return Vec::new();
        };
        let mut order: Vec<&Raw> = tasks.iter().collect();
        order.sort_by_key(|raw| raw.started);
        // A row for each thread of this process, and one for each worker.
        let mut rows: HashMap<Row<'_>, usize> = HashMap::new();
        order
            .into_iter()
            .map(|raw| {
                let next = rows.len();
                let row = match &raw.worker {
                    Some(worker) => Row::Worker(worker),
                    None => Row::Thread(raw.thread),
                };
                let thread = *rows.entry(row).or_insert(next);
                let start = raw.started.saturating_duration_since(origin).as_secs_f64();
                TaskRecord {
                    key: raw.key.to_string(),
                    function: raw.key.name().to_owned(),
                    thread,
                    worker: raw.worker.clone(),
                    start,
                    end: start + raw.duration.as_secs_f64(),
                    ok: raw.ok,
                    cached: raw.cached,
                }
            })
            .collect()
    }

    /// Forgets everything recorded.
    ///
    /// ```
    /// let profiler = delayed::diagnostics::Profiler::new();
    /// profiler.clear();
    /// assert!(profiler.records().is_empty());
    /// ```
    pub fn clear(&self) {
        self.state
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Per-function counts and times; its `Display` is a table.
    ///
    /// ```
    /// let profiler = delayed::diagnostics::Profiler::new();
    /// {
    ///     let _recording = profiler.register();
    ///     let three: Vec<_> = (0..3).map(|i| delayed::value(i).map(|x| x + 1)).collect();
    ///     delayed::compute(&three)?;
    /// }
    /// let summary = profiler.summary();
    /// assert_eq!(summary.functions[0].tasks, 3);
    /// assert!(summary.to_string().contains("map"));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn summary(&self) -> Summary {
        let mut by_function: Vec<FunctionSummary> = Vec::new();
        for record in self.records() {
            let position = by_function
                .iter()
                .position(|f| f.function == record.function);
            let entry = match position {
                Some(i) => &mut by_function[i],
                None => {
                    by_function.push(FunctionSummary {
                        function: record.function.clone(),
                        tasks: 0,
                        failed: 0,
                        total: Duration::ZERO,
                        longest: Duration::ZERO,
                    });
                    by_function.last_mut().expect("just pushed")
                }
            };
            let duration = Duration::from_secs_f64((record.end - record.start).max(0.0));
            entry.tasks += 1;
            entry.failed += usize::from(!record.ok);
            entry.total += duration;
            entry.longest = entry.longest.max(duration);
        }
        by_function.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then_with(|| a.function.cmp(&b.function))
        });
        Summary {
            functions: by_function,
        }
    }

    /// The recorded tasks as JSON (an array of [`TaskRecord`]s).
    ///
    /// ```
    /// let json = delayed::diagnostics::Profiler::new().to_json();
    /// assert_eq!(json, "[]");
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.records()).expect("records serialise")
    }

    /// The task stream as an SVG picture: one row per thread, one bar per
    /// task coloured by function, time from left to right.
    ///
    /// ```
    /// let svg = delayed::diagnostics::Profiler::new().to_svg();
    /// assert!(svg.starts_with("<svg"));
    /// ```
    pub fn to_svg(&self) -> String {
        crate::visualize::timeline::write(&self.records())
    }

    /// Writes the timeline (`.svg`, `.png`) or the records (`.json`) to
    /// `path`, by its extension.
    ///
    /// # Errors
    ///
    /// If the extension is none of those, or the file cannot be written.
    ///
    /// ```
    /// let path = std::env::temp_dir().join("empty-timeline.json");
    /// delayed::diagnostics::Profiler::new().save(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "[]");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        save_as(
            path.as_ref(),
            "`.svg`, `.json` or `.png`",
            |extension| match extension {
                "svg" => Some(Ok(self.to_svg().into_bytes())),
                "json" => Some(Ok(self.to_json().into_bytes())),
                #[cfg(feature = "png")]
                "png" => Some(crate::visualize::render_png(&self.to_svg())),
                _ => None,
            },
        )
    }
}

impl fmt::Debug for Profiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = self
            .state
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Profiler").field("tasks", &tasks).finish()
    }
}

impl Callback for Profiler {
    fn start(&self, compute: &ComputeStart<'_>) {
        self.state.origin.get_or_init(|| compute.at);
    }

    fn task_finish(&self, task: &TaskFinish<'_>) {
        let raw = Raw {
            key: task.key.clone(),
            thread: task.thread,
            worker: task.worker.map(str::to_owned),
            started: task.started,
            duration: task.duration,
            ok: task.ok,
            cached: task.cached,
        };
        self.state
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(raw);
    }
}

/// Per-function figures of a [`Profiler`]; `Display` prints a table.
///
/// ```
/// let summary = delayed::diagnostics::Profiler::new().summary();
/// assert!(summary.functions.is_empty());
/// assert!(summary.to_string().starts_with("function"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// One entry per function, the most time-consuming first.
    pub functions: Vec<FunctionSummary>,
}

/// The figures of one function in a [`Summary`]; see
/// [`FunctionSummary::mean`] for an example.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSummary {
    /// The function's name.
    pub function: String,
    /// How many of its tasks ran.
    pub tasks: usize,
    /// How many of them failed.
    pub failed: usize,
    /// Their total running time.
    pub total: Duration,
    /// The longest one.
    pub longest: Duration,
}

impl FunctionSummary {
    /// The mean running time of its tasks.
    ///
    /// ```
    /// use delayed::diagnostics::FunctionSummary;
    /// use std::time::Duration;
    ///
    /// let f = FunctionSummary {
    ///     function: "load".into(), tasks: 4, failed: 0,
    ///     total: Duration::from_secs(2), longest: Duration::from_secs(1),
    /// };
    /// assert_eq!(f.mean(), Duration::from_millis(500));
    /// ```
    pub fn mean(&self) -> Duration {
        self.total / self.tasks.max(1) as u32
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<20} {:>8} {:>7} {:>12} {:>12} {:>12}",
            "function", "tasks", "failed", "total", "mean", "longest"
        )?;
        for function in &self.functions {
            writeln!(
                f,
                "{:<20} {:>8} {:>7} {:>12} {:>12} {:>12}",
                function.function,
                function.tasks,
                function.failed,
                format!("{:.3?}", function.total),
                format!("{:.3?}", function.mean()),
                format!("{:.3?}", function.longest),
            )?;
        }
        Ok(())
    }
}
