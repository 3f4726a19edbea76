//! `Client`: where computes run. A threaded client owns a tokio runtime; the
//! synchronous client runs everything on the caller's thread.

use std::fmt;
use std::sync::{Arc, Weak};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;

mod builder;
mod default;

pub use builder::{ClientBuilder, DEFAULT_MAX_ASYNC_TASKS, DEFAULT_MAX_THREADS};
pub use default::DefaultGuard;

use crate::computable::{Computable, Outputs, graph_of};
use crate::diagnostics::{self, Callback};
use crate::error::Error;
use crate::executor::delivery::{Sender, Watch};
use crate::executor::offload::Offload;
use crate::executor::threaded::{self, Job, Pool};
use crate::executor::{Control, OnDone, Services, sequential};
use crate::graph::Graph;
use crate::handle::Delayed;
use crate::node::NodeRef;
use crate::running::{Background, Running};
use crate::sync::{Mutex, lock};
use crate::value::TaskValue;
use crate::value::Value;

/// Where computes run: Dask's scheduler choice and `Client`.
///
/// The free functions ([`compute`](crate::compute), `compute!`,
/// [`Delayed::compute`](crate::Delayed::compute)) use a default client,
/// started on first use. Build your own to bound how many tasks run at once,
/// or use the [synchronous](Client::synchronous) client to debug:
///
/// ```
/// use delayed::{delayed, Client};
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let client = Client::builder().threads(4).build()?;
/// assert_eq!(client.compute(&vec![inc(1), inc(2)])?, [2, 3]);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// The default client needs no tuning: as many tasks run at once as there
/// are cores, and a synchronous task that blocks (a sleep, file or network
/// I/O, a lock, a nested compute) lends its place to another task while it
/// waits, so blocking work overlaps while CPU-bound work never
/// oversubscribes the machine. Async tasks hold no place while they wait.
///
/// A client is cheap to clone; clones share the same threads. The threads
/// stop when the last clone is dropped, which is allowed anywhere, including
/// inside an async context.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    scheduler: Scheduler,
    /// Told about every compute of this client.
    callbacks: Vec<Arc<dyn Callback>>,
    /// The dashboard this client serves, also among its callbacks.
    #[cfg(feature = "dashboard")]
    dashboard: Option<crate::diagnostics::Dashboard>,
    /// Where cached tasks' values are kept (`ClientBuilder::cache`).
    #[cfg(feature = "cache")]
    cache: Option<crate::cache::Cache>,
    /// What its own tasks may hold at once (`ClientBuilder::resources`).
    resources: Arc<crate::resources::Resources>,
}

enum Scheduler {
    Threaded {
        /// `None` only while dropping.
        runtime: Option<Runtime>,
        pool: Arc<Pool>,
        /// Where the tasks that run elsewhere go: the workers of a client
        /// built with `redis(url)`.
        offload: Option<Arc<dyn Offload>>,
    },
    Synchronous,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Scheduler::Threaded { runtime, pool, .. } = &mut self.scheduler {
            pool.close();
            // Dropping a runtime blocks until its threads stop, which tokio
            // forbids inside an async context; the threads have no work left
            // that anyone waits for, so let them stop in the background.
            if let Some(runtime) = runtime.take() {
                runtime.shutdown_background();
            }
        }
    }
}

