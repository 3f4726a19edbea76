//! Seeing the work: a callback trait with hooks around each compute and
//! each task (Dask's `Callback`), and the [`ProgressBar`] and [`Profiler`]
//! built on it.
//!
//! Callbacks are registered on a client ([`ClientBuilder::callback`]) or,
//! for a scope, with a guard: the Rust form of `with ProgressBar():`.
//!
//! ```
//! use delayed::diagnostics::{Callback, TaskFinish};
//! use delayed::delayed;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! #[derive(Default)]
//! struct CountTasks(AtomicUsize);
//!
//! impl Callback for CountTasks {
//!     fn task_finish(&self, _task: &TaskFinish<'_>) {
//!         self.0.fetch_add(1, Ordering::SeqCst);
//!     }
//! }
//!
//! #[delayed]
//! fn inc(x: i64) -> i64 { x + 1 }
//!
//! let counter = Arc::new(CountTasks::default());
//! let client = delayed::Client::builder().callback(counter.clone()).build()?;
//! client.compute(&vec![inc(1), inc(2)])?;
//! assert_eq!(counter.0.load(Ordering::SeqCst), 2);
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! [`ClientBuilder::callback`]: crate::ClientBuilder::callback

#[cfg(feature = "dashboard")]
mod dashboard;
#[cfg(feature = "cache")]
mod explain;
mod profiler;
mod progress;

pub use crate::visualize::timeline::TaskRecord;
#[cfg(feature = "dashboard")]
pub use dashboard::Dashboard;
#[cfg(feature = "cache")]
pub use explain::{Explanation, TaskVerdict, explain};
pub use profiler::{FunctionSummary, Profiler, Summary};
pub use progress::ProgressBar;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::graph::Graph;
use crate::key::Key;

/// Hooks called around computes and tasks. Every method has an empty
/// default, so implement only the ones you need.
///
/// Hooks run on the threads that run the tasks, so they must be cheap and
/// must not block; they are called for every task of every compute of the
/// clients they are registered on.
///
/// ```
/// use delayed::diagnostics::{Callback, ComputeFinish, TaskFinish};
/// use std::sync::Mutex;
///
/// /// Remembers the slowest task.
/// #[derive(Default)]
/// struct Slowest(Mutex<Option<(String, std::time::Duration)>>);
///
/// impl Callback for Slowest {
///     fn task_finish(&self, task: &TaskFinish<'_>) {
///         let mut slowest = self.0.lock().unwrap();
///         if slowest.as_ref().is_none_or(|(_, d)| task.duration > *d) {
///             *slowest = Some((task.key.to_string(), task.duration));
///         }
///     }
/// }
///
/// let slowest = std::sync::Arc::new(Slowest::default());
/// let client = delayed::Client::builder().callback(slowest.clone()).build()?;
/// client.compute(&delayed::value(2).map(|x| x * 2))?;
/// assert!(slowest.0.lock().unwrap().as_ref().unwrap().0.starts_with("map-"));
/// # Ok::<(), delayed::Error>(())
/// ```
pub trait Callback: Send + Sync + 'static {
    /// A compute is about to start its tasks.
    fn start(&self, compute: &ComputeStart<'_>) {
        let _ = compute;
    }

    /// A task is about to run, on the current thread.
    fn task_start(&self, task: &TaskStart<'_>) {
        let _ = task;
    }

    /// A task has finished, successfully or not, on the current thread.
    fn task_finish(&self, task: &TaskFinish<'_>) {
        let _ = task;
    }

    /// A compute has ended: every task finished, or one failed.
    fn finish(&self, compute: &ComputeFinish<'_>) {
        let _ = compute;
    }

    /// Whether this callback reads when tasks start and how long they run
    /// ([`TaskStart::at`], [`TaskFinish::started`] and
    /// [`TaskFinish::duration`]); yes unless it says otherwise.
    ///
    /// Timing a task reads the clock twice, which costs about as much as
    /// scheduling a trivial task. When no callback of a compute reads the
    /// times, tasks are not timed: `at` and `started` are the compute's
    /// start and `duration` is zero.
    ///
    /// ```
    /// use delayed::diagnostics::{Callback, TaskFinish};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// /// Counts finished tasks, and needs no clock for it.
    /// #[derive(Default)]
    /// struct Count(AtomicUsize);
    ///
    /// impl Callback for Count {
    ///     fn task_finish(&self, _: &TaskFinish<'_>) {
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///     }
    ///     fn times_tasks(&self) -> bool {
    ///         false
    ///     }
    /// }
    ///
    /// let count = std::sync::Arc::new(Count::default());
    /// let client = delayed::Client::builder().callback(count.clone()).build()?;
    /// client.compute(&delayed::value(1).map(|x| x + 1))?;
    /// assert_eq!(count.0.load(Ordering::Relaxed), 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    fn times_tasks(&self) -> bool {
        true
    }
}

