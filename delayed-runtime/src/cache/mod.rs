//! Results cached across runs (feature `cache`): rerun a pipeline and only
//! what changed runs again.
//!
//! A client with a store ([`ClientBuilder::cache`](crate::ClientBuilder::cache))
//! looks up each task of a `#[delayed(cache)]` function before running it,
//! under a key that changes exactly when the task's result could:
//!
//! - the function's path, and a hash of its tokens taken by `#[delayed]`
//!   at compile time (so a changed body is a new key, while a comment or
//!   reformatting is not);
//! - the tokens of the helpers it names, `#[delayed(cache, uses = [helper])]`,
//!   each marked [`#[delayed::tracked]`](https://docs.rs/delayed);
//! - its salt, `#[delayed(cache, version = "2")]`, and the client's
//!   ([`ClientBuilder::cache_salt`](crate::ClientBuilder::cache_salt));
//! - each plain argument's bytes, as MessagePack (not `std::hash`, which
//!   differs between builds);
//! - the cache key of each input task, or, for an input that is not cached
//!   itself (or with `#[delayed(cache(by_value))]`), the input's bytes.
//!
//! A hit is read, checked and decoded instead of running the task; a miss
//! runs it and writes its value. Nothing else changes: a store that
//! cannot be read or written is a warning (through `tracing`), never a
//! failed compute.
//!
//! ```
//! use delayed::{delayed, Client};
//! use std::sync::atomic::{AtomicU32, Ordering};
//!
//! static RUNS: AtomicU32 = AtomicU32::new(0);
//!
//! #[delayed(cache)]
//! fn square(x: u64) -> u64 {
//!     RUNS.fetch_add(1, Ordering::SeqCst);
//!     x * x
//! }
//!
//! let dir = std::env::temp_dir().join(format!("delayed-doc-cache-{}", std::process::id()));
//! let client = Client::builder().cache(&dir).build()?;
//! assert_eq!(client.compute(&square(12))?, 144);
//! assert_eq!(client.compute(&square(12))?, 144); // read back, not run
//! assert_eq!(RUNS.load(Ordering::SeqCst), 1);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), delayed::Error>(())
//! ```

mod disk;
mod recipe;
#[cfg(feature = "distributed")]
mod redis;
mod verdict;

use std::fmt;
use std::sync::Arc;

pub use disk::DiskStore;
pub(crate) use recipe::{Envelope, Lineage, Recipe, Spec, entry_key};
#[cfg(feature = "distributed")]
pub use redis::RedisStore;
pub use verdict::{Miss, Verdict};

/// Where cached results live: bytes under string keys. [`DiskStore`] is
/// the embedded default; with the `distributed` feature, [`RedisStore`]
/// shares hits between machines. Implement it for another store and give
/// it to [`ClientBuilder::cache_store`](crate::ClientBuilder::cache_store).
///
/// A store never needs to check what it returns: every entry carries its
/// own checksum and type, and an entry that does not decode is a miss.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// /// A store for one process: handy in tests.
/// #[derive(Default)]
/// struct InMemory(Mutex<HashMap<String, Vec<u8>>>);
///
/// impl delayed::cache::Store for InMemory {
///     fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
///         Ok(self.0.lock().unwrap().get(key).cloned())
///     }
///     fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
///         self.0.lock().unwrap().insert(key.to_owned(), bytes.to_vec());
///         Ok(())
///     }
/// }
///
/// #[delayed::delayed(cache)]
/// fn double(x: u32) -> u32 { x * 2 }
///
/// let store = std::sync::Arc::new(InMemory::default());
/// let client = delayed::Client::builder().cache_store(store.clone()).build()?;
/// assert_eq!(client.compute(&double(4))?, 8);
/// assert_eq!(store.0.lock().unwrap().len(), 2); // the value, and what it was made of
/// # Ok::<(), delayed::Error>(())
/// ```
pub trait Store: Send + Sync {
    /// The bytes under `key`, if any. An error is a miss, with a warning.
    fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>>;

    /// Stores `bytes` under `key`, replacing what was there. Readers must
    /// never see part of a write. An error leaves the task uncached, with
    /// a warning.
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;

    /// Waits until no other process computes `key`, then claims it until
    /// the returned guard is dropped, so that processes racing on one key
    /// compute it once: the others wait, then read it. `Ok(None)` (the
    /// default) for a store with no locks: racers then each compute it.
    ///
    /// A claim is a lease: it ends when its holder ends, even by a crash,
    /// and a waiter gives up after the store's lease ([`DEFAULT_LEASE`]
    /// unless it says otherwise) and computes the value itself.
    fn lock(&self, key: &str) -> std::io::Result<Option<Box<dyn Send>>> {
        let _ = key;
        Ok(None)
    }
}

/// How long a process waits for another's claim on a key, unless a store
/// is told otherwise ([`DiskStore::lease`]): 10 minutes.
///
/// ```
/// assert_eq!(delayed::cache::DEFAULT_LEASE.as_secs(), 600);
/// ```
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(600);

/// A client's cache: its store and salt.
#[derive(Clone)]
pub(crate) struct Cache {
    pub(crate) store: Arc<dyn Store>,
    /// The hash of the client's salt (`cache_salt`), part of every key.
    pub(crate) salt: u128,
}

impl Cache {
    /// The recipe last written at `lineage`, if any can be read.
    pub(crate) fn recipe_at(&self, lineage: Lineage) -> Option<Recipe> {
        let bytes = self.store.get(&lineage.store_key()).ok().flatten()?;
        Recipe::from_bytes(&bytes)
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").field("salt", &self.salt).finish()
    }
}

/// A stable 128-bit hash: the same on every machine, build and run.
pub(crate) fn hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

#[doc(hidden)]
pub mod __private {
    pub use super::recipe::{CacheArg, Cacheable, encoder, spec};
}
