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
