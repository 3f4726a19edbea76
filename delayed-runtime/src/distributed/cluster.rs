//! `LocalCluster`: Dask's `LocalCluster`, worker processes of the current
//! executable on this machine, with a private `redis-server` as their
//! broker.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::WORKER_VARIABLE;
use super::broker::{RESOURCES_VARIABLE, THREADS_VARIABLE};
use super::streams::{NAME_VARIABLE, RedisBroker};
use crate::client::Client;
use crate::error::Error;
use crate::resources::Resources;

/// Worker processes of the current executable on this machine, and a
/// private `redis-server` as their broker (on a free port, with a
/// temporary directory and no persistence), like Dask's `LocalCluster`.
/// Dropping it stops every process it started and removes the directory.
///
/// The executable must call
/// [`serve_if_worker`](super::serve_if_worker) first thing in `main`:
/// that is where its copies become workers.
///
/// [`LocalCluster::new(n)`](LocalCluster::new) shares the cores among `n`
/// workers, as Dask does; [`LocalCluster::builder`] sets the threads of
/// each, or uses a Redis of your own.
///
/// ```no_run
/// use delayed::delayed;
/// use delayed::distributed::LocalCluster;
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// fn main() -> Result<(), delayed::Error> {
///     delayed::distributed::serve_if_worker()?;
///     let cluster = LocalCluster::new(4)?;
///     let client = cluster.client()?;
///     let l: Vec<_> = (0..1000).map(inc).collect();
///     println!("{:?}", client.compute(&l)?);
///     Ok(())
/// }
/// ```
pub struct LocalCluster {
    /// The private broker, with its directory, unless one was given.
    redis: Option<(Child, PathBuf)>,
    workers: Vec<Child>,
    url: String,
}

/// How to start a [`LocalCluster`]: Dask's
/// `LocalCluster(n_workers=…, threads_per_worker=…)`.
///
/// ```no_run
/// use delayed::distributed::LocalCluster;
///
/// // Four single-threaded workers, and a private redis-server.
/// let cluster = LocalCluster::builder().workers(4).threads_per_worker(1).build()?;
/// assert_eq!(cluster.workers(), 4);
///
/// // Two workers of a Redis already running.
/// let cluster = LocalCluster::builder().workers(2).redis("redis://127.0.0.1:6379").build()?;
/// assert_eq!(cluster.url(), "redis://127.0.0.1:6379");
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct LocalClusterBuilder {
    workers: usize,
    threads: Option<usize>,
    redis: Option<String>,
    /// Workers started besides, each with its resources.
    with_resources: Vec<Resources>,
}

