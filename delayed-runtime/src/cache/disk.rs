//! [`DiskStore`]: entries in a directory, through cacache.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cacache::{Algorithm, RemoveOpts, WriteOpts};

use super::Store;
use crate::sync::{Mutex, lock};

/// The embedded store: a directory that many processes may share, written
/// through [cacache](https://docs.rs/cacache), npm's content-addressed
/// cache.
///
/// - **Atomic writes.** An entry is written to a temporary file and
///   renamed into place, and its index line carries its own hash: a run
///   that crashes mid-write leaves nothing that reads as an entry.
/// - **Checked reads.** Every read checks the content against its xxh3
///   hash: a corrupt entry is a miss (with a warning), never a value.
/// - **A size limit** ([`limit`](DiskStore::limit)): when the entries
///   outgrow it, the least recently used go until they fill three
///   quarters of it. A hit counts as a use at most once an hour, which
///   keeps a hit a read.
/// - **Claims** ([`Store::lock`]): a file lock per key, which the system
///   drops when its process ends, however it ends.
///
/// ```
/// use delayed::cache::{DiskStore, Store};
///
/// let dir = std::env::temp_dir().join(format!("delayed-doc-disk-{}", std::process::id()));
/// let store = DiskStore::open(&dir).limit(64 << 20);
/// store.put("answer", b"42")?;
/// assert_eq!(store.get("answer")?, Some(b"42".to_vec()));
/// assert_eq!(store.get("question")?, None);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct DiskStore {
    dir: PathBuf,
    limit: Option<u64>,
    /// How old a hit's recorded use may get before a hit records it again.
    touch_after: Duration,
    /// How long a process waits for another's claim.
    lease: Duration,
    /// Bytes of entries, as this process last counted them, plus what it
    /// wrote since; `u64::MAX` until first counted.
    used: AtomicU64,
    evicting: Mutex<()>,
    /// The stripes this process holds, and for which of its keys: a claim
    /// keeps other processes out, and this one's tasks of the same key.
    held: Arc<Held>,
}

/// How old a hit's recorded use may get before a hit records it again.
const TOUCH_AFTER: Duration = Duration::from_secs(3600);

/// Entries up to this size live in their index line, with their hash,
/// rather than in a file of their own: one file appended to instead of a
/// file created, written and renamed (on this machine's ext4, 0.1 ms for
/// each file created).
const INLINE: usize = 2048;

/// Claims are file locks on this many files, each key's chosen by its
/// hash: a fixed set, created once, where a file per key would be created
/// for every miss.
const STRIPES: u64 = 4096;

impl DiskStore {
    /// A store in `dir`, created when first written. Opening never fails:
    /// a directory that cannot be read or written makes every lookup a
    /// miss and every write a warning, and the computes go on uncached.
    ///
    /// ```
    /// let store = delayed::cache::DiskStore::open("target/doc-cache");
    /// assert_eq!(store.dir(), std::path::Path::new("target/doc-cache"));
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> DiskStore {
        DiskStore {
            dir: dir.as_ref().to_owned(),
            limit: None,
            touch_after: TOUCH_AFTER,
            lease: super::DEFAULT_LEASE,
            used: AtomicU64::new(u64::MAX),
            evicting: Mutex::new(()),
            held: Arc::default(),
        }
    }

    /// Keeps the entries under `bytes` in all, evicting the least recently
    /// used. Without it the store grows without bound.
    ///
    /// ```
    /// let store = delayed::cache::DiskStore::open("target/doc-cache").limit(1 << 30);
    /// assert_eq!(store.size_limit(), Some(1 << 30));
    /// ```
    pub fn limit(mut self, bytes: u64) -> DiskStore {
        self.limit = Some(bytes);
        self
    }

    /// How long a process waits for another's claim on a key before it
    /// computes the value itself (10 minutes unless set): longer than the
    /// slowest cached task, so that racing processes never compute one
    /// twice. A claim of a process that ends, however it ends, goes at
    /// once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = delayed::cache::DiskStore::open("target/doc-cache").lease(Duration::from_secs(3600));
    /// # let _ = store;
    /// ```
    pub fn lease(mut self, lease: Duration) -> DiskStore {
        self.lease = lease;
        self
    }

    /// The size limit, if any.
    ///
    /// ```
    /// assert_eq!(delayed::cache::DiskStore::open("target/doc-cache").size_limit(), None);
    /// ```
    pub fn size_limit(&self) -> Option<u64> {
        self.limit
    }

