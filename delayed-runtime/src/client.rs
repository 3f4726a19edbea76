//! `Client`: where computes run. A threaded client owns a tokio runtime; the
//! synchronous client runs everything on the caller's thread.

use std::fmt;
use std::sync::{Arc, OnceLock, Weak, mpsc};

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tokio::sync::oneshot;

use crate::computable::{Computable, Outputs, Roots};
use crate::diagnostics::{self, Callback};
use crate::error::Error;
use crate::executor::threaded::{self, Pool};
use crate::executor::{Outcome, Run, sequential};
use crate::graph::Graph;
use crate::handle::{Delayed, TaskValue};
use crate::node::Value;

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
}

enum Scheduler {
    Threaded {
        /// `None` only while dropping.
        runtime: Option<Runtime>,
        pool: Arc<Pool>,
    },
    Synchronous,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Scheduler::Threaded { runtime, .. } = &mut self.scheduler {
            // Dropping a runtime blocks until its threads stop, which tokio
            // forbids inside an async context; the threads have no work left
            // that anyone waits for, so let them stop in the background.
            if let Some(runtime) = runtime.take() {
                runtime.shutdown_background();
            }
        }
    }
}

/// How many tasks run at once on the default client when
/// [`ClientBuilder::threads`] is not called: at least this many, and at
/// least twice the number of cores. Blocking tasks (sleeps, file reads)
/// each hold one, so this many can wait at the same time.
///
/// ```
/// let client = delayed::Client::builder().build()?;
/// assert!(client.threads().unwrap() >= delayed::DEFAULT_THREADS);
/// # Ok::<(), delayed::Error>(())
/// ```
pub const DEFAULT_THREADS: usize = 64;

impl Client {
    /// Starts configuring a threaded client.
    ///
    /// ```
    /// let client = delayed::Client::builder().threads(2).build()?;
    /// assert_eq!(client.threads(), Some(2));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            threads: None,
            synchronous: false,
            callbacks: Vec::new(),
        }
    }

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
            }),
        }
    }

    /// The default client, started on first use, that the free functions
    /// use: a threaded client with [`DEFAULT_THREADS`] (or twice the cores,
    /// if more) tasks at once.
    ///
    /// ```
    /// let client = delayed::Client::global()?;
    /// assert!(client.threads().unwrap() >= delayed::DEFAULT_THREADS);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn global() -> Result<&'static Client, Error> {
        static GLOBAL: OnceLock<Client> = OnceLock::new();
        if let Some(client) = GLOBAL.get() {
            return Ok(client);
        }
        // Two threads may race to build it; the loser's client is dropped,
        // which is harmless.
        let client = Client::builder().build()?;
        Ok(GLOBAL.get_or_init(|| client))
    }

    /// How many tasks may run at once, or `None` for the synchronous client.
    ///
    /// ```
    /// assert_eq!(delayed::Client::synchronous().threads(), None);
    /// ```
    pub fn threads(&self) -> Option<usize> {
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, .. } => Some(pool.threads),
            Scheduler::Synchronous => None,
        }
    }

    /// Computes handles on this client, blocking until they are done; see
    /// [`compute`](crate::compute) for what can be computed.
    ///
    /// It may be called from anywhere, including inside an async runtime or
    /// a running task; there it blocks only the calling thread.
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
        let values = self.compute_values(collect(computable))?;
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
        let mut roots = Roots::default();
        roots.push(handle);
        let mut values = self.compute_values(Graph::collect(&roots.0))?;
        let value = values.pop().expect("one value for the one handle");
        Ok(handle.persisted(value))
    }

    /// Runs `graph` and returns its roots' values, blocking until done.
    fn compute_values(&self, graph: Graph) -> Result<Vec<Value>, Error> {
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, .. } => {
                // A task computing on its own client gives its permit back
                // while it waits, so nested computes cannot deadlock.
                let _seceded = threaded::secede(pool);
                let (sender, receiver) = mpsc::sync_channel(1);
                start(graph, pool, callbacks, move |outcome| {
                    // The caller may have gone (a panic while waiting).
                    let _ = sender.send(outcome);
                });
                let received = wait_blocking(|| receiver.recv());
                // A closed channel means the run ended without an outcome.
                received.unwrap_or_else(|_| Err(Error::stopped()))
            }
            Scheduler::Synchronous => run_synchronously(graph, callbacks),
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
        let graph = collect(computable);
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        let values = match &self.inner.scheduler {
            Scheduler::Threaded { pool, .. } => {
                let (sender, receiver) = oneshot::channel();
                let run = start(graph, pool, callbacks, move |outcome| {
                    let _ = sender.send(outcome);
                });
                let _cancel = CancelOnDrop(Arc::downgrade(&run));
                drop(run);
                receiver.await.unwrap_or_else(|_| Err(Error::stopped()))?
            }
            Scheduler::Synchronous => sequential::run(graph, callbacks).await?,
        };
        Ok(computable.take_output(&mut Outputs::new(values)))
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