impl LocalClusterBuilder {
    /// How many worker processes to start: 1 by default.
    ///
    /// ```no_run
    /// let cluster = delayed::distributed::LocalCluster::builder().workers(3).build()?;
    /// assert_eq!(cluster.workers(), 3);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn workers(mut self, workers: usize) -> LocalClusterBuilder {
        self.workers = workers;
        self
    }

    /// How many tasks each worker runs at once, each on a thread of its
    /// own. By default `DELAYED_WORKER_THREADS` when it is set, and
    /// otherwise the cores shared among the workers (at least one each).
    ///
    /// ```no_run
    /// // Dask's LocalCluster(n_workers=2, threads_per_worker=1).
    /// let cluster = delayed::distributed::LocalCluster::builder()
    ///     .workers(2)
    ///     .threads_per_worker(1)
    ///     .build()?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn threads_per_worker(mut self, threads: usize) -> LocalClusterBuilder {
        self.threads = Some(threads);
        self
    }

    /// One more worker process, with `resources` for the tasks that need
    /// them (`DELAYED_WORKER_RESOURCES`); call it once for each.
    ///
    /// ```no_run
    /// use delayed::Resources;
    ///
    /// // Two plain workers, and one with a GPU.
    /// let cluster = delayed::distributed::LocalCluster::builder()
    ///     .workers(2)
    ///     .worker_with(Resources::from([("gpu", 1)]))
    ///     .build()?;
    /// assert_eq!(cluster.workers(), 3);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn worker_with(mut self, resources: impl Into<Resources>) -> LocalClusterBuilder {
        self.with_resources.push(resources.into());
        self
    }

    /// The broker to use, instead of starting a private `redis-server`:
    /// `redis://host:port`, or any address
    /// [`ClientBuilder::redis`](crate::ClientBuilder::redis) takes. The
    /// cluster then stops only its workers when dropped.
    ///
    /// ```no_run
    /// let cluster = delayed::distributed::LocalCluster::builder()
    ///     .redis("redis://user:secret@127.0.0.1:6379")
    ///     .build()?;
    /// drop(cluster); // the workers stop; that Redis goes on
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn redis(mut self, url: impl Into<String>) -> LocalClusterBuilder {
        self.redis = Some(url.into());
        self
    }

    /// Starts the broker, unless one was given, and the workers, and
    /// returns once every worker serves: a client made from the cluster
    /// sees them, and what they have, at once.
    ///
    /// # Errors
    ///
    /// If `redis-server` is not on the `PATH` (the error says how to
    /// install it), or a process cannot be started, or the broker does not
    /// answer within 10 seconds, or a worker exits as it starts or does
    /// not serve within 10 seconds, or `threads_per_worker` is 0.
    ///
    /// ```
    /// let error = delayed::distributed::LocalCluster::builder()
    ///     .threads_per_worker(0)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(
    ///     error.to_string().contains("at least one thread each: give `threads_per_worker` 1"),
    ///     "{error}"
    /// );
    /// ```
    pub fn build(self) -> Result<LocalCluster, Error> {
        let threads = match self.threads {
            Some(0) => {
                return Err(Error::config(
                    "a local cluster's workers need at least one thread each: give \
                     `threads_per_worker` 1 or more",
                ));
            }
            Some(threads) => Some(threads),
            None if std::env::var_os(THREADS_VARIABLE).is_some() => None,
            None => {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                Some((cores / self.workers.max(1)).max(1))
            }
        };
        let mut cluster = match self.redis {
            Some(url) => LocalCluster {
                redis: None,
                workers: Vec::new(),
                url,
            },
            None => LocalCluster::with_private_broker()?,
        };
        cluster.wait_for_broker()?;
        let executable = std::env::current_exe().map_err(Error::start)?;
        let plain = std::iter::repeat_n(None, self.workers);
        let prefix = format!("local-{}", super::build::unique_name());
        let mut names = Vec::new();
        for (i, resources) in plain
            .chain(self.with_resources.iter().map(Some))
            .enumerate()
        {
            let name = format!("{prefix}-{i}");
            let mut worker = Command::new(&executable);
            worker.env(WORKER_VARIABLE, &cluster.url);
            worker.env(NAME_VARIABLE, &name);
            names.push(name);
            if let Some(threads) = threads {
                worker.env(THREADS_VARIABLE, threads.to_string());
            }
            if let Some(resources) = resources {
                worker.env(RESOURCES_VARIABLE, resources.to_string());
            }
            let worker = worker.stdout(Stdio::null()).spawn().map_err(Error::start)?;
            cluster.workers.push(worker);
        }
        cluster.wait_for_workers(&names)?;
        Ok(cluster)
    }
}

impl LocalCluster {
    /// Starts a `redis-server` and `workers` worker processes, which share
    /// the cores: each runs `cores / workers` tasks at once (at least one),
    /// unless `DELAYED_WORKER_THREADS` says otherwise.
    ///
    /// # Errors
    ///
    /// If `redis-server` is not on the `PATH` (the error says how to
    /// install it), or a process cannot be started, or the broker does not
    /// answer within 10 seconds.
    pub fn new(workers: usize) -> Result<LocalCluster, Error> {
        LocalCluster::builder().workers(workers).build()
    }

