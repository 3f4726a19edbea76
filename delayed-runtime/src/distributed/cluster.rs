//! `LocalCluster`: Dask's `LocalCluster`, worker processes of the current
//! executable on this machine, with a private `redis-server` as their
//! broker.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::WORKER_VARIABLE;
use crate::client::Client;
use crate::error::Error;

/// Worker processes of the current executable on this machine, and a
/// private `redis-server` as their broker (on a free port, with a
/// temporary directory and no persistence), like Dask's `LocalCluster`.
/// Dropping it stops every process it started and removes the directory.
///
/// The executable must call
/// [`serve_if_worker`](super::serve_if_worker) first thing in `main`:
/// that is where its copies become workers.
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
    redis: Child,
    workers: Vec<Child>,
    url: String,
    dir: PathBuf,
}

impl LocalCluster {
    /// Starts a `redis-server` and `workers` worker processes.
    ///
    /// # Errors
    ///
    /// If `redis-server` is not on the `PATH` (the error says how to
    /// install it), or a process cannot be started, or the broker does not
    /// answer within 10 seconds.
    pub fn new(workers: usize) -> Result<LocalCluster, Error> {
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
                Error::remote(
                    "could not start `redis-server` for a local cluster: install Redis 6.2 or \
                     newer (`apt-get install redis-server`, `brew install redis`) so that \
                     `redis-server` is on the PATH, or give workers a broker of your own with \
                     `Client::builder().redis(url)`"
                        .into(),
                    Some(source.into()),
                )
            })?;
        let mut cluster = LocalCluster {
            redis,
            workers: Vec::new(),
            url: format!("redis://127.0.0.1:{port}"),
            dir,
        };
        cluster.wait_for_broker()?;
        let executable = std::env::current_exe().map_err(Error::start)?;
        for _ in 0..workers {
            let worker = Command::new(&executable)
                .env(WORKER_VARIABLE, &cluster.url)
                .stdout(Stdio::null())
                .spawn()
                .map_err(Error::start)?;
            cluster.workers.push(worker);
        }
        Ok(cluster)
    }

    /// Waits until the broker answers, or fails after 10 seconds.
    fn wait_for_broker(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::start)?;
        loop {
            let connected = runtime.block_on(super::streams::Broker::connect(
                &self.url,
                Duration::from_secs(1),
            ));
            match connected {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => {
                    if let Ok(Some(status)) = self.redis.try_wait() {
                        return Err(Error::remote(
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
        let _ = self.redis.kill();
        let _ = self.redis.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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
