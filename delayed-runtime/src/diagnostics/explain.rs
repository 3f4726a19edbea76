//! `cache::explain`: what the cache did for each cached task of a graph
//! in its last compute, and why each miss missed.

use std::fmt;

use crate::cache::Verdict;
use crate::computable::{Computable, graph_of};
use crate::key::Key;
use crate::sync::lock;

/// For each cached task behind `of`, in dependency order: whether its last
/// compute read it from the cache, and if not, which part of its key
/// changed since the last value written for it (see
/// [`Miss`](crate::cache::Miss)). Tasks of functions that are not
/// `#[delayed(cache)]` are left out. To ask before computing, what a
/// compute would read and run, see [`Client::explain`](crate::Client::explain).
///
/// ```
/// use delayed::{delayed, Client};
///
/// #[delayed(cache)]
/// fn load(day: u32) -> Vec<u32> { vec![day; 3] }
/// #[delayed(cache)]
/// fn total(rows: Vec<u32>) -> u32 { rows.iter().sum() }
///
/// let dir = std::env::temp_dir().join(format!("delayed-doc-explain-{}", std::process::id()));
/// let client = Client::builder().cache(&dir).build()?;
/// client.compute(&total(load(1)))?;
///
/// let again = total(load(1));
/// assert_eq!(delayed::cache::explain(&again).hits(), 0); // not computed yet
/// client.compute(&again)?;
/// let explained = delayed::cache::explain(&again);
/// assert_eq!(explained.hits(), 2);
///
/// let other_day = total(load(2));
/// client.compute(&other_day)?;
/// let explained = delayed::cache::explain(&other_day);
/// assert_eq!(explained.tasks()[0].verdict.to_string(), "miss: argument 1 changed");
/// assert_eq!(explained.tasks()[1].verdict.to_string(), "miss: input 1 changed");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn explain<C: Computable + ?Sized>(of: &C) -> Explanation {
    let graph = graph_of(of);
    let tasks = graph
        .nodes
        .iter()
        .filter_map(|node| {
            let cached = node.cached()?;
            let verdict = lock(&cached.verdict).clone();
            Some(TaskVerdict {
                key: node.key.clone(),
                verdict: verdict.unwrap_or(Verdict::NotComputed),
            })
        })
        .collect();
    Explanation { tasks }
}

/// What [`explain`] found: one [`TaskVerdict`] per cached task. Its
/// `Display` is one line per task and a count.
///
/// ```
/// # use delayed::{delayed, Client};
/// #[delayed(cache)]
/// fn one() -> u8 { 1 }
///
/// let explained = delayed::cache::explain(&one());
/// assert_eq!(explained.tasks().len(), 1);
/// assert!(explained.to_string().contains("not computed yet"), "{explained}");
/// ```
#[derive(Debug, Clone)]
pub struct Explanation {
    tasks: Vec<TaskVerdict>,
}

/// One cached task and what the cache did for it.
///
/// ```
/// use delayed::cache::Verdict;
///
/// #[delayed::delayed(cache)]
/// fn one() -> u8 { 1 }
///
/// let explained = delayed::cache::explain(&one());
/// let task = &explained.tasks()[0];
/// assert_eq!((task.key.name(), &task.verdict), ("one", &Verdict::NotComputed));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskVerdict {
    /// The task's key (not its cache key: the one errors and callbacks name).
    pub key: Key,
    /// Hit, or miss and why.
    pub verdict: Verdict,
}

impl Explanation {
    /// An explanation of these tasks' verdicts.
    pub(crate) fn new(tasks: impl IntoIterator<Item = (Key, Verdict)>) -> Explanation {
        let tasks = tasks
            .into_iter()
            .map(|(key, verdict)| TaskVerdict { key, verdict })
            .collect();
        Explanation { tasks }
    }

    /// Each cached task, in dependency order.
    ///
    /// ```
    /// # #[delayed::delayed(cache)] fn one() -> u8 { 1 }
    /// assert_eq!(delayed::cache::explain(&one()).tasks()[0].key.name(), "one");
    /// ```
    pub fn tasks(&self) -> &[TaskVerdict] {
        &self.tasks
    }

    /// How many were read from the cache.
    ///
    /// ```
    /// # #[delayed::delayed(cache)] fn one() -> u8 { 1 }
    /// assert_eq!(delayed::cache::explain(&one()).hits(), 0);
    /// ```
    pub fn hits(&self) -> usize {
        self.tasks
            .iter()
            .filter(|task| task.verdict.is_hit())
            .count()
    }

    /// How many ran because their value was not in the cache.
    ///
    /// ```
    /// # #[delayed::delayed(cache)] fn one() -> u8 { 1 }
    /// assert_eq!(delayed::cache::explain(&one()).misses(), 0);
    /// ```
    pub fn misses(&self) -> usize {
        let missed = |task: &&TaskVerdict| matches!(task.verdict, Verdict::Miss(_));
        self.tasks.iter().filter(missed).count()
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for task in &self.tasks {
            writeln!(f, "{}: {}", task.key, task.verdict)?;
        }
        write!(
            f,
            "{} cached tasks: {} hits, {} misses",
            self.tasks.len(),
            self.hits(),
            self.misses()
        )
    }
}
