//! The large arrays of a compute, kept a while for the next one.
//!
//! A compute numbers its graph's nodes into arrays with an entry per task
//! (the graph's edges, each task's pending count and result slot): about
//! 60 bytes a task. glibc's allocator maps an array of more than 32 MB
//! afresh for every compute and unmaps it after, so each compute of a
//! large graph had the kernel fault in and zero those pages again. At
//! 10^7 tasks that cost more than anything else that grows with the
//! graph (`docs/performance.md`, "Flat cost to 10^7").
//!
//! So a compute gives its large arrays back here when it ends, emptied,
//! and the next compute takes them and fills them again. An array no
//! compute has needed for [`DECAY`] is freed by a thread that lives only
//! while something is kept.
//!
//! Only a process that computes large graphs over and over keeps them:
//! a large compute keeps its arrays when another ended less than
//! [`DECAY`] before it ([`Pool::ending`]), as glibc raises its own
//! threshold once it has seen a large block freed. A small compute in
//! between may take kept arrays for its graph, whose length it does not
//! know yet, and gives them back when it ends. A one-off compute
//! frees them as before, so its peak memory is unchanged: its outputs
//! are collected where its arrays were. Kept arrays do add to the peak of
//! the next compute's end, by about 20 bytes a task for a wide graph
//! whose every task is an output. Arrays under [`MIN_BYTES`] are left to the
//! allocator, which keeps memory of that size in its heap anyway: they
//! are neither kept nor taken from here.
//!
//! ```text
//! compute 1: take (fresh) ──► fill ──► give ──┐ kept, emptied
//! compute 2: take ◄───────────────────────────┘ no page faulted again
//! ...idle for DECAY: freed
//! ```

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an array is kept when no compute needs it: the time jemalloc
/// waits, by default, before it gives unused pages back to the system.
pub(crate) const DECAY: Duration = Duration::from_secs(10);

/// Arrays smaller than this are freed as usual.
pub(crate) const MIN_BYTES: usize = 1 << 20;

/// The arrays of the process's computes.
static POOL: Pool = Pool::new(DECAY);

/// An empty vector for `len` entries of `T` (`len` is a hint: 0 where the
/// compute does not know it yet): a kept one, when there is one, else a
/// new one.
pub(crate) fn take<T: Send + 'static>(len: usize) -> Vec<T> {
    if cfg!(delayed_loom) {
        // Loom's primitives cannot outlive the model that made them.
        return Vec::with_capacity(len);
    }
    POOL.take(len)
}

/// How a compute that ends gives its arrays back: kept for the next
/// compute, or freed.
#[derive(Clone, Copy)]
pub(crate) struct Return {
    /// Where the arrays go; `None` frees them.
    pool: Option<&'static Pool>,
}

impl Return {
    /// For a compute ending now whose largest array holds `bytes`: see
    /// [`Pool::ending`].
    pub(crate) fn after(bytes: usize) -> Return {
        if cfg!(delayed_loom) {
            return Return { pool: None };
        }
        POOL.ending(bytes)
    }

    /// Gives back one of the compute's vectors: its entries are dropped
    /// now, and its memory is kept for the next compute if it is large
    /// and computes keep coming, freed otherwise.
    pub(crate) fn give<T: Send + 'static>(self, vec: Vec<T>) {
        if let Some(pool) = self.pool {
            pool.give(vec)
        }
    }
}

/// Kept arrays, a few of each type, and the thread that frees them.
///
/// Plain `std` primitives, not loom's (`crate::sync`): the statics need
/// `const` constructors, and no loom model takes or gives an array this
/// large.
pub(crate) struct Pool {
    shelf: Mutex<Shelf>,
    /// Whether the shelf may hold an array: a compute with nothing to
    /// take reads this and takes no lock.
    any: AtomicBool,
    /// Whether a thread is freeing arrays as they expire.
    reaping: AtomicBool,
    decay: Duration,
    /// How many times a compute took a kept array (for tests).
    reused: AtomicUsize,
}

/// At most this many arrays of one type are kept: a compute uses four
/// `Vec<u32>`, and a few computes may end at once.
const PER_TYPE: usize = 8;

