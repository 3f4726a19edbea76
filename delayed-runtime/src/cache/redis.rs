//! [`RedisStore`]: cached values in Redis (features `cache` and
//! `distributed`), shared by every machine that reaches it.

use std::hash::{BuildHasher, RandomState};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Store;
use crate::sync::{Mutex, lock};

/// A store in Redis, shared by clients on many machines: a value one
/// computes is a hit for all. Keys are `delayed:cache:<key>`; claims are
/// `SET … NX PX` with a lease, released by their holder, or expired.
///
/// Redis evicts by its own `maxmemory-policy` (`allkeys-lru` makes it a
/// least-recently-used cache); [`ttl`](RedisStore::ttl) gives entries a
/// lifetime too. Each entry carries its checksum and type, so one that
/// Redis hands back damaged is a miss, never a value.
///
/// ```no_run
/// use std::sync::Arc;
/// use delayed::cache::RedisStore;
///
/// let store = RedisStore::open("redis://cache-host:6379")?.ttl(std::time::Duration::from_secs(7 * 24 * 3600));
/// let client = delayed::Client::builder().cache_store(Arc::new(store)).build()?;
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct RedisStore {
    pool: Arc<Pool>,
    ttl: Option<Duration>,
    lease: Duration,
}

/// Connections to one Redis, reused.
struct Pool {
    client: redis::Client,
    /// Connections not in use; a failed one is dropped, not returned.
    idle: Mutex<Vec<redis::Connection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("ttl", &self.ttl)
            .field("lease", &self.lease)
            .finish()
    }
}

const PREFIX: &str = "delayed:cache:";
const CLAIM: &str = "delayed:cache-claim:";

/// How long connecting and each command may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Deletes a claim only if it is still the caller's.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`). Nothing is
    /// connected until the first lookup.
    ///
    /// # Errors
    ///
    /// A URL that is not one, as a [`Config`](crate::ErrorKind::Config) error.
    ///
    /// ```
    /// let err = delayed::cache::RedisStore::open("not a url").unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::Config);
    /// ```
    pub fn open(url: &str) -> Result<RedisStore, crate::Error> {
        let client = redis::Client::open(url).map_err(|error| {
            crate::Error::config(format!(
                "`{url}` is not a Redis address ({error}): write `redis://host:6379`"
            ))
        })?;
        Ok(RedisStore {
            pool: Arc::new(Pool {
                client,
                idle: Mutex::new(Vec::new()),
            }),
            ttl: None,
            lease: super::DEFAULT_LEASE,
        })
    }

    /// Entries expire `ttl` after they are written.
    ///
    /// ```
    /// let store = delayed::cache::RedisStore::open("redis://127.0.0.1:6379")?
    ///     .ttl(std::time::Duration::from_secs(3600));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> RedisStore {
        self.ttl = Some(ttl);
        self
    }

    /// How long a claim lasts unless released, and so how long another
    /// process waits for it (10 minutes by default). A task that runs
    /// longer loses its claim, and a waiter may compute it too.
    ///
    /// ```
    /// let store = delayed::cache::RedisStore::open("redis://127.0.0.1:6379")?
    ///     .lease(std::time::Duration::from_secs(3600));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn lease(mut self, lease: Duration) -> RedisStore {
        self.lease = lease;
        self
    }
}

impl Pool {
    /// Runs `command` on an idle connection (or a new one).
    fn with<T>(
        &self,
        command: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> io::Result<T> {
        let idle = lock(&self.idle).pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => {
                let connection = self
                    .client
                    .get_connection_with_timeout(TIMEOUT)
                    .map_err(io::Error::other)?;
                connection
                    .set_read_timeout(Some(TIMEOUT))
                    .map_err(io::Error::other)?;
                connection
                    .set_write_timeout(Some(TIMEOUT))
                    .map_err(io::Error::other)?;
                connection
            }
        };
        let result = command(&mut connection).map_err(io::Error::other)?;
        lock(&self.idle).push(connection);
        Ok(result)
    }
}

impl Store for RedisStore {
    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        self.pool
            .with(|c| redis::cmd("GET").arg(format!("{PREFIX}{key}")).query(c))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        self.pool.with(|c| {
            let mut set = redis::cmd("SET");
            set.arg(format!("{PREFIX}{key}")).arg(bytes);
            if let Some(ttl) = self.ttl {
                set.arg("PX").arg(ttl.as_millis() as u64);
            }
            set.query(c)
        })
    }

    fn lock(&self, key: &str) -> io::Result<Option<Box<dyn Send>>> {
        let claim = format!("{CLAIM}{key}");
        // Random per process (std's hasher keys), counted within it.
        static CLAIMS: AtomicU64 = AtomicU64::new(0);
        let n = CLAIMS.fetch_add(1, Ordering::Relaxed);
        let token = format!(
            "{:016x}-{n}",
            RandomState::new().hash_one(std::process::id())
        );
        let deadline = Instant::now() + self.lease;
        let mut pause = Duration::from_millis(2);
        loop {
            let taken: Option<String> = self.pool.with(|c| {
                redis::cmd("SET")
                    .arg(&claim)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.lease.as_millis() as u64)
                    .query(c)
            })?;
            if taken.is_some() {
                return Ok(Some(Box::new(Claimed {
                    pool: self.pool.clone(),
                    claim,
                    token,
                })));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// A claim in Redis, released when dropped (if still this one's).
struct Claimed {
    pool: Arc<Pool>,
    claim: String,
    token: String,
}

impl Drop for Claimed {
    fn drop(&mut self) {
        // If this fails, the claim expires with its lease.
        let _ = self.pool.with(|c| {
            redis::cmd("EVAL")
                .arg(RELEASE)
                .arg(1)
                .arg(&self.claim)
                .arg(&self.token)
                .query::<i64>(c)
        });
    }
}