    /// The directory.
    ///
    /// ```
    /// let store = delayed::cache::DiskStore::open("target/doc-cache");
    /// assert!(store.dir().ends_with("doc-cache"));
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Evicts the least recently used entries until they fill three
    /// quarters of the limit.
    fn evict(&self, limit: u64) {
        let _one_at_a_time = lock(&self.evicting);
        let mut entries: Vec<cacache::Metadata> = cacache::index::ls(&self.dir)
            .filter_map(Result::ok)
            .collect();
        let mut used: u64 = entries.iter().map(|entry| entry.size as u64).sum();
        if used > limit {
            entries.sort_by_key(|entry| entry.time);
            let target = limit / 4 * 3;
            for entry in entries {
                if used <= target {
                    break;
                }
                // Another process may have removed it first.
                let _ = match entry.raw_metadata {
                    Some(_) => cacache::index::delete(&self.dir, &entry.key),
                    None => RemoveOpts::new()
                        .remove_fully(true)
                        .remove_sync(&self.dir, &entry.key),
                };
                used = used.saturating_sub(entry.size as u64);
            }
        }
        self.used.store(used, Ordering::Relaxed);
    }

    /// The lock file of `key`'s stripe.
    fn stripe(&self, key: &str) -> (u64, PathBuf) {
        let stripe = xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % STRIPES;
        (stripe, self.dir.join("locks").join(format!("{stripe:03x}")))
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

fn io_error(error: cacache::Error) -> io::Error {
    match error {
        cacache::Error::IoError(source, context) => {
            io::Error::new(source.kind(), format!("{context}: {source}"))
        }
        other => io::Error::other(other.to_string()),
    }
}

impl Store for DiskStore {
    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(entry) = cacache::index::find(&self.dir, key).map_err(io_error)? else {
            return Ok(None);
        };
        let inline = entry.raw_metadata.is_some();
        let bytes = match entry.raw_metadata {
            // An entry in its index line.
            Some(bytes) => match entry.integrity.check(&bytes) {
                Ok(_) => bytes,
                Err(error) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        error.to_string(),
                    ));
                }
            },
            None => match cacache::read_hash_sync(&self.dir, &entry.integrity) {
                Ok(bytes) => bytes,
                // Evicted under another key with the same content: a miss.
                Err(cacache::Error::IoError(source, _))
                    if source.kind() == io::ErrorKind::NotFound =>
                {
                    return Ok(None);
                }
                Err(error) => return Err(io_error(error)),
            },
        };
        let now = now_ms();
        if self.limit.is_some() && now.saturating_sub(entry.time) > self.touch_after.as_millis() {
            // Recorded as used now, for eviction; a failure only makes the
            // entry look older than it is.
            let touch = WriteOpts::new()
                .integrity(entry.integrity)
                .size(entry.size)
                .time(now);
            let touch = match inline {
                true => touch.raw_metadata(bytes.clone()),
                false => touch,
            };
            let _ = cacache::index::insert(&self.dir, key, touch);
        }
        Ok(Some(bytes))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() <= INLINE {
            let inline = WriteOpts::new()
                .integrity(cacache::Integrity::from(bytes))
                .size(bytes.len())
                .raw_metadata(bytes.to_vec());
            cacache::index::insert(&self.dir, key, inline).map_err(io_error)?;
        } else {
            cacache::write_sync_with_algo(Algorithm::Xxh3, &self.dir, key, bytes)
                .map_err(io_error)?;
        }
        if let Some(limit) = self.limit {
            let before = self.used.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            if before == u64::MAX || before.saturating_add(bytes.len() as u64) > limit {
                self.evict(limit);
            }
        }
        Ok(())
    }

    fn lock(&self, key: &str) -> io::Result<Option<Box<dyn Send>>> {
        let (stripe, path) = self.stripe(key);
        let deadline = Instant::now() + self.lease;
        let claim = |stripe| Claim {
            held: self.held.clone(),
            stripe,
            key: key.to_owned(),
        };
        let mut file: Option<File> = None;
        let mut pause = Duration::from_millis(1);
        let mut held = self.held.0.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match held.get_mut(&stripe) {
                // Another task of this process computes this very key:
                // wait for it, then read what it wrote.
                Some(claimed) if claimed.keys.contains(key) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    if wait.is_zero() {
                        return Ok(None);
                    }
                    held = self
                        .held
                        .1
                        .wait_timeout(held, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    continue;
                }
                // This process holds the stripe, for other keys: shared.
                Some(claimed) => {
                    claimed.keys.insert(key.to_owned());
                    return Ok(Some(Box::new(claim(stripe))));
                }
                None => {}
            }
            // The stripe's file, opened (perhaps created) without holding
            // up this process's other claims, then looked at again.
            let Some(opened) = &file else {
                drop(held);
                std::fs::create_dir_all(path.parent().expect("a lock is in `locks/`"))?;
                let opened = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)?;
                file = Some(opened);
                held = self.held.0.lock().unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            match opened.try_lock() {
                Ok(()) => {
                    let file = file.take().expect("the file was just locked");
                    let keys = std::iter::once(key.to_owned()).collect();
                    held.insert(stripe, Stripe { _file: file, keys });
                    return Ok(Some(Box::new(claim(stripe))));
                }
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    // Another process holds it: wait a little, letting
                    // this process's tasks claim and release meanwhile.
                    drop(held);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                    held = self.held.0.lock().unwrap_or_else(PoisonError::into_inner);
                }
                // Held past its lease: compute it anyway.
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(error)) => return Err(error),
            }
        }
    }
}

