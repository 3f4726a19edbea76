//! A pairwise reduction, shared with the integration tests
//! (`tests/common/mod.rs` includes this file), which cannot depend on
//! the benchmark crate.

use delayed::Delayed;

/// Reduces `level` pairwise with `combine`, level by level, to one handle
/// (an odd one out goes up a level as it is).
///
/// ```
/// let sum = delayed_bench::pairwise((1..=4).map(delayed::value).collect(), |a, b| delayed_bench::add(a, b));
/// assert_eq!(sum.compute()?, 10);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Panics
///
/// If `level` is empty.
pub fn pairwise<T>(
    mut level: Vec<Delayed<T>>,
    combine: impl Fn(&Delayed<T>, &Delayed<T>) -> Delayed<T>,
) -> Delayed<T> {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => combine(a, b),
                [a] => a.clone(),
                _ => unreachable!("chunks of two are not empty"),
            })
            .collect();
    }
    level.pop().expect("at least one handle to reduce")
}