/// What [`Callback::start`] is told.
///
/// ```
/// use delayed::diagnostics::{Callback, ComputeStart};
///
/// struct Print;
/// impl Callback for Print {
///     fn start(&self, compute: &ComputeStart<'_>) {
///         eprintln!("compute {} runs {} tasks", compute.id, compute.tasks);
///     }
/// }
/// let _guard = delayed::diagnostics::register(std::sync::Arc::new(Print));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComputeStart<'a> {
    /// How many tasks the compute will run (plain values excluded).
    pub tasks: usize,
    /// When the compute started.
    pub at: Instant,
    /// The compute's number, unique in this process: the tasks' hooks
    /// name it, so that a callback can tell concurrent computes apart.
    pub id: u64,
    /// The graph the compute runs.
    pub graph: TaskGraph<'a>,
}

/// The graph of a compute, as its callbacks see it: nodes numbered
/// `0..len()` with dependencies first, each a task or a plain value.
///
/// [`TaskStart::index`] and [`TaskFinish::index`] are these numbers.
///
/// ```
/// use delayed::diagnostics::{Callback, ComputeStart};
/// use std::sync::Mutex;
///
/// /// Remembers each node's function and how many inputs it takes.
/// #[derive(Default)]
/// struct Shape(Mutex<Vec<(&'static str, usize)>>);
///
/// impl Callback for Shape {
///     fn start(&self, compute: &ComputeStart<'_>) {
///         let graph = &compute.graph;
///         *self.0.lock().unwrap() =
///             (0..graph.len()).map(|i| (graph.key(i).name(), graph.deps(i).len())).collect();
///     }
/// }
///
/// let shape = std::sync::Arc::new(Shape::default());
/// let client = delayed::Client::builder().callback(shape.clone()).build()?;
/// let two = delayed::value(1).map(|x| x + 1);
/// client.compute(&two)?;
/// assert_eq!(*shape.0.lock().unwrap(), [("value", 0), ("map", 1)]);
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct TaskGraph<'a> {
    pub(crate) graph: &'a Graph,
}

impl<'a> TaskGraph<'a> {
    /// How many nodes the graph has: tasks and plain values.
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn nodes(graph: TaskGraph<'_>) -> usize { graph.len() }
    /// ```
    pub fn len(&self) -> usize {
        self.graph.len()
    }

    /// Whether the graph has no node (it never has: a compute has at least
    /// one output).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn empty(graph: TaskGraph<'_>) -> bool { graph.is_empty() }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.graph.len() == 0
    }

    /// Node `i`'s key.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`len`](Self::len).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn first_function(graph: TaskGraph<'_>) -> &'static str { graph.key(0).name() }
    /// ```
    pub fn key(&self, i: usize) -> &'a Key {
        &self.graph.node(index(i)).key
    }

    /// The nodes whose values node `i` takes, in argument order.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`len`](Self::len).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn inputs_of_last(graph: TaskGraph<'_>) -> usize { graph.deps(graph.len() - 1).len() }
    /// ```
    pub fn deps(&self, i: usize) -> &'a [u32] {
        self.graph.deps(index(i))
    }

    /// Whether node `i` is a plain value rather than a task: it never runs.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`len`](Self::len).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn tasks(graph: TaskGraph<'_>) -> usize {
    ///     (0..graph.len()).filter(|&i| !graph.is_value(i)).count()
    /// }
    /// ```
    pub fn is_value(&self, i: usize) -> bool {
        self.graph.is_value(index(i))
    }

    /// Whether node `i` only gathers its inputs into a collection (a
    /// `Vec<Delayed<T>>` passed where a `Vec<T>` is expected): a task the
    /// user never wrote, drawn as a junction in pictures.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`len`](Self::len).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn written(graph: TaskGraph<'_>) -> usize {
    ///     (0..graph.len()).filter(|&i| !graph.is_value(i) && !graph.is_junction(i)).count()
    /// }
    /// ```
    pub fn is_junction(&self, i: usize) -> bool {
        self.graph.node(index(i)).is_junction()
    }

    /// Node `i`'s priority: among ready tasks, a higher one runs first
    /// (0 unless it was given one, [`Delayed::with_priority`](crate::Delayed::with_priority)).
    ///
    /// # Panics
    ///
    /// If `i` is not below [`len`](Self::len).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn urgent(graph: TaskGraph<'_>) -> usize { (0..graph.len()).filter(|&i| graph.priority(i) > 0).count() }
    /// ```
    pub fn priority(&self, i: usize) -> i32 {
        self.graph.node(index(i)).priority()
    }

    /// The resources node `i` needs to run, if any
    /// ([`Delayed::with_resources`](crate::Delayed::with_resources)).
    ///
    /// # Panics
    ///
    /// If `i` is not below [`len`](Self::len).
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn gpus(graph: TaskGraph<'_>) -> u64 {
    ///     (0..graph.len()).filter_map(|i| graph.resources(i)).map(|r| r.get("gpu")).sum()
    /// }
    /// ```
    pub fn resources(&self, i: usize) -> Option<&'a crate::Resources> {
        self.graph.node(index(i)).resources().map(|r| &**r)
    }

    /// The nodes the compute returns, in request order.
    ///
    /// ```
    /// # use delayed::diagnostics::TaskGraph;
    /// fn outputs(graph: TaskGraph<'_>) -> usize { graph.outputs().len() }
    /// ```
    pub fn outputs(&self) -> &'a [u32] {
        &self.graph.roots
    }
}