/// The stripes this process holds, each with the keys its tasks claimed,
/// and the signal that a key was released.
#[derive(Default)]
struct Held(std::sync::Mutex<HashMap<u64, Stripe>>, Condvar);

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Held")
    }
}

/// A stripe's locked file, and the keys of this process's claims on it.
struct Stripe {
    _file: File,
    keys: HashSet<String>,
}

/// A claim on a key: its stripe's lock, shared by this process's other
/// claims in the stripe, goes with the last of them.
struct Claim {
    held: Arc<Held>,
    stripe: u64,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut held = self.held.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(claimed) = held.get_mut(&self.stripe) {
            claimed.keys.remove(&self.key);
            if claimed.keys.is_empty() {
                // Closing the file releases its lock.
                held.remove(&self.stripe);
            }
        }
        drop(held);
        self.held.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("delayed-disk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_least_recently_written_entries_go_first() {
        let dir = scratch("evict");
        let store = DiskStore::open(&dir).limit(10_000);
        for i in 0..30 {
            store.put(&format!("k{i}"), &vec![i as u8; 1_000]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let kept: Vec<usize> = (0..30)
            .filter(|i| store.get(&format!("k{i}")).unwrap().is_some())
            .collect();
        assert!(kept.len() <= 10 && kept.len() >= 5, "{kept:?}");
        // The newest survive, in one run at the end.
        assert_eq!(kept.last(), Some(&29));
        assert!(kept.windows(2).all(|w| w[1] == w[0] + 1), "{kept:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_read_recently_outlives_older_writes() {
        let dir = scratch("lru");
        let mut store = DiskStore::open(&dir).limit(10_000);
        // Every hit records its use (an hour apart in real use).
        store.touch_after = Duration::ZERO;
        for i in 0..8 {
            store.put(&format!("k{i}"), &vec![i as u8; 1_000]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        // The oldest write is read: it becomes the most recently used.
        assert!(store.get("k0").unwrap().is_some());
        std::thread::sleep(Duration::from_millis(2));
        for i in 8..12 {
            store.put(&format!("k{i}"), &vec![i as u8; 1_000]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let kept: Vec<usize> = (0..12)
            .filter(|i| store.get(&format!("k{i}")).unwrap().is_some())
            .collect();
        assert!(kept.contains(&0), "{kept:?}");
        assert!(!kept.contains(&1), "{kept:?}");
        assert!(kept.contains(&11), "{kept:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_claim_holds_off_another_until_dropped() {
        let dir = scratch("claim");
        let store = std::sync::Arc::new(DiskStore::open(&dir));
        let claim = store.lock("k").unwrap().expect("a disk store has claims");
        let other = store.clone();
        let waiter = std::thread::spawn(move || {
            let started = Instant::now();
            let claim = other.lock("k").unwrap();
            (started.elapsed(), claim.is_some())
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(claim);
        let (waited, claimed) = waiter.join().unwrap();
        assert!(claimed);
        assert!(waited >= Duration::from_millis(90), "{waited:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn claims_on_other_keys_of_a_stripe_do_not_wait_in_one_process() {
        let dir = scratch("stripe");
        let store = Arc::new(DiskStore::open(&dir));
        let first = "k0".to_string();
        let (stripe, _) = store.stripe(&first);
        let other = (1..)
            .map(|i| format!("k{i}"))
            .find(|key| store.stripe(key).0 == stripe)
            .unwrap();
        let claim = store.lock(&first).unwrap().expect("a claim");
        // Same stripe, other key, same process: shared at once (a wait
        // would last the lease: the test gives it 10 s).
        let (sender, receiver) = std::sync::mpsc::channel();
        let sharing = store.clone();
        std::thread::spawn(move || {
            let shared = sharing.lock(&other).unwrap().is_some();
            let _ = sender.send(shared);
        });
        let shared = receiver.recv_timeout(Duration::from_secs(10));
        assert_eq!(shared, Ok(true));
        drop(claim);
        assert!(lock_free(&store));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Whether this process holds no stripe.
    fn lock_free(store: &DiskStore) -> bool {
        store.held.0.lock().unwrap().is_empty()
    }
}