    /// A [`LocalClusterBuilder`], to choose the workers' threads or give a
    /// broker.
    ///
    /// ```no_run
    /// let cluster = delayed::distributed::LocalCluster::builder()
    ///     .workers(2)
    ///     .threads_per_worker(4)
    ///     .build()?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn builder() -> LocalClusterBuilder {
        LocalClusterBuilder {
            workers: 1,
            threads: None,
            redis: None,
            with_resources: Vec::new(),
        }
    }

    /// A cluster with no workers yet, and a `redis-server` of its own.
    fn with_private_broker() -> Result<LocalCluster, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(Error::start)?
            .port();
        let dir =
            std::env::temp_dir().join(format!("delayed-cluster-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let redis = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|source| {
                let _ = std::fs::remove_dir_all(&dir);
                Error::broker(
                    "could not start `redis-server` for a local cluster: install Redis 6.2 or \
                     newer (`apt-get install redis-server`, `brew install redis`) so that \
                     `redis-server` is on the PATH, or give workers a broker of your own with \
                     `Client::builder().redis(url)`"
                        .into(),
                    Some(source.into()),
                )
            })?;
        Ok(LocalCluster {
            redis: Some((redis, dir)),
            workers: Vec::new(),
            url: format!("redis://127.0.0.1:{port}"),
        })
    }

    /// Waits until every worker it started, by `names`, serves (says so
    /// on the broker), so that a client sees them and their resources at
    /// once; fails after 10 seconds, or when a worker exits.
    fn wait_for_workers(&mut self, names: &[String]) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::start)?;
        let broker = runtime.block_on(RedisBroker::connect(&self.url, Duration::from_secs(5)))?;
        loop {
            let serving = runtime.block_on(broker.serving())?;
            let now = (names.iter())
                .filter(|name| serving.iter().any(|(serves, _)| serves == *name))
                .count();
            if now == names.len() {
                return Ok(());
            }
            if let Some(status) =
                (self.workers.iter_mut()).find_map(|w| w.try_wait().ok().flatten())
            {
                return Err(Error::other(format!(
                    "a worker of the local cluster exited as it started ({status}): run the \
                     program with `{WORKER_VARIABLE}={}` to see why",
                    self.url
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::broker(
                    format!(
                        "{now} of the local cluster's {} workers serve after 10 seconds",
                        names.len()
                    ),
                    None,
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the broker answers, or fails after 10 seconds.
    fn wait_for_broker(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::start)?;
        loop {
            let connected = runtime.block_on(super::streams::RedisBroker::connect(
                &self.url,
                Duration::from_secs(1),
            ));
            match connected {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => {
                    let exited = match &mut self.redis {
                        Some((redis, _)) => redis.try_wait().ok().flatten(),
                        None => None,
                    };
                    if let Some(status) = exited {
                        return Err(Error::broker(
                            format!("`redis-server` for a local cluster exited at once ({status})"),
                            None,
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// The broker's address, for workers started elsewhere or for
    /// [`ClientBuilder::redis`](crate::ClientBuilder::redis).
    ///
    /// ```no_run
    /// let cluster = delayed::distributed::LocalCluster::new(2)?;
    /// assert!(cluster.url().starts_with("redis://127.0.0.1:"));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many worker processes the cluster started.
    ///
    /// ```no_run
    /// let cluster = delayed::distributed::LocalCluster::new(2)?;
    /// assert_eq!(cluster.workers(), 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// A client whose tasks run on this cluster's workers.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`](crate::ClientBuilder::build).
    ///
    /// ```no_run
    /// #[delayed::delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// let cluster = delayed::distributed::LocalCluster::new(2)?;
    /// assert_eq!(cluster.client()?.compute(&inc(1))?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn client(&self) -> Result<Client, Error> {
        Client::builder().redis(&self.url).build()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            let _ = worker.kill();
            let _ = worker.wait();
        }
        if let Some((redis, dir)) = &mut self.redis {
            let _ = redis.kill();
            let _ = redis.wait();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("url", &self.url)
            .field("workers", &self.workers.len())
            .finish()
    }
}