impl Client {
    /// A client that runs every task on the calling thread, one at a time,
    /// in the same dependency-first order every run: Dask's
    /// `scheduler="synchronous"`, for debugging with a debugger, prints or
    /// a deterministic order.
    ///
    /// Async tasks are awaited in place. When a blocking compute is called
    /// from inside an async runtime (where blocking on another runtime is
    /// not allowed), it runs on a helper thread instead, still one task at
    /// a time.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    /// use std::sync::Mutex;
    ///
    /// static ORDER: Mutex<Vec<i64>> = Mutex::new(Vec::new());
    ///
    /// #[delayed]
    /// fn log(x: i64) -> i64 { ORDER.lock().unwrap().push(x); x }
    ///
    /// let client = Client::synchronous();
    /// client.compute(&vec![log(1), log(2), log(3)])?;
    /// assert_eq!(*ORDER.lock().unwrap(), [1, 2, 3]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn synchronous() -> Client {
        Client::with(Scheduler::Synchronous, Vec::new())
    }

    fn with(scheduler: Scheduler, callbacks: Vec<Arc<dyn Callback>>) -> Client {
        Client {
            inner: Arc::new(Inner {
                scheduler,
                callbacks,
                #[cfg(feature = "dashboard")]
                dashboard: None,
                #[cfg(feature = "cache")]
                cache: None,
                resources: Arc::default(),
            }),
        }
    }

    /// The dashboard this client serves, if it was built with
    /// [`ClientBuilder::dashboard`].
    ///
    /// ```
    /// let client = delayed::Client::builder().dashboard("127.0.0.1:0").build()?;
    /// let url = client.dashboard().unwrap().url();
    /// assert!(url.starts_with("http://127.0.0.1:"));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "dashboard")]
    pub fn dashboard(&self) -> Option<&crate::diagnostics::Dashboard> {
        self.inner.dashboard.as_ref()
    }

    /// How many tasks may run at once, or `None` for the synchronous
    /// client: the number set with [`ClientBuilder::threads`], or else the
    /// number of cores, not counting tasks that lent their place while
    /// blocked.
    ///
    /// ```
    /// assert_eq!(delayed::Client::synchronous().threads(), None);
    /// assert_eq!(delayed::Client::builder().threads(3).build()?.threads(), Some(3));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn threads(&self) -> Option<usize> {
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, .. } => Some(pool.slot_count),
            Scheduler::Synchronous => None,
        }
    }

    /// Computes handles on this client, blocking until they are done; see
    /// [`compute`](crate::compute) for what can be computed.
    ///
    /// It may be called from anywhere: a plain thread, an async task of any
    /// runtime (current-thread, multi-thread, inside a `LocalSet`),
    /// `spawn_blocking`, a `Drop`, or a running task of this client. It
    /// blocks only the calling thread; in async code prefer
    /// [`compute_async`](Self::compute_async), which blocks nothing. A task
    /// that computes on its own client helps run the nested compute while
    /// it waits, so nesting costs no thread and cannot deadlock.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// let client = Client::builder().threads(1).build()?;
    /// let (a, b) = client.compute(&(square(3), square(4)))?;
    /// assert_eq!(a + b, 25);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn compute<C: Computable + ?Sized>(&self, computable: &C) -> Result<C::Output, Error> {
        let values = self.compute_values(graph_of(computable))?;
        Ok(computable.take_output(&mut Outputs::new(values)))
    }

    /// Computes a handle now and returns a handle holding its value; see
    /// [`Delayed::persist`].
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed]
    /// fn load(n: u32) -> Vec<u32> { (0..n).collect() }
    ///
    /// let client = Client::builder().threads(2).build()?;
    /// let data = client.persist(&load(4))?;
    /// assert_eq!(client.compute(&data.map_ref(|d| d.len()))?, 4);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn persist<T: TaskValue>(&self, handle: &Delayed<T>) -> Result<Delayed<T>, Error> {
        let value = self.compute_node(&handle.node)?;
        Ok(handle.persisted(value))
    }

    /// Computes one node on this client, its value untyped: a handle to
    /// persist, a task built from bytes
    /// ([`distributed::Function::call`](crate::distributed::Function::call)).
    pub(crate) fn compute_node(&self, node: &NodeRef) -> Result<Value, Error> {
        let mut values = self.compute_values(Graph::collect(&[node]))?;
        Ok(values.pop().expect("one value for the one root"))
    }

    /// Runs `graph` and returns its roots' values, blocking until done.
    fn compute_values(&self, graph: Graph) -> Result<Vec<Value>, Error> {
        self.run_blocking(graph, None)
    }

    /// Runs `graph` under `control`, blocking until done; a streaming
    /// control receives the outputs itself.
    pub(crate) fn run_blocking(
        &self,
        graph: Graph,
        control: Option<Arc<Control>>,
    ) -> Result<Vec<Value>, Error> {
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, offload, .. } => {
                threaded::compute(pool, graph, callbacks, control, &self.services(offload))
            }
            Scheduler::Synchronous => {
                sequential::block_on(graph, callbacks, control, self.services(&None))
            }
        }
    }

    /// Computes handles on this client without blocking the caller's
    /// runtime. Dropping the future cancels the compute: no further task
    /// starts, and tasks already running finish in the background.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed]
    /// async fn wait_and_double(x: u64) -> u64 {
    ///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     2 * x
    /// }
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() -> Result<(), delayed::Error> {
    ///     let client = Client::builder().threads(2).build()?;
    ///     assert_eq!(client.compute_async(&wait_and_double(21)).await?, 42);
    ///     Ok(())
    /// }
    /// ```
    pub async fn compute_async<C: Computable + ?Sized>(
        &self,
        computable: &C,
    ) -> Result<C::Output, Error> {
        let graph = graph_of(computable);
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        let values = match &self.inner.scheduler {
            Scheduler::Threaded { pool, offload, .. } => {
                let (sender, receiver) = oneshot::channel();
                let done = Box::new(move |outcome| {
                    // The caller may have stopped waiting.
                    let _ = sender.send(outcome);
                });
                let services = self.services(offload);
                let job = threaded::start(pool, graph, callbacks, done, None, &services);
                let _cancel = CancelOnDrop(Arc::downgrade(&job));
                drop(job);
                receiver.await.unwrap_or_else(|_| Err(Error::stopped()))?
            }
            Scheduler::Synchronous => {
                sequential::run(graph, callbacks, None, self.services(&None)).await?
            }
        };
        Ok(computable.take_output(&mut Outputs::new(values)))
    }
}

