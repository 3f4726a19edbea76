//! `Client`: where computes run. A threaded client owns a tokio runtime; the
//! synchronous client runs everything on the caller's thread.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, Weak};

use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

use crate::computable::{Computable, Outputs};
use crate::diagnostics::{self, Callback};
use crate::error::Error;
use crate::executor::delivery::{Sender, Watch};
use crate::executor::offload::Offload;
use crate::executor::threaded::{self, Job, Limits, Pool};
use crate::executor::{Control, Done, sequential};
use crate::graph::Graph;
use crate::graph::Roots;
use crate::handle::Delayed;
use crate::node::Node;
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

/// The most OS threads a threaded client starts for synchronous tasks when
/// [`ClientBuilder::max_threads`] is not called: as many as tokio's
/// blocking pool. Only tasks that block at the same time need one each.
///
/// ```
/// assert_eq!(delayed::DEFAULT_MAX_THREADS, 512);
/// ```
pub const DEFAULT_MAX_THREADS: usize = 512;

/// How many async tasks of one compute may be in flight at once when
/// [`ClientBuilder::max_async_tasks`] is not called: about the number of
/// files or sockets a process may open by default, so that a fan of
/// requests does not run out of them or of memory.
///
/// ```
/// assert_eq!(delayed::DEFAULT_MAX_ASYNC_TASKS, 1024);
/// ```
pub const DEFAULT_MAX_ASYNC_TASKS: usize = 1024;

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
            max_threads: None,
            max_async_tasks: None,
            synchronous: false,
            callbacks: Vec::new(),
            #[cfg(feature = "dashboard")]
            dashboard: None,
            offload: None,
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
                #[cfg(feature = "dashboard")]
                dashboard: None,
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

    /// The default client, started on first use, that the free functions
    /// use: a threaded client with the default settings, one running task
    /// per core besides the blocked ones.
    ///
    /// ```
    /// let client = delayed::Client::global()?;
    /// let cores = std::thread::available_parallelism()?.get();
    /// assert_eq!(client.threads(), Some(cores));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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

    /// The client that `compute!`, [`compute`](crate::compute),
    /// [`Delayed::compute`](crate::Delayed::compute) and the other free
    /// functions use on this thread right now: the innermost
    /// [`enter`](Self::enter) guard of this thread, else the client given
    /// to [`set_as_default`](Self::set_as_default), else the
    /// [`global`](Self::global) one.
    ///
    /// ```
    /// let four = delayed::Client::builder().threads(4).build()?;
    /// let _guard = four.enter();
    /// assert_eq!(delayed::Client::current()?.threads(), Some(4));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn current() -> Result<Client, Error> {
        if let Some(client) = SCOPED.with_borrow(|scoped| scoped.last().cloned()) {
            return Ok(client);
        }
        if HAS_DEFAULT.load(Ordering::Acquire) {
            let default = DEFAULT.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(client) = &*default {
                return Ok(client.clone());
            }
        }
        Client::global().cloned()
    }

    /// Makes this client the one the free functions use in every thread
    /// of the process (unless a thread has [`enter`](Self::enter)ed
    /// another): Dask's `Client(...)` becoming the default scheduler. The
    /// client stays alive as long as it is the default; a later call
    /// replaces it.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// Client::builder().threads(4).build()?.set_as_default();
    /// assert_eq!(Client::current()?.threads(), Some(4));
    /// assert_eq!(inc(1).compute()?, 2); // on the four-thread client
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn set_as_default(&self) {
        let mut default = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
        *default = Some(self.clone());
        HAS_DEFAULT.store(true, Ordering::Release);
    }

    /// Makes this client the one the free functions use on this thread
    /// until the guard is dropped, as tokio's `Runtime::enter` and
    /// tracing's `set_default` do; it wins over
    /// [`set_as_default`](Self::set_as_default) on this thread only. Guards
    /// nest: dropping one restores the client before it.
    ///
    /// ```
    /// use delayed::Client;
    ///
    /// let one = Client::builder().threads(1).build()?;
    /// let two = Client::builder().threads(2).build()?;
    /// let _outer = one.enter();
    /// {
    ///     let _inner = two.enter();
    ///     assert_eq!(Client::current()?.threads(), Some(2));
    /// }
    /// assert_eq!(Client::current()?.threads(), Some(1));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn enter(&self) -> DefaultGuard {
        let depth = SCOPED.with_borrow_mut(|scoped| {
            scoped.push(self.clone());
            scoped.len() - 1
        });
        DefaultGuard {
            depth,
            _not_send: PhantomData,
        }
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

    /// Computes one node on this client: a task built from bytes
    /// ([`distributed::Function::call`](crate::distributed::Function::call)).
    #[cfg_attr(not(feature = "distributed"), allow(dead_code))]
    pub(crate) fn compute_node(&self, node: &Arc<Node>) -> Result<Value, Error> {
        let mut values = self.compute_values(Graph::collect(&[node]))?;
        Ok(values.pop().expect("one value for the one root"))
    }

    /// Runs `graph` and returns its roots' values, blocking until done.
    fn compute_values(&self, graph: Graph) -> Result<Vec<Value>, Error> {
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, offload, .. } => {
                threaded::compute(pool, graph, callbacks, offload.as_deref())
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
            Scheduler::Threaded { pool, offload, .. } => {
                let (sender, receiver) = oneshot::channel();
                let done = Box::new(move |outcome| {
                    // The caller may have stopped waiting.
                    let _ = sender.send(outcome);
                });
                let job = threaded::start(pool, graph, callbacks, done, None, offload.as_deref());
                let _cancel = CancelOnDrop(Arc::downgrade(&job));
                drop(job);
                receiver.await.unwrap_or_else(|_| Err(Error::stopped()))?
            }
            Scheduler::Synchronous => sequential::run(graph, callbacks, None).await?,
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
        let graph = collect(computable);
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
        done: Done,
        control: Arc<Control>,
    ) -> Option<(Weak<Job>, Arc<Pool>)> {
        let callbacks = diagnostics::for_compute(&self.inner.callbacks);
        match &self.inner.scheduler {
            Scheduler::Threaded { pool, offload, .. } => {
                let offload = offload.as_deref();
                let job = threaded::start(pool, graph, callbacks, done, Some(control), offload);
                Some((Arc::downgrade(&job), pool.clone()))
            }
            Scheduler::Synchronous => {
                // Kept outside the thread too, to report a thread that
                // could not start.
                let done = Arc::new(Mutex::new(Some(done)));
                let deliver = done.clone();
                let started = std::thread::Builder::new()
                    .name("delayed-synchronous".into())
                    .spawn(move || {
                        let outcome = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(Error::start)
                            .and_then(|runtime| {
                                runtime.block_on(sequential::run(graph, callbacks, Some(control)))
                            });
                        if let Some(done) = lock(&deliver).take() {
                            done(outcome);
                        }
                    });
                if let Err(error) = started {
                    if let Some(done) = lock(&done).take() {
                        done(Err(Error::start(error)));
                    }
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

/// Keeps a client the default of this thread; see [`Client::enter`].
///
/// ```
/// let two = delayed::Client::builder().threads(2).build()?;
/// let guard = two.enter();
/// assert_eq!(delayed::Client::current()?.threads(), Some(2));
/// drop(guard); // the client before it is the default again
/// # Ok::<(), delayed::Error>(())
/// ```
#[must_use = "the client is the default only until the guard is dropped"]
pub struct DefaultGuard {
    /// This guard's place on the thread's stack of entered clients.
    depth: usize,
    /// The stack is the thread's own.
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for DefaultGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultGuard")
            .field("depth", &self.depth)
            .finish()
    }
}

impl Drop for DefaultGuard {
    /// Restores the client entered before this one; guards dropped out of
    /// order also end the guards entered after them.
    fn drop(&mut self) {
        let released =
            SCOPED.with_borrow_mut(|scoped| scoped.split_off(self.depth.min(scoped.len())));
        // Clients may stop their threads as they go: outside the borrow.
        drop(released);
    }
}

/// The process default set with [`Client::set_as_default`].
static DEFAULT: RwLock<Option<Client>> = RwLock::new(None);
/// Whether [`DEFAULT`] was ever set: the common case skips its lock.
static HAS_DEFAULT: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The clients entered on this thread, innermost last.
    static SCOPED: RefCell<Vec<Client>> = const { RefCell::new(Vec::new()) };
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
    max_threads: Option<usize>,
    max_async_tasks: Option<usize>,
    synchronous: bool,
    callbacks: Vec<Arc<dyn Callback>>,
    #[cfg(feature = "dashboard")]
    dashboard: Option<String>,
    /// Connects the backend that runs tasks elsewhere, on the client's
    /// runtime (set by `redis(url)`).
    offload: Option<Connect>,
}

/// How a builder connects its client's [`Offload`], given the client's
/// runtime.
pub(crate) type Connect = Arc<dyn Fn(&Handle) -> Result<Arc<dyn Offload>, Error> + Send + Sync>;

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("threads", &self.threads)
            .field("max_threads", &self.max_threads)
            .field("max_async_tasks", &self.max_async_tasks)
            .field("synchronous", &self.synchronous)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl ClientBuilder {
    /// Runs at most `threads` synchronous tasks at once, blocked or not:
    /// Dask's `num_workers`. Without it the client runs one task per core
    /// and lets blocked tasks lend their place, which suits most work; set
    /// it to cap concurrency, for example to one task at a time, or to
    /// how many connections a server accepts. Async tasks are bounded by
    /// [`max_async_tasks`](Self::max_async_tasks) instead.
    ///
    /// A task that computes on its own client runs the nested tasks itself
    /// while it waits, so even `threads(1)` never deadlocks on nesting.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails if `threads` is 0 or above
    /// [`max_threads`](Self::max_threads).
    ///
    /// ```
    /// let one_at_a_time = delayed::Client::builder().threads(1).build()?;
    /// assert_eq!(one_at_a_time.threads(), Some(1));
    /// assert!(delayed::Client::builder().threads(0).build().is_err());
    /// assert!(delayed::Client::builder().threads(1_000).build().is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> ClientBuilder {
        self.threads = Some(threads);
        self
    }

    /// The most OS threads the client starts for synchronous tasks (default
    /// [`DEFAULT_MAX_THREADS`]): a hard ceiling on top of the cores, for
    /// the tasks blocked at the same time. Past it, ready tasks wait for a
    /// thread; nested computes still never deadlock, since a waiting task
    /// runs the nested tasks itself.
    ///
    /// ```
    /// let client = delayed::Client::builder().max_threads(16).build()?;
    /// assert!(delayed::Client::builder().max_threads(0).build().is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn max_threads(mut self, max_threads: usize) -> ClientBuilder {
        self.max_threads = Some(max_threads);
        self
    }

    /// How many async tasks of one compute may be in flight at once
    /// (default [`DEFAULT_MAX_ASYNC_TASKS`]). Async tasks take no CPU slot
    /// while they wait; this bound keeps a fan of a million requests from
    /// opening a million sockets or holding a million futures. Further
    /// ready async tasks start as earlier ones finish.
    ///
    /// ```
    /// let client = delayed::Client::builder().max_async_tasks(100).build()?;
    /// assert!(delayed::Client::builder().max_async_tasks(0).build().is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn max_async_tasks(mut self, max_async_tasks: usize) -> ClientBuilder {
        self.max_async_tasks = Some(max_async_tasks);
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

    /// Serves a live dashboard of this client's computes at `address`
    /// (`"127.0.0.1:8787"`, Dask's port; a bare `"8787"` means that port on
    /// loopback; port 0 picks a free one) for as
    /// long as the client lives, and prints its URL once: see
    /// [`Dashboard`](crate::diagnostics::Dashboard). Needs the `dashboard`
    /// feature.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails, naming the address, if it cannot be
    /// bound.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// let client = delayed::Client::builder().dashboard("127.0.0.1:0").build()?;
    /// let l: Vec<_> = (0..100).map(inc).collect();
    /// client.compute(&l)?; // watch it at client.dashboard().unwrap().url()
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "dashboard")]
    pub fn dashboard(mut self, address: impl fmt::Display) -> ClientBuilder {
        self.dashboard = Some(address.to_string());
        self
    }

    /// Runs the tasks `connect`'s backend plans for on it (the workers of
    /// `redis(url)`, which sets it); connected when the client is built.
    #[cfg_attr(not(feature = "distributed"), allow(dead_code))]
    pub(crate) fn offload(mut self, connect: Connect) -> ClientBuilder {
        self.offload = Some(connect);
        self
    }

    /// Starts the client's runtime.
    ///
    /// # Errors
    ///
    /// If a bound is 0, `threads` is above `max_threads`, or the operating
    /// system refuses to start threads.
    ///
    /// ```
    /// let client = delayed::Client::builder().build()?;
    /// assert!(client.threads().is_some());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let mut scheduler = self.scheduler()?;
        if let Some(connect) = &self.offload {
            let connected = match &mut scheduler {
                Scheduler::Threaded {
                    runtime: Some(runtime),
                    offload,
                    ..
                } => connect(runtime.handle()).map(|connected| *offload = Some(connected)),
                _ => Err(Error::config(
                    "a synchronous client runs every task on the calling thread, so it has no \
                     workers: leave out `.synchronous()` to compute on workers",
                )),
            };
            if let Err(error) = connected {
                // Stopped as a client's are: its threads, then its runtime.
                drop(Client::with(scheduler, Vec::new()));
                return Err(error);
            }
        }
        #[allow(unused_mut)] // the dashboard, with its feature, is one more
        let mut callbacks = self.callbacks;
        #[cfg(feature = "dashboard")]
        let dashboard = match self.dashboard.as_deref().map(|a| serve(a, &scheduler)) {
            None => None,
            Some(Ok(dashboard)) => Some(dashboard),
            Some(Err(error)) => {
                // Stopped as a client's are: its threads, then its runtime.
                drop(Client::with(scheduler, Vec::new()));
                return Err(error);
            }
        };
        #[cfg(feature = "dashboard")]
        callbacks.extend(
            dashboard
                .iter()
                .map(|d| Arc::new(d.clone()) as Arc<dyn Callback>),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                scheduler,
                callbacks,
                #[cfg(feature = "dashboard")]
                dashboard,
            }),
        })
    }

    /// The threads and runtime of a threaded client, checked against the
    /// bounds; or the synchronous scheduler.
    fn scheduler(&self) -> Result<Scheduler, Error> {
        if self.synchronous {
            return Ok(Scheduler::Synchronous);
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let max_threads = self.max_threads.unwrap_or(DEFAULT_MAX_THREADS);
        let max_async = self.max_async_tasks.unwrap_or(DEFAULT_MAX_ASYNC_TASKS);
        let invalid = |message: String| Err(Error::config(message));
        match self.threads {
            Some(0) => {
                return invalid(
                    "a client needs at least one thread: use `Client::builder().threads(1)` or more"
                        .into(),
                );
            }
            Some(threads) if threads > max_threads => {
                return invalid(format!(
                    "`threads({threads})` is above the ceiling of {max_threads} OS threads: \
                     raise it with `.max_threads({threads})`, or leave `threads` out and let \
                     blocked tasks lend their place"
                ));
            }
            _ => {}
        }
        if max_threads == 0 {
            return invalid("`max_threads` must be at least 1".into());
        }
        if max_async == 0 {
            return invalid("`max_async_tasks` must be at least 1".into());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .thread_name("delayed-runtime")
            .on_thread_start(threaded::runtime_thread_started)
            .enable_all()
            .build()
            .map_err(Error::start)?;
        let limits = Limits {
            slots: self.threads.unwrap_or(cores),
            lending: self.threads.is_none(),
            max_threads,
            max_async,
        };
        let pool = Pool::new(runtime.handle().clone(), &limits).map_err(Error::start)?;
        Ok(Scheduler::Threaded {
            runtime: Some(runtime),
            pool,
            offload: None,
        })
    }
}

/// A dashboard at `address` on the client's runtime, or on a thread of its
/// own beside a synchronous client.
#[cfg(feature = "dashboard")]
fn serve(address: &str, scheduler: &Scheduler) -> Result<crate::diagnostics::Dashboard, Error> {
    match scheduler {
        Scheduler::Threaded {
            runtime: Some(runtime),
            ..
        } => crate::diagnostics::Dashboard::serve_on(runtime.handle(), address),
        _ => crate::diagnostics::Dashboard::serve(address),
    }
}

fn collect<C: Computable + ?Sized>(computable: &C) -> Graph {
    let mut roots = Roots::default();
    computable.add_roots(&mut roots);
    Graph::collect(&roots.0)
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
        runtime.block_on(sequential::run(graph, callbacks, None))
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
struct CancelOnDrop(Weak<Job>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(job) = self.0.upgrade() {
            job.cancel();
        }
    }
}
