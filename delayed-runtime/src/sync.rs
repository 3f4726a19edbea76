//! The synchronisation primitives the scheduler's protocol is built on:
//! the standard library's, or `loom`'s when the crate is built with
//! `--cfg delayed_loom` so that the model checks in `executor::slots` can
//! explore every interleaving (see `executor/README.md`).

#[cfg(delayed_loom)]
pub(crate) use loom::sync::atomic::{AtomicIsize, AtomicU8, AtomicUsize};
#[cfg(delayed_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(delayed_loom)]
pub(crate) use loom::thread::yield_now;

#[cfg(not(delayed_loom))]
pub(crate) use std::sync::atomic::{AtomicIsize, AtomicU8, AtomicUsize};
#[cfg(not(delayed_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(delayed_loom))]
pub(crate) use std::thread::yield_now;

/// Locks a mutex that no code panics while holding; recovers the data if
/// that ever changes rather than spreading the panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A process-wide map from `key` to a value made once by `make`, kept
/// for the life of the process: what the crate stores once per function
/// (a name given at run time, a shared call). Each thread reads through
/// its own copy, `known`, so that a lookup made for every task of a
/// large graph takes no lock once the thread has met the key; `all`
/// makes sure that threads meeting a key at once get the same value.
///
/// The maps are the standard library's, not loom's: their statics need
/// `const` constructors, and no loom model involves them.
pub(crate) fn interned<K: Ord + Copy, V: Copy>(
    known: &'static std::thread::LocalKey<std::cell::RefCell<std::collections::BTreeMap<K, V>>>,
    all: &'static std::sync::Mutex<std::collections::BTreeMap<K, V>>,
    key: K,
    make: impl FnOnce() -> V,
) -> V {
    known.with_borrow_mut(|known| {
        *known.entry(key).or_insert_with(|| {
            let mut all = all
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *all.entry(key).or_insert_with(make)
        })
    })
}
