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

mod profiler;
mod progress;

pub use profiler::{FunctionSummary, Profiler, Summary, TaskRecord};
pub use progress::ProgressBar;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::node::Key;

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
    fn start(&self, compute: &ComputeStart) {
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
    fn finish(&self, compute: &ComputeFinish) {
        let _ = compute;
    }
}

/// What [`Callback::start`] is told.
///
/// ```
/// use delayed::diagnostics::{Callback, ComputeStart};
///
/// struct Print;
/// impl Callback for Print {
///     fn start(&self, compute: &ComputeStart) {
///         eprintln!("computing {} tasks", compute.tasks);
///     }
/// }
/// let _guard = delayed::diagnostics::register(std::sync::Arc::new(Print));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComputeStart {
    /// How many tasks the compute will run (plain values excluded).
    pub tasks: usize,
    /// When the compute started.
    pub at: Instant,
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
}

/// What [`Callback::finish`] is told.
///
/// ```
/// use delayed::diagnostics::{Callback, ComputeFinish};
///
/// struct Print;
/// impl Callback for Print {
///     fn finish(&self, compute: &ComputeFinish) {
///         eprintln!("done in {:?} (ok: {})", compute.elapsed, compute.ok);
///     }
/// }
/// let _guard = delayed::diagnostics::register(std::sync::Arc::new(Print));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ComputeFinish {
    /// Whether the compute succeeded.
    pub ok: bool,
    /// How long the compute took.
    pub elapsed: Duration,
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
///     fn start(&self, compute: &ComputeStart) { self.0.lock().unwrap().push(compute.tasks) }
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