struct Shelf {
    arrays: Vec<Kept>,
    /// Per type: when a compute last filled at least a quarter of an array
    /// of it. Arrays of a type no compute needed for the decay are freed:
    /// computes that need a sliver of a large array do not keep it alive.
    needed: Vec<(TypeId, Instant)>,
    /// When the last large compute ended.
    large: Option<Instant>,
}

/// A kept array: an empty `Vec` of the type `of`.
struct Kept {
    of: TypeId,
    vec: Box<dyn Any + Send>,
    bytes: usize,
}

impl Pool {
    pub(crate) const fn new(decay: Duration) -> Pool {
        Pool {
            shelf: Mutex::new(Shelf {
                arrays: Vec::new(),
                needed: Vec::new(),
                large: None,
            }),
            any: AtomicBool::new(false),
            reaping: AtomicBool::new(false),
            decay,
            reused: AtomicUsize::new(0),
        }
    }

    fn shelf(&self) -> std::sync::MutexGuard<'_, Shelf> {
        self.shelf.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a compute ending now, whose largest array holds `bytes`,
    /// keeps its arrays: a large one does when another ended less than
    /// the decay ago.
    pub(crate) fn keeping(&self, bytes: usize) -> bool {
        if bytes < MIN_BYTES {
            return false;
        }
        let now = Instant::now();
        let last = self.shelf().large.replace(now);
        last.is_some_and(|last| now < last + self.decay)
    }

    /// How a compute ending now, whose largest array holds `bytes`, gives
    /// its arrays back. A large one keeps them when another ended less
    /// than the decay ago ([`Pool::keeping`]). A small one gives them all
    /// back: its own are too small to keep (`give` frees them), and those
    /// it took from here (its graph's, whose length was not known) go
    /// back on the shelf rather than being freed between two large
    /// computes.
    pub(crate) fn ending(&'static self, bytes: usize) -> Return {
        let keep = bytes < MIN_BYTES || self.keeping(bytes);
        Return {
            pool: keep.then_some(self),
        }
    }

