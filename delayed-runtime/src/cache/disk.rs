//! [`DiskStore`]: entries in a directory, through cacache.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Bytes of entries, as this process last counted them, plus what it
    /// wrote since; `u64::MAX` until first counted.
    used: AtomicU64,
    evicting: Mutex<()>,
}

/// How old a hit's recorded use may get before a hit records it again.
const TOUCH_AFTER: Duration = Duration::from_secs(3600);

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
            used: AtomicU64::new(u64::MAX),
            evicting: Mutex::new(()),
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
    /// quarters of the limit; returns the bytes left.
    fn evict(&self, limit: u64) -> io::Result<u64> {
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
                let _ = RemoveOpts::new()
                    .remove_fully(true)
                    .remove_sync(&self.dir, &entry.key);
                let _ = std::fs::remove_file(self.lock_path(&entry.key));
                used = used.saturating_sub(entry.size as u64);
            }
        }
        self.used.store(used, Ordering::Relaxed);
        Ok(used)
    }

    fn lock_path(&self, key: &str) -> PathBuf {
        self.dir.join("locks").join(key)
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
        let bytes = match cacache::read_hash_sync(&self.dir, &entry.integrity) {
            Ok(bytes) => bytes,
            // Evicted under another key with the same content: a miss.
            Err(cacache::Error::IoError(source, _)) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(error) => return Err(io_error(error)),
        };
        let now = now_ms();
        if self.limit.is_some() && now.saturating_sub(entry.time) > TOUCH_AFTER.as_millis() {
            // Recorded as used now, for eviction; a failure only makes the
            // entry look older than it is.
            let touch = WriteOpts::new()
                .integrity(entry.integrity)
                .size(entry.size)
                .time(now);
            let _ = cacache::index::insert(&self.dir, key, touch);
        }
        Ok(Some(bytes))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        cacache::write_sync_with_algo(Algorithm::Xxh3, &self.dir, key, bytes).map_err(io_error)?;
        if let Some(limit) = self.limit {
            let before = self.used.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            if before == u64::MAX || before.saturating_add(bytes.len() as u64) > limit {
                self.evict(limit)?;
            }
        }
        Ok(())
    }

    fn lock(&self, key: &str) -> io::Result<Option<Box<dyn Send>>> {
        let path = self.lock_path(key);
        std::fs::create_dir_all(path.parent().expect("a lock is in `locks/`"))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        let deadline = Instant::now() + self.lease();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(Box::new(Claim(file)))),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                // Held past its lease: compute it anyway.
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(error)) => return Err(error),
            }
        }
    }
}

/// A claim on a key: the lock goes with the file.
struct Claim(#[allow(dead_code)] File);

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
}