/// Configures a threaded [`Client`].
///
/// ```
/// let client = delayed::Client::builder().threads(8).build()?;
/// assert_eq!(client.threads(), Some(8));
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    threads: Option<usize>,
    synchronous: bool,
    callbacks: Vec<Arc<dyn Callback>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("threads", &self.threads)
            .field("synchronous", &self.synchronous)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl ClientBuilder {
    /// How many tasks may run at once (at least 1). Synchronous tasks that
    /// block (sleep, file I/O) each hold one of these, so for blocking work
    /// set it to the number of tasks you want in flight; CPU-bound work
    /// gains nothing from more than the number of cores.
    ///
    /// ```
    /// let one_at_a_time = delayed::Client::builder().threads(1).build()?;
    /// assert_eq!(one_at_a_time.threads(), Some(1));
    /// assert!(delayed::Client::builder().threads(0).build().is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> ClientBuilder {
        self.threads = Some(threads);
        self
    }

    /// Builds a synchronous client instead (see [`Client::synchronous`]),
    /// for example to give it callbacks.
    ///
    /// ```
    /// let client = delayed::Client::builder().synchronous().build()?;
    /// assert_eq!(client.threads(), None);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn synchronous(mut self) -> ClientBuilder {
        self.synchronous = true;
        self
    }

    /// Tells `callback` about every compute of this client; see
    /// [`diagnostics`](crate::diagnostics).
    ///
    /// ```
    /// use delayed::diagnostics::ProgressBar;
    /// use std::sync::Arc;
    ///
    /// let bar = ProgressBar::hidden();
    /// let client = delayed::Client::builder().callback(Arc::new(bar.clone())).build()?;
    /// client.compute(&delayed::value(1).map(|x| x + 1))?;
    /// assert_eq!(bar.position(), 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn callback(mut self, callback: Arc<dyn Callback>) -> ClientBuilder {
        self.callbacks.push(callback);
        self
    }

    /// Starts the client's runtime.
    ///
    /// # Errors
    ///
    /// If `threads` is 0, or the operating system refuses to start threads.
    ///
    /// ```
    /// let client = delayed::Client::builder().build()?;
    /// assert!(client.threads().is_some());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        if self.synchronous {
            return Ok(Client::with(Scheduler::Synchronous, self.callbacks));
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = self
            .threads
            .unwrap_or_else(|| DEFAULT_THREADS.max(2 * cores));
        if threads == 0 {
            return Err(Error::start(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a client needs at least one thread: use `Client::builder().threads(1)` or more",
            )));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores.min(threads))
            .thread_name("delayed-worker")
            .enable_all()
            .build()
            .map_err(Error::start)?;
        let pool = Arc::new(Pool::new(runtime.handle().clone(), threads));
        let scheduler = Scheduler::Threaded {
            runtime: Some(runtime),
            pool,
        };
        Ok(Client::with(scheduler, self.callbacks))
    }
}

fn collect<C: Computable + ?Sized>(computable: &C) -> Graph {
    let mut roots = Roots::default();
    computable.add_roots(&mut roots);
    Graph::collect(&roots.0)
}

fn start(
    graph: Graph,
    pool: &Arc<Pool>,
    callbacks: Option<Arc<[Arc<dyn Callback>]>>,
    done: impl FnOnce(Outcome) + Send + 'static,
) -> Arc<Run> {
    let run = Arc::new(Run::new(graph, Box::new(done), callbacks));
    threaded::spawn(&run, pool);
    run
}

/// Runs a blocking wait; inside a multi-threaded tokio runtime, first lets
/// the runtime move this worker's other tasks to another thread.
fn wait_blocking<T>(wait: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

/// The synchronous scheduler's blocking form: drive the sequential run on a
/// current-thread runtime (so async tasks have timers and I/O), on this
/// thread, or on a helper thread where this one is already inside a runtime.
fn run_synchronously(
    graph: Graph,
    callbacks: Option<Arc<[Arc<dyn Callback>]>>,
) -> Result<Vec<Value>, Error> {
    let drive = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::start)?;
        runtime.block_on(sequential::run(graph, callbacks))
    };
    if Handle::try_current().is_err() {
        return drive();
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("delayed-synchronous".into())
            .spawn_scoped(scope, drive)
            .map_err(Error::start)?;
        helper
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Cancels a compute whose future is dropped before it completes. Weak, so
/// that it does not keep a finished run (and its graph) alive.
struct CancelOnDrop(Weak<Run>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(run) = self.0.upgrade() {
            run.stop();
        }
    }
}
