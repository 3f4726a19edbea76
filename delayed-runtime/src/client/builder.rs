//! `ClientBuilder`: a threaded client's settings, checked when it is
//! built.

use std::fmt;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::{Client, Inner, Scheduler};
use crate::diagnostics::Callback;
use crate::error::Error;
use crate::executor::offload::Offload;
use crate::executor::threaded::{self, Limits, Pool};

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
            resources: crate::resources::Resources::new(),
            callbacks: Vec::new(),
            #[cfg(feature = "dashboard")]
            dashboard: None,
            offload: None,
            #[cfg(feature = "cache")]
            cache: None,
            #[cfg(feature = "cache")]
            cache_salt: 0,
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
    max_threads: Option<usize>,
    max_async_tasks: Option<usize>,
    synchronous: bool,
    resources: crate::resources::Resources,
    callbacks: Vec<Arc<dyn Callback>>,
    #[cfg(feature = "dashboard")]
    dashboard: Option<String>,
    /// Connects the backend that runs tasks elsewhere, on the client's
    /// runtime (set by `redis(url)`).
    offload: Option<Connect>,
    /// Where cached tasks' values are kept.
    #[cfg(feature = "cache")]
    cache: Option<Arc<dyn crate::cache::Store>>,
    /// The hash of `cache_salt`'s bytes.
    #[cfg(feature = "cache")]
    cache_salt: u128,
}

/// How a builder connects its client's [`Offload`], given the client's
/// runtime.
pub(crate) type Connect = Arc<dyn Fn(&Handle) -> Result<Arc<dyn Offload>, Error> + Send + Sync>;

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("ClientBuilder");
        f.field("threads", &self.threads)
            .field("max_threads", &self.max_threads)
            .field("max_async_tasks", &self.max_async_tasks)
            .field("synchronous", &self.synchronous)
            .field("resources", &self.resources)
            .field("callbacks", &self.callbacks.len());
        #[cfg(feature = "cache")]
        f.field("cache", &self.cache.is_some());
        f.finish()
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

    /// The resources this client's own tasks may hold at once: a task
    /// that needs some ([`Delayed::with_resources`](crate::Delayed::with_resources),
    /// `#[delayed(resources(gpu = 1))]`) starts only when they are free,
    /// and holds them until it ends; other ready tasks go on meanwhile. A
    /// task that needs more than the client has in all (or than any worker
    /// has, for a task sent to workers) fails at once, naming the
    /// resource. Without this a client has no resources.
    ///
    /// ```
    /// use delayed::{delayed, Client, Resources};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static ON_GPU: AtomicUsize = AtomicUsize::new(0);
    ///
    /// #[delayed(resources(gpu = 1))]
    /// fn train(seed: u64) -> usize {
    ///     let at_once = ON_GPU.fetch_add(1, Ordering::SeqCst) + 1;
    ///     std::thread::sleep(std::time::Duration::from_millis(5));
    ///     ON_GPU.fetch_sub(1, Ordering::SeqCst);
    ///     at_once
    /// }
    ///
    /// let client = Client::builder().threads(4).resources("gpu=1".parse::<Resources>()?).build()?;
    /// let at_once = client.compute(&(0..4).map(train).collect::<Vec<_>>())?;
    /// assert!(at_once.iter().all(|&n| n == 1)); // one GPU: one at a time
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn resources(mut self, resources: impl Into<crate::resources::Resources>) -> ClientBuilder {
        self.resources = resources.into();
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

    /// Caches the values of `#[delayed(cache)]` tasks across runs in
    /// `dir`, a [`DiskStore`](crate::cache::DiskStore) that many processes
    /// may share (feature `cache`). Without it (or
    /// [`cache_store`](Self::cache_store)) every task runs.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed(cache)]
    /// fn slow_square(x: u64) -> u64 { x * x }
    ///
    /// let dir = std::env::temp_dir().join(format!("delayed-doc-builder-{}", std::process::id()));
    /// let client = Client::builder().cache(&dir).build()?;
    /// assert_eq!(client.compute(&slow_square(3))?, 9);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "cache")]
    pub fn cache(self, dir: impl AsRef<std::path::Path>) -> ClientBuilder {
        self.cache_store(Arc::new(crate::cache::DiskStore::open(dir)))
    }

    /// Caches `#[delayed(cache)]` tasks' values in `store`: a
    /// [`DiskStore`](crate::cache::DiskStore) with a size limit, a
    /// `RedisStore` shared by many machines (feature `distributed`), or a
    /// store of your own ([`Store`](crate::cache::Store)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use delayed::cache::DiskStore;
    ///
    /// let dir = std::env::temp_dir().join("delayed-doc-store");
    /// let store = Arc::new(DiskStore::open(&dir).limit(10 << 30)); // 10 GiB at most
    /// let client = delayed::Client::builder().cache_store(store).build()?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "cache")]
    pub fn cache_store(mut self, store: Arc<dyn crate::cache::Store>) -> ClientBuilder {
        self.cache = Some(store);
        self
    }

    /// Makes `salt` part of every cache key of this client: a change of it
    /// misses every entry. Use it for what `#[delayed]` cannot see, such
    /// as the dependencies' code (`include_bytes!("../Cargo.lock")`) or an
    /// input file's modification time.
    ///
    /// ```
    /// let client = delayed::Client::builder()
    ///     .cache(std::env::temp_dir().join("delayed-doc-salt"))
    ///     .cache_salt("thresholds v3") // or include_bytes!("../Cargo.lock")
    ///     .build()?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "cache")]
    pub fn cache_salt(mut self, salt: impl AsRef<[u8]>) -> ClientBuilder {
        self.cache_salt = crate::cache::hash(salt.as_ref());
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
                #[cfg(feature = "cache")]
                cache: self.cache.map(|store| crate::cache::Cache {
                    store,
                    salt: self.cache_salt,
                }),
                resources: Arc::new(self.resources),
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
            resources: self.resources.clone(),
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