/// A node number as the graph stores it.
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("a graph has fewer than 2^32 nodes")
}

impl std::fmt::Debug for TaskGraph<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskGraph")
            .field("nodes", &self.len())
            .field("outputs", &self.outputs().len())
            .finish()
    }
}

/// What [`Callback::task_start`] is told.
///
/// ```
/// use delayed::diagnostics::{Callback, TaskStart};
///
/// struct Print;
/// impl Callback for Print {
///     fn task_start(&self, task: &TaskStart<'_>) {
///         eprintln!("{} starts on {:?}", task.key, task.thread);
///     }
/// }
/// let _guard = delayed::diagnostics::register(std::sync::Arc::new(Print));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskStart<'a> {
    /// The task's key.
    pub key: &'a Key,
    /// The number of the compute it belongs to, [`ComputeStart::id`].
    pub compute: u64,
    /// Its node in the compute's [`TaskGraph`].
    pub index: usize,
    /// The task's function name, `key.name()`.
    pub name: &'static str,
    /// The thread the task runs on.
    pub thread: ThreadId,
    /// When the task started.
    pub at: Instant,
}

/// What [`Callback::task_finish`] is told.
///
/// ```
/// use delayed::diagnostics::{Callback, TaskFinish};
///
/// struct Print;
/// impl Callback for Print {
///     fn task_finish(&self, task: &TaskFinish<'_>) {
///         eprintln!("{} took {:?} (ok: {})", task.key, task.duration, task.ok);
///     }
/// }
/// let _guard = delayed::diagnostics::register(std::sync::Arc::new(Print));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskFinish<'a> {
    /// The task's key.
    pub key: &'a Key,
    /// The number of the compute it belongs to, [`ComputeStart::id`].
    pub compute: u64,
    /// Its node in the compute's [`TaskGraph`].
    pub index: usize,
    /// The task's function name, `key.name()`.
    pub name: &'static str,
    /// The thread the task ran on (for an async task, the one it ended on).
    pub thread: ThreadId,
    /// When the task started.
    pub started: Instant,
    /// How long it ran.
    pub duration: Duration,
    /// Whether it returned a value (rather than an error or a panic).
    pub ok: bool,
    /// Why it failed, when it did: its error, a panic's message or a
    /// timeout, with the task's own error as `source()`.
    pub error: Option<&'a (dyn std::error::Error + 'static)>,
    /// The worker process it ran on, by name, when it ran on one (a
    /// client with workers, feature `distributed`); `None` when it ran in
    /// this process, on `thread`.
    pub worker: Option<&'a str>,
    /// Whether its value was read from the client's cache rather than
    /// computed (feature `cache`): then it did not run.
    pub cached: bool,
    /// The `tracing` events it emitted on its worker (feature
    /// `distributed`), which came home with it; empty for a task that ran
    /// in this process, whose events went to this process's subscriber.
    pub logs: &'a [LogLine],
}

/// A `tracing` event a task emitted on a worker, as it came home
/// ([`TaskFinish::logs`]).
///
/// ```
/// use delayed::diagnostics::{LogLevel, LogLine};
///
/// let line = LogLine { level: LogLevel::Info, target: "etl".into(), message: "loaded rows=3".into() };
/// assert_eq!(line.to_string(), "INFO etl: loaded rows=3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    /// How important it is.
    pub level: LogLevel,
    /// Where it came from: the module of its `tracing` call, or the
    /// target it named.
    pub target: String,
    /// Its message, then its other fields as `name=value`.
    pub message: String,
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.level, self.target, self.message)
    }
}