    pub(crate) fn take<T: Send + 'static>(&self, len: usize) -> Vec<T> {
        let wanted = len * size_of::<T>();
        // A small compute known to be small takes no lock.
        let small = len > 0 && wanted < MIN_BYTES;
        if !small && self.any.load(Ordering::Acquire) {
            let kept = {
                let mut shelf = self.shelf();
                let mine = (shelf.arrays.iter().enumerate())
                    .filter(|(_, kept)| kept.of == TypeId::of::<T>());
                // The smallest that holds `len`; else (or with no length
                // known) the largest, which grows.
                let at = (mine.clone())
                    .filter(|(_, kept)| len > 0 && kept.bytes >= wanted)
                    .min_by_key(|(_, kept)| kept.bytes)
                    .or_else(|| mine.max_by_key(|(_, kept)| kept.bytes))
                    .map(|(at, _)| at);
                at.map(|at| shelf.arrays.swap_remove(at))
            };
            if let Some(kept) = kept {
                let mut vec = *kept
                    .vec
                    .downcast::<Vec<T>>()
                    .expect("kept arrays are filed by their type");
                // A larger vector grows in place or is remapped: the pages
                // it has stay faulted in.
                vec.reserve(len);
                self.reused.fetch_add(1, Ordering::Relaxed);
                return vec;
            }
        }
        Vec::with_capacity(len)
    }

    pub(crate) fn give<T: Send + 'static>(&'static self, mut vec: Vec<T>) {
        let bytes = vec.capacity() * size_of::<T>();
        if bytes < MIN_BYTES {
            return;
        }
        let needed = vec.len() >= vec.capacity() / 4;
        vec.clear();
        let of = TypeId::of::<T>();
        let now = Instant::now();
        let mut shelf = self.shelf();
        match shelf.needed.iter_mut().find(|(type_id, _)| *type_id == of) {
            Some((_, at)) if needed => *at = now,
            Some(_) => {}
            None => shelf.needed.push((of, now)),
        }
        let kept = Kept {
            of,
            vec: Box::new(vec),
            bytes,
        };
        let mine = (shelf.arrays.iter().enumerate()).filter(|(_, kept)| kept.of == of);
        let mut freed = vec![];
        if mine.clone().count() < PER_TYPE {
            shelf.arrays.push(kept);
        } else {
            // The shelf is full: the largest are kept.
            let (at, smallest) = (mine.min_by_key(|(_, kept)| kept.bytes))
                .map(|(at, kept)| (at, kept.bytes))
                .expect("the shelf holds arrays of this type");
            if smallest < bytes {
                freed.push(std::mem::replace(&mut shelf.arrays[at], kept));
            } else {
                freed.push(kept);
            }
        }
        self.any.store(true, Ordering::Release);
        if !self.reaping.swap(true, Ordering::AcqRel) {
            let spawned = std::thread::Builder::new()
                .name("delayed-scratch".into())
                .spawn(move || self.reap());
            if spawned.is_err() {
                // Without a thread to free them, arrays are not kept.
                self.reaping.store(false, Ordering::Release);
                freed.append(&mut shelf.arrays);
            }
        }
        // Outside the lock: unmapping a large array takes a while.
        drop(shelf);
        drop(freed);
    }

    /// Frees each type's arrays when they expire; returns once none is
    /// kept.
    fn reap(&self) {
        loop {
            let now = Instant::now();
            let (expired, next) = {
                let mut shelf = self.shelf();
                let Shelf { arrays, needed, .. } = &mut *shelf;
                let expires = |of: TypeId| {
                    let needed = needed.iter().find(|(type_id, _)| *type_id == of);
                    needed.map_or(now, |(_, at)| *at + self.decay)
                };
                let (expired, kept): (Vec<Kept>, Vec<Kept>) =
                    arrays.drain(..).partition(|kept| now >= expires(kept.of));
                let next = kept.iter().map(|kept| expires(kept.of)).min();
                *arrays = kept;
                if next.is_none() {
                    needed.clear();
                    // Computes take no lock again until an array is kept.
                    self.any.store(false, Ordering::Release);
                    // Under the lock: a `give` after this starts a thread.
                    self.reaping.store(false, Ordering::Release);
                }
                (expired, next)
            };
            // Outside the lock: unmapping a large array takes a while.
            drop(expired);
            match next {
                Some(at) => std::thread::sleep(at.saturating_duration_since(Instant::now())),
                None => return,
            }
        }
    }

    /// The bytes of the arrays kept now.
    #[cfg(test)]
    fn kept_bytes(&self) -> usize {
        self.shelf().arrays.iter().map(|kept| kept.bytes).sum()
    }
}