impl Client {
    /// Starts computing handles in the background and returns at once with
    /// a [`Running`] handle: await it, [`wait`](Running::wait) on it, ask
    /// its [`progress`](Running::progress) or [`cancel`](Running::cancel)
    /// it. Dask's `client.compute(x)`.
    ///
    /// The handles are cloned into the running compute (cheap: a handle is
    /// an `Arc`), which needs the computable to be `Clone + Send +
    /// 'static`: a `Vec`, map, array or tuple of owned handles, rather than
    /// of references.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// let client = Client::builder().threads(2).build()?;
    /// let running = client.submit(&(inc(1), inc(2)));
    /// assert_eq!(running.wait()?, (2, 3));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn submit<C>(&self, computable: &C) -> Running<C::Output>
    where
        C: Computable + Clone + Send + 'static,
        C::Output: 'static,
    {
        let graph = graph_of(computable);
        let shape = computable.clone();
        let convert = Box::new(move |values| shape.take_output(&mut Outputs::new(values)));
        let watch = Arc::new(Watch::default());
        let control = Arc::new(Control::default());
        let sender = Sender(watch.clone());
        let done = Box::new(move |outcome| sender.send(outcome));
        let job = self.start_background(graph, done, control.clone());
        Running::new(watch, Background { control, job }, convert)
    }

