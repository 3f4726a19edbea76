//! A pairwise reduction, shared with the integration tests
//! (`tests/common/mod.rs` includes this file), which cannot depend on
//! the benchmark crate.

use delayed::Delayed;

/// Reduces `level` pairwise with `combine`, level by level, to one handle
/// (an odd one out goes up a level as it is).
///
/// Each handle is moved into the task that combines it, so building a
/// level never touches the nodes of the level before: passing them by
/// reference would clone each one into its task (a write to its count)
/// and drop it again with its level (a second write), two cache misses
/// a task once the graph is larger than the cache.
///
/// ```
/// let sum = delayed_bench::pairwise((1..=4).map(delayed::value).collect(), delayed_bench::add);
/// assert_eq!(sum.compute()?, 10);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Panics
///
/// If `level` is empty.
pub fn pairwise<T>(
    mut level: Vec<Delayed<T>>,
    combine: impl Fn(Delayed<T>, Delayed<T>) -> Delayed<T>,
) -> Delayed<T> {
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut handles = level.into_iter();
        while let Some(a) = handles.next() {
            next.push(match handles.next() {
                Some(b) => combine(a, b),
                None => a,
            });
        }
        level = next;
    }
    level.pop().expect("at least one handle to reduce")
}
