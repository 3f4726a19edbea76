//! What the cache did for a task, and why: [`Verdict`] and [`Miss`].

use std::fmt;

use super::recipe::Recipe;

/// What the cache did for one task in its last compute, from
/// [`explain`](https://docs.rs/delayed/latest/delayed/cache/fn.explain.html).
///
/// ```
/// use delayed::cache::{Miss, Verdict};
///
/// let verdict = Verdict::Miss(Miss::Argument(0));
/// assert_eq!(verdict.to_string(), "miss: argument 1 changed");
/// assert!(!verdict.is_hit());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Its value was read from the store; the task did not run.
    Hit,
    /// It ran, for this reason, and its value was written.
    Miss(Miss),
    /// It ran uncached: `.uncached()`, or a client without a store.
    Off,
    /// It has not been computed (on a client with a cache) since it was
    /// built.
    NotComputed,
    /// Asked before a compute ([`Client::explain`](crate::Client::explain)):
    /// its key depends on a value known only once a task before it runs
    /// (one that is not cached, or misses): why.
    Unknown(String),
}

impl Verdict {
    /// Whether the value came from the store.
    ///
    /// ```
    /// assert!(delayed::cache::Verdict::Hit.is_hit());
    /// ```
    pub fn is_hit(&self) -> bool {
        matches!(self, Verdict::Hit)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Hit => f.write_str("hit"),
            Verdict::Miss(why) => write!(f, "miss: {why}"),
            Verdict::Off => f.write_str("not cached"),
            Verdict::NotComputed => f.write_str("not computed yet"),
            Verdict::Unknown(why) => write!(f, "known once it runs: {why}"),
        }
    }
}

/// Why a task's value was not in the store: which part of its key changed
/// since the last value written for the task at the same place in its
/// pipeline (its function, fed by the same functions).
///
/// ```
/// use delayed::cache::Miss;
///
/// assert_eq!(Miss::Code.to_string(), "the function's code changed");
/// assert_eq!(Miss::Helper("parse_row".into()).to_string(), "helper `parse_row` changed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Miss {
    /// Nothing was ever written for this task.
    New,
    /// The function's tokens changed (its body or signature).
    Code,
    /// A helper named in `uses = […]` changed, or the list did.
    Helper(String),
    /// `version = "…"` changed.
    Version,
    /// The client's salt ([`cache_salt`](crate::ClientBuilder::cache_salt)) changed.
    Salt,
    /// The result's type changed.
    Type,
    /// Plain argument `i` (from 0) has other bytes.
    Argument(usize),
    /// Input `i` (from 0, counting arguments) changed: its task's key, or
    /// with `cache(by_value)` its value.
    Input(usize),
    /// Its key is unchanged, but the entry is gone: evicted, or removed.
    Evicted,
    /// The entry was there but could not be used (corrupt, truncated, or
    /// of another type): the reason.
    Unreadable(String),
    /// The store or an encoder failed: the reason.
    Unavailable(String),
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Miss::New => f.write_str("never computed"),
            Miss::Code => f.write_str("the function's code changed"),
            Miss::Helper(name) => write!(f, "helper `{name}` changed"),
            Miss::Version => f.write_str("`version` changed"),
            Miss::Salt => f.write_str("the client's cache salt changed"),
            Miss::Type => f.write_str("the result's type changed"),
            Miss::Argument(i) => write!(f, "argument {} changed", i + 1),
            Miss::Input(i) => write!(f, "input {} changed", i + 1),
            Miss::Evicted => f.write_str("the entry was evicted"),
            Miss::Unreadable(why) => write!(f, "the entry could not be read: {why}"),
            Miss::Unavailable(why) => write!(f, "the cache was unavailable: {why}"),
        }
    }
}

impl Miss {
    /// Why `now` missed, given the recipe last written at its place.
    pub(crate) fn between(before: Option<&Recipe>, now: &Recipe) -> Miss {
        let Some(before) = before else {
            return Miss::New;
        };
        if before.type_name != now.type_name {
            return Miss::Type;
        }
        if before.tokens != now.tokens || before.args.len() != now.args.len() {
            return Miss::Code;
        }
        if before.uses != now.uses {
            let changed = now
                .uses
                .iter()
                .find(|used| !before.uses.contains(used))
                .or_else(|| before.uses.iter().find(|used| !now.uses.contains(used)));
            return Miss::Helper(changed.map_or_else(String::new, |(name, _)| name.clone()));
        }
        if before.version != now.version {
            return Miss::Version;
        }
        if before.salt != now.salt {
            return Miss::Salt;
        }
        match before.args.iter().zip(&now.args).position(|(a, b)| a != b) {
            Some(i) if now.args[i].0 => Miss::Input(i),
            Some(i) => Miss::Argument(i),
            None => Miss::Evicted,
        }
    }
}