    /// Starts a compute that nobody blocks on: on the pool, or for the
    /// synchronous client on a thread of its own. Returns the threaded job
    /// and its pool, to cancel and to help with it.
    pub(crate) fn start_background(
        &self,
        graph: Graph,
        done: OnDone,
        control: Arc<Control>,
    ) -> Option<(Weak<Job>, Arc<Pool>)> {
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, offload, .. } => {
                let services = self.services(offload);
                let job = threaded::start(pool, graph, callbacks, done, Some(control), &services);
                Some((Arc::downgrade(&job), pool.clone()))
            }
            Scheduler::Synchronous => {
                // Kept outside the thread too, to report a thread that
                // could not start.
                let done = Arc::new(Mutex::new(Some(done)));
                let deliver = done.clone();
                let services = self.services(&None);
                let started = std::thread::Builder::new()
                    .name("delayed-synchronous".into())
                    .spawn(move || {
                        let outcome = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(Error::start)
                            .and_then(|runtime| {
                                runtime.block_on(sequential::run(
                                    graph,
                                    callbacks,
                                    Some(control),
                                    services,
                                ))
                            });
                        if let Some(done) = lock(&deliver).take() {
                            done(outcome);
                        }
                    });
                if let Err(error) = started
                    && let Some(done) = lock(&done).take()
                {
                    done(Err(Error::start(error)));
                }
                None
            }
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.threads() {
            Some(threads) => f.debug_struct("Client").field("threads", &threads).finish(),
            None => f.write_str("Client(synchronous)"),
        }
    }
}

/// Cancels a compute whose future is dropped before it completes. Weak, so
/// that it does not keep a finished run (and its graph) alive.
struct CancelOnDrop(Weak<Job>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(job) = self.0.upgrade() {
            job.cancel();
        }
    }
}

impl Client {
    /// What this client lends a compute: its workers (`offload`, from the
    /// scheduler) and its cache.
    fn services(&self, offload: &Option<Arc<dyn Offload>>) -> Services {
        Services {
            offload: offload.clone(),
            #[cfg(feature = "cache")]
            cache: self.inner.cache.clone(),
            replay: Some(|graph, services| sequential::block_on(graph, None, None, services)),
            resources: self.inner.resources.clone(),
        }
    }
}

#[cfg(feature = "cache")]
impl Client {
    /// What a compute of `x` on this client would do with each cached
    /// task, worked out now without running anything (feature `cache`):
    /// `make -n`. A task whose key needs the value of a task before it
    /// that must run first (one that is not cached, or misses, when the
    /// key needs its bytes) is [`Verdict::Unknown`](crate::cache::Verdict::Unknown).
    /// [`cache::explain`](crate::diagnostics::explain) says what the last
    /// compute did instead.
    ///
    /// # Errors
    ///
    /// A [`Config`](crate::ErrorKind::Config) error for a client without a
    /// cache.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    /// use delayed::cache::{Miss, Verdict};
    ///
    /// #[delayed(cache)]
    /// fn load(day: u32) -> Vec<u32> { vec![day; 3] }
    /// #[delayed(cache)]
    /// fn total(rows: Vec<u32>) -> u32 { rows.iter().sum() }
    ///
    /// let dir = std::env::temp_dir().join(format!("delayed-doc-dry-{}", std::process::id()));
    /// let client = Client::builder().cache(&dir).build()?;
    /// client.compute(&total(load(1)))?;
    ///
    /// let plan = client.explain(&total(load(1)))?;
    /// assert_eq!(plan.hits(), 2); // nothing would run
    /// let plan = client.explain(&total(load(2)))?;
    /// let verdicts: Vec<_> = plan.tasks().iter().map(|t| t.verdict.clone()).collect();
    /// assert_eq!(verdicts, [Verdict::Miss(Miss::Argument(0)), Verdict::Miss(Miss::Input(0))]);
    /// assert!(Client::builder().build()?.explain(&load(1)).is_err());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn explain<C: Computable + ?Sized>(
        &self,
        x: &C,
    ) -> Result<crate::diagnostics::Explanation, Error> {
        let cache = self.inner.cache.as_ref().ok_or_else(|| {
            Error::config(
                "this client has no cache to explain: build it with \
                 `Client::builder().cache(dir)` or `.cache_store(store)`",
            )
        })?;
        let graph = graph_of(x);
        Ok(crate::diagnostics::Explanation::new(
            crate::executor::cache::dry_run(cache, &graph),
        ))
    }
}