/// How many times a compute took a kept array.
#[cfg(test)]
pub(crate) fn reused() -> usize {
    POOL.reused.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: usize = MIN_BYTES / 8;

    fn pool(decay: Duration) -> &'static Pool {
        Box::leak(Box::new(Pool::new(decay)))
    }

    fn full(len: usize) -> Vec<u64> {
        (0..len as u64).collect()
    }

    /// Polls `done` for up to ten seconds.
    fn eventually(done: impl Fn() -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        done()
    }

    #[test]
    fn a_large_array_given_back_is_taken_again_empty_with_its_memory() {
        let pool = pool(Duration::from_secs(600));
        let vec = full(BIG);
        let at = vec.as_ptr();
        pool.give(vec);
        assert_eq!(pool.kept_bytes(), BIG * 8);
        let again: Vec<u64> = pool.take(BIG);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        assert_eq!(pool.kept_bytes(), 0);
        // Another type is not given this one's array.
        pool.give(again);
        let other: Vec<u32> = pool.take(0);
        assert_eq!(other.capacity(), 0);
        assert_eq!(pool.kept_bytes(), BIG * 8);
    }

    #[test]
    fn a_taken_array_grows_to_the_length_asked() {
        let pool = pool(Duration::from_secs(600));
        pool.give(full(BIG));
        let vec: Vec<u64> = pool.take(4 * BIG);
        assert!(vec.capacity() >= 4 * BIG);
    }

    #[test]
    fn a_large_compute_keeps_its_arrays_only_soon_after_another() {
        let pool = pool(Duration::from_secs(600));
        assert!(!pool.keeping(MIN_BYTES), "the first large compute");
        assert!(pool.keeping(MIN_BYTES));
        assert!(!pool.keeping(MIN_BYTES - 1), "a small compute");
        let pool = self::pool(Duration::from_millis(20));
        assert!(!pool.keeping(MIN_BYTES));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!pool.keeping(MIN_BYTES), "the one before is too long ago");
    }

    #[test]
    fn a_small_compute_gives_back_the_kept_arrays_it_took() {
        let pool = pool(Duration::from_secs(600));
        pool.give(full(BIG)); // the arrays of a large compute
        // A small compute's graph, whose length it did not know.
        let mut graph: Vec<u64> = pool.take(0);
        assert_eq!(graph.capacity(), BIG);
        graph.extend(0..10);
        let back = pool.ending(10 * size_of::<u64>());
        back.give(graph);
        back.give(full(10));
        assert_eq!(pool.kept_bytes(), BIG * 8, "freed between large computes");
    }

    #[test]
    fn small_arrays_are_neither_kept_nor_taken() {
        let pool = pool(Duration::from_secs(600));
        pool.give(full(BIG - 1));
        assert_eq!(pool.kept_bytes(), 0);
        assert!(!pool.reaping.load(Ordering::Acquire));
        pool.give(full(BIG));
        assert_eq!(pool.take::<u64>(BIG - 1).capacity(), BIG - 1);
        assert_eq!(pool.kept_bytes(), BIG * 8);
    }

    #[test]
    fn a_few_arrays_of_one_type_are_kept_the_largest() {
        let pool = pool(Duration::from_secs(600));
        for _ in 0..PER_TYPE {
            pool.give(full(BIG));
        }
        pool.give(full(3 * BIG));
        pool.give(full(BIG));
        assert_eq!(pool.kept_bytes(), (PER_TYPE + 2) * BIG * 8);
        // The smallest that holds the length asked; the largest otherwise.
        assert_eq!(pool.take::<u64>(2 * BIG).capacity(), 3 * BIG);
        assert_eq!(pool.take::<u64>(BIG).capacity(), BIG);
        pool.give(full(3 * BIG));
        assert_eq!(pool.take::<u64>(0).capacity(), 3 * BIG);
    }

    #[test]
    fn entries_are_dropped_when_given_back() {
        let pool = pool(Duration::from_secs(600));
        let shared = std::sync::Arc::new(());
        pool.give(vec![shared.clone(); BIG]);
        assert_eq!(std::sync::Arc::strong_count(&shared), 1);
    }

    #[test]
    fn an_array_no_compute_needs_is_freed_after_the_decay_and_the_thread_ends() {
        let pool = pool(Duration::from_millis(50));
        pool.give(full(BIG));
        assert!(eventually(|| pool.kept_bytes() == 0));
        assert!(eventually(|| !pool.reaping.load(Ordering::Acquire)));
        assert!(
            !pool.any.load(Ordering::Acquire),
            "computes would still lock"
        );
        // A later array starts a thread again.
        pool.give(full(BIG));
        assert!(pool.reaping.load(Ordering::Acquire));
        assert!(eventually(|| pool.kept_bytes() == 0));
    }

    #[test]
    fn a_compute_that_fills_a_sliver_does_not_keep_the_array_alive() {
        let pool = pool(Duration::from_millis(300));
        pool.give(full(BIG));
        let start = Instant::now();
        // Small computes keep taking and giving it back, past its decay.
        let freed = eventually(|| {
            let mut vec: Vec<u64> = pool.take(0);
            vec.extend(0..10);
            pool.give(vec);
            pool.kept_bytes() == 0 && start.elapsed() > Duration::from_millis(300)
        });
        assert!(freed, "the array outlived its decay");
    }

    #[test]
    fn an_array_computes_keep_filling_outlives_its_decay() {
        let pool = pool(Duration::from_millis(100));
        pool.give(full(BIG));
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(500) {
            let mut vec: Vec<u64> = pool.take(BIG);
            vec.extend(0..BIG as u64);
            pool.give(vec);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(pool.kept_bytes(), BIG * 8);
        assert!(pool.reused.load(Ordering::Relaxed) >= 5);
    }
}