/// The level of a [`LogLine`], most important first.
///
/// ```
/// use delayed::diagnostics::LogLevel;
///
/// assert!(LogLevel::Error < LogLevel::Debug);
/// assert_eq!(LogLevel::Warn.to_string(), "WARN");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum LogLevel {
    /// `tracing::error!`
    Error,
    /// `tracing::warn!`
    Warn,
    /// `tracing::info!`
    Info,
    /// `tracing::debug!`
    Debug,
    /// `tracing::trace!`
    Trace,
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        })
    }
}

/// What [`Callback::finish`] is told.
///
/// ```
/// use delayed::diagnostics::{Callback, ComputeFinish};
///
/// struct Print;
/// impl Callback for Print {
///     fn finish(&self, compute: &ComputeFinish<'_>) {
///         match compute.error {
///             None => eprintln!("done in {:?}", compute.elapsed),
///             Some(error) => eprintln!("failed after {:?}: {error}", compute.elapsed),
///         }
///     }
/// }
/// let _guard = delayed::diagnostics::register(std::sync::Arc::new(Print));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComputeFinish<'a> {
    /// Whether the compute succeeded.
    pub ok: bool,
    /// How long the compute took.
    pub elapsed: Duration,
    /// The compute's number, [`ComputeStart::id`].
    pub id: u64,
    /// Why it failed, when it did.
    pub error: Option<&'a crate::Error>,
}

/// Keeps a callback registered for every compute, on every client, until
/// it is dropped. Made by [`register`], [`ProgressBar::register`] and
/// [`Profiler::register`].
///
/// ```
/// let profiler = delayed::diagnostics::Profiler::new();
/// let guard = profiler.register();
/// delayed::value(1).map(|x| x + 1).compute()?;
/// drop(guard); // stops recording
/// assert_eq!(profiler.records().len(), 1);
/// # Ok::<(), delayed::Error>(())
/// ```
#[must_use = "the callback is unregistered when the guard is dropped"]
pub struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut scoped = SCOPED.write().unwrap_or_else(PoisonError::into_inner);
        scoped.retain(|(id, _)| *id != self.id);
        SCOPED_COUNT.store(scoped.len(), Ordering::Release);
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .finish()
    }
}

type Registered = Vec<(u64, Arc<dyn Callback>)>;

static SCOPED: RwLock<Registered> = RwLock::new(Vec::new());
/// `SCOPED.len()`, read without locking on every compute.
static SCOPED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Registers `callback` for every compute until the guard is dropped.
///
/// ```
/// use delayed::diagnostics::{self, Callback, ComputeStart};
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Default)]
/// struct Sizes(Mutex<Vec<usize>>);
/// impl Callback for Sizes {
///     fn start(&self, compute: &ComputeStart<'_>) { self.0.lock().unwrap().push(compute.tasks) }
/// }
///
/// let sizes = Arc::new(Sizes::default());
/// {
///     let _guard = diagnostics::register(sizes.clone());
///     delayed::value(1).map(|x| x + 1).compute()?;
/// }
/// delayed::value(1).map(|x| x + 1).compute()?; // not seen: the guard is gone
/// assert_eq!(*sizes.0.lock().unwrap(), [1]);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn register(callback: Arc<dyn Callback>) -> Registration {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut scoped = SCOPED.write().unwrap_or_else(PoisonError::into_inner);
    scoped.push((id, callback));
    SCOPED_COUNT.store(scoped.len(), Ordering::Release);
    Registration { id }
}

/// The callbacks of one compute: the client's and the scoped ones, taken
/// when it starts. `None` when there are none, so that tasks pay nothing.
pub(crate) fn for_compute(client: &[Arc<dyn Callback>]) -> Option<Arc<[Arc<dyn Callback>]>> {
    let scoped_count = SCOPED_COUNT.load(Ordering::Acquire);
    if client.is_empty() && scoped_count == 0 {
        return None;
    }
    let mut all: Vec<Arc<dyn Callback>> = client.to_vec();
    if scoped_count > 0 {
        let scoped = SCOPED.read().unwrap_or_else(PoisonError::into_inner);
        all.extend(scoped.iter().map(|(_, callback)| callback.clone()));
    }
    (!all.is_empty()).then(|| all.into())
}
