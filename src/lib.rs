//! Dask Delayed for Rust: mark ordinary functions `#[delayed]`, call them as
//! usual to build a lazy, typed task graph, and `compute!` it in parallel on
//! tokio.
//!
//! ```
//! use delayed::{compute, delayed};
//! use std::{thread::sleep, time::Duration};
//!
//! #[delayed]
//! fn inc(x: i64) -> i64 { sleep(Duration::from_millis(100)); x + 1 }
//! #[delayed]
//! fn dec(x: i64) -> i64 { sleep(Duration::from_millis(100)); x - 1 }
//! #[delayed]
//! fn add(x: i64, y: i64) -> i64 { sleep(Duration::from_millis(100)); x + y }
//!
//! let mut l = Vec::new();
//! for i in 0..10 {
//!     let a = inc(i);        // no work yet: `a` is a Delayed<i64>
//!     let b = dec(i);
//!     let c = add(a, b);     // handles are arguments, as values would be
//!     l.push(c);
//! }
//! let start = std::time::Instant::now();
//! let l: Vec<i64> = compute!(l)?;  // 30 tasks of 0.1 s, two deep: about 0.2 s
//! assert_eq!(l, (0..10).map(|i| 2 * i).collect::<Vec<_>>());
//! assert!(start.elapsed() < Duration::from_secs(3));
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! # The pieces
//!
//! - [`#[delayed]`](macro@delayed) on a function (sync or `async`, returning
//!   `T` or `Result<T, E>`) makes calling it return a [`Delayed<T>`] handle
//!   at once; each parameter accepts a plain value, a `Delayed<T>` or a
//!   `&Delayed<T>` ([`IntoDelayed`]).
//! - [`delayed(f).call(x)`](fn@delayed) does the same for a function you cannot
//!   annotate, and [`value(x)`](value) wraps a plain value.
//! - [`compute!`] runs the graph behind one or more handles and returns
//!   their values; also [`compute()`], [`compute_async`], [`Delayed::compute`].
//! - A [`Client`] chooses where it runs: how many tasks at once, or one at a
//!   time on the calling thread for debugging.
//! - A failing or panicking task fails the compute with an [`Error`] naming
//!   the task's [`Key`] and keeping its cause.
//!
//! Every shared dependency runs once per compute, whichever handles reach
//! it. One task runs per core; a synchronous body that blocks (a sleep,
//! file I/O) lends its core to another task while it waits, so the example
//! above takes its critical path, about 0.2 s, rather than 3 s. `async fn`
//! bodies run as futures.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

// The expansion of `#[delayed]` names `::delayed`, also inside this crate's
// own tests.
extern crate self as delayed;

/// Makes a function lazy: calling it records a task and returns a
/// [`Delayed<T>`] handle at once; the body runs when the handle is computed.
///
/// ```
/// use delayed::{compute, delayed, Delayed};
///
/// #[delayed]
/// fn add(x: i64, y: i64) -> i64 { x + y }
///
/// let three: Delayed<i64> = add(1, 2);          // plain values
/// let six = add(&three, three.clone());          // handles, by reference or by value
/// assert_eq!(compute!(three, six)?, (3, 6));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Parameters
///
/// Each parameter of type `T` or `&T` accepts a `T`, a `Delayed<T>` or a
/// `&Delayed<T>` ([`IntoDelayed<T>`]). Task values cross threads, so `T` must
/// be `Send + Sync + 'static`.
///
/// - `x: T` takes the value. A value may feed several tasks, so `T` must be
///   `Clone`; the last task to need a value gets it moved, the others a clone.
/// - `x: &T` borrows the shared value and needs no `Clone`. `&str`, `&[T]`,
///   `&Path`, `&OsStr` and `&CStr` borrow a `String`, a `Vec<T>`, a
///   `PathBuf`, an `OsString` and a `CString`.
/// - A `&T` argument is cloned into the task, as if the value were passed.
/// - Patterns such as `(a, b): (i64, i64)` work as in any function.
///
/// ```
/// use delayed::delayed;
///
/// struct Table(Vec<u64>); // not Clone
///
/// #[delayed]
/// fn load(n: u64) -> Table { Table((0..n).collect()) }
/// #[delayed]
/// fn total(t: &Table) -> u64 { t.0.iter().sum() }
/// #[delayed]
/// fn count(t: &Table) -> usize { t.0.len() }
/// #[delayed]
/// fn words(text: &str) -> usize { text.split_whitespace().count() }
///
/// let table = load(5);
/// assert_eq!(delayed::compute!(total(&table), count(&table))?, (10, 5));
/// assert_eq!(words("two words").compute()?, 2);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Return types
///
/// A function returning `Result<T, E>` (any type named `Result`, such as
/// `io::Result<T>`) gives a `Delayed<T>`: an `Err` fails the compute with an
/// [`Error`] that names the task and keeps `E` as its source. `E` may be any
/// error type, `String`, or `Box<dyn Error + Send + Sync>`.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn parse(s: String) -> Result<i64, std::num::ParseIntError> { s.parse() }
///
/// assert_eq!(parse("42".to_string()).compute()?, 42);
/// assert!(parse("x".to_string()).compute().is_err());
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Async and generic functions
///
/// An `async fn` runs as a future on the runtime's workers, never on a
/// blocking thread. Generic functions work too; when a type parameter only
/// appears in the parameters, name it at the call if a handle is passed
/// (`first::<i64>(list)`), since a `Delayed<T>` could also be a plain value.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// async fn fetch(id: u32) -> String {
///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
///     format!("page {id}")
/// }
/// #[delayed]
/// fn pair<T: Clone + Send + Sync + 'static>(a: T, b: T) -> (T, T) { (a, b) }
///
/// let p = pair::<String>(fetch(1), fetch(2));
/// assert_eq!(p.compute()?, ("page 1".to_string(), "page 2".to_string()));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Arguments
///
/// `#[delayed(name = "load")]` prefixes the function's task keys with
/// `load` instead of the function's name.
///
/// ```
/// #[delayed::delayed(name = "load")]
/// fn read_day(day: u32) -> Vec<u8> { vec![day as u8] }
///
/// assert!(read_day(1).key().to_string().starts_with("load-"));
/// ```
///
/// `#[delayed(pure)]` makes identical calls share one key, so that a compute
/// runs them once. The key is a hash of the function itself (its full
/// path, whatever `name` says), the types of its arguments and their values
/// (handles by their keys), so different functions or types never share a
/// key.
///
/// `#[delayed(local)]` keeps a function out of what other processes may
/// run by name (feature `distributed`, module `delayed::distributed`): it runs only
/// where it is called, even when its types are serde types. With that
/// feature on, an associated function of a generic impl that uses the
/// impl's type parameters needs it.
///
/// `#[delayed(cache)]` (feature `cache`) reads the task's value from the
/// client's cache (`Client::builder().cache(dir)`) when an earlier run
/// computed it with the same code, arguments and inputs, and writes it
/// there otherwise: `uses = [helper]` makes a `#[delayed::tracked]`
/// helper's code part of the key, `version = "2"` salts it,
/// `cache(by_value)` keys it on its inputs' bytes rather than their keys,
/// and `cache = false` says it must never be cached. See the module
/// `delayed::cache` and the guide's chapter "Caching across runs".
///
/// `#[delayed(crate = "dl")]` is for a renamed dependency
/// (`dl = { package = "delayed", … }` in `Cargo.toml`): the generated code
/// then names `dl` instead of `delayed`. `dl::compute!` needs nothing.
///
/// # Methods: `#[delayed]` on an impl block
///
/// In Dask, `df.groupby(…).mean()` on a delayed object is a task named
/// `mean`. Put `#[delayed]` on an inherent impl block to get the same:
///
/// - associated functions (no `self`) become lazy in place, like free
///   functions: `Frame::load(path)` returns a `Delayed<Frame>`;
/// - methods taking `&self` or `self` stay as they are on the type, and a
///   generated trait, `Delayed{Type}` (or `trait_name = "…"`), gives
///   `Delayed<Type>` a lazy twin of each: `frame.mean()` on a handle builds
///   a task named `mean`. `&self` borrows the shared value; `self` takes it
///   (moved to the last consumer, so the type must be `Clone`). Import the
///   trait where you call the methods from another module.
///
/// A `#[delayed(…)]` on a method inside the block gives that method's
/// arguments (`name`, `pure`).
///
/// ```
/// use delayed::{compute, delayed, Delayed};
///
/// #[derive(Clone)]
/// struct Frame { rows: Vec<f64> }
///
/// #[delayed]
/// impl Frame {
///     fn load(n: u32) -> Self { Self { rows: (1..=n).map(f64::from).collect() } }
///     fn mean(&self) -> f64 { self.rows.iter().sum::<f64>() / self.rows.len() as f64 }
///     #[delayed(name = "count")]
///     fn len(&self) -> usize { self.rows.len() }
/// }
///
/// let frame: Delayed<Frame> = Frame::load(4);
/// let (mean, len) = (frame.mean(), frame.len());
/// assert_eq!((mean.key().name(), len.key().name()), ("mean", "count"));
/// assert_eq!(compute!(mean, len)?, (2.5, 4));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # The body, and other attributes
///
/// The body is expanded in place inside the lazy function, so `Self` and an
/// impl's generic parameters work in associated functions. Inside the body
/// the function's own name is the lazy function, as in Dask: a recursive
/// call builds a task. For eager recursion, recurse in a plain function the
/// task calls.
///
/// Attributes that describe the function as callers see it (docs, `cfg`,
/// `must_use`, `inline`, `deprecated`, lint levels) stay on the lazy
/// function; lint levels also cover the body. Attribute macros such as
/// `#[tracing::instrument]` wrap the body that runs as the task, whether
/// they are written above or below `#[delayed]`.
///
/// `#[delayed]` rejects what cannot become a task (`const`, `unsafe` and
/// `extern` functions, `&mut` parameters, borrowed return types, a method
/// taking `self` outside a `#[delayed]` impl block) with an error on the
/// offending token that says what to write instead.
pub use delayed_macros::delayed;

/// Declares lazy twins of the methods of a type your crate does not own,
/// such as polars's `DataFrame`: Dask's method calls on a delayed object
/// (`df.groupby(…)`), where `#[delayed]` on the impl block cannot go.
///
/// Write the methods' signatures as the type declares them, each ending
/// with `;`. The macro declares a trait, `Delayed` followed by the type's
/// name (or the name given by `#[delayed(trait_name = "…")]` before
/// `impl`), implemented for `Delayed<Type>`: calling a method on a handle
/// builds a task named after the method, which calls the type's own
/// method on the computed value. Parameters accept values or handles, as
/// a `#[delayed]` function's do; a method taking `&self` borrows the
/// shared value, one taking `self` takes it.
///
/// It names the crate `::delayed`; under another name in `Cargo.toml`,
/// say so as for `#[delayed]`: `#[delayed(crate = "dl")]` before `impl`.
///
/// A method that returns a borrow (`&T`, or `&T` in a `Result` or an
/// `Option`) has a twin that returns what it borrows, owned through
/// `ToOwned`: `&str` becomes `String`, `&Column` a clone of the column.
/// `Result<T, E>` fails the task on `Err` as it does for a `#[delayed]`
/// function; write a `Result` alias out (`Result<T, PolarsError>` for
/// `PolarsResult<T>`) so that the macro sees the `Result`.
///
/// ```
/// use delayed::{Delayed, methods};
///
/// methods! {
///     impl String {
///         fn len(&self) -> usize;
///         fn trim(&self) -> &str;           // the twin returns a `String`
///         fn repeat(&self, n: usize) -> String;
///     }
/// }
///
/// let text: Delayed<String> = delayed::value("  ab ".to_string());
/// let trimmed = text.trim();               // a task named `trim`
/// assert_eq!(trimmed.key().name(), "trim");
/// let twice = trimmed.repeat(2);
/// assert_eq!((twice.len().compute()?, twice.compute()?), (4, "abab".to_string()));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// Mistakes are compile errors on the offending token that say what to
/// write: a method with a body, one without a receiver, one taking
/// `&mut self`, a generic impl.
pub use delayed_macros::methods;

/// Marks a helper whose code is part of the cache key of every
/// `#[delayed(cache, uses = [helper])]` function that names it (feature
/// `cache`): change the helper and those functions' tasks run again.
/// A helper that calls other helpers names them too:
/// `#[delayed::tracked(uses = [other])]`.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed::tracked]
/// fn clean(word: &str) -> String { word.trim().to_lowercase() }
///
/// #[delayed(cache, uses = [clean])]
/// fn words(text: String) -> Vec<String> { text.split(',').map(clean).collect() }
///
/// let dir = std::env::temp_dir().join(format!("delayed-doc-tracked-{}", std::process::id()));
/// let client = delayed::Client::builder().cache(&dir).build()?;
/// assert_eq!(client.compute(&words(" A, b"))?, ["a", "b"]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// A helper named in `uses` without it is a compile error on its name:
/// ``cannot find value `__delayed_tokens_clean` ``.
#[cfg(feature = "cache")]
pub use delayed_macros::tracked;

/// Results cached across runs (feature `cache`): the stores, what the
/// cache did for each task ([`explain`](cache::explain)), and why a task
/// missed. The guide's chapter "Caching across runs" shows it whole.
#[cfg(feature = "cache")]
pub mod cache {
    pub use delayed_runtime::cache::*;
    pub use delayed_runtime::diagnostics::{Explanation, TaskVerdict, explain};
}

pub use delayed_runtime::diagnostics;
#[cfg(feature = "distributed")]
pub use delayed_runtime::distributed;
pub use delayed_runtime::{
    AsCompleted, Client, ClientBuilder, Completable, Computable, DEFAULT_MAX_ASYNC_TASKS,
    DEFAULT_MAX_NODES, DEFAULT_MAX_THREADS, DefaultGuard, Delayed, DelayedFn, Error, ErrorKind,
    IntoDelayed, KeepGoing, Key, Resources, Running, TaskFn, TaskValue, Visualization,
    as_completed, compute, compute_async, compute_settled, delayed, value, visualize,
};

/// Computes handles and returns their values: Dask's `compute(a, b, c)`.
///
/// - `compute!(x)` computes one handle or collection and returns its value
///   directly: a `Delayed<T>` gives `T`, a `Vec<Delayed<T>>` gives `Vec<T>`.
/// - `compute!(a, b, c)` computes several together and returns a tuple.
///
/// Shared dependencies run once across everything computed together. The
/// arguments are borrowed, so the handles stay usable. It uses the default
/// client, and is shorthand for [`compute(&x)`](compute()) (or
/// `compute(&(&a, &b, &c))`).
///
/// It works under any name the dependency is given in `Cargo.toml`
/// (`dl = { package = "delayed", … }` and then `dl::compute!(x)`).
///
/// ```
/// use delayed::{compute, delayed};
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let a = inc(1);
/// let l = vec![inc(10), inc(20)];
/// let (a_value, l_values) = compute!(a, l)?;
/// assert_eq!((a_value, l_values), (2, vec![11, 21]));
/// let again: Vec<i64> = compute!(l)?; // still usable
/// assert_eq!(again, [11, 21]);
/// # Ok::<(), delayed::Error>(())
/// ```
#[macro_export]
macro_rules! compute {
    ($($args:tt)*) => {
        $crate::__private::compute!($crate; $($args)*)
    };
}

/// Registers instantiations of generic task functions, so that workers
/// run them (feature `distributed`).
///
/// `#[delayed]` registers each non-generic function by itself. A generic
/// function has no one type to register: name each instantiation that
/// should run on workers, `register!(double::<u64>, double::<f64>)`, once,
/// anywhere the function can be named (its path as you would call it,
/// `io::parse::<Row>`). A call with those type arguments then runs on a
/// worker; any other runs in the client, as a function whose types are not
/// serde types does.
///
/// Naming an instantiation whose parameter or result types are not serde
/// types is a compile error at the `register!`, as is naming a function
/// marked `#[delayed(local)]`.
///
/// ```
/// use delayed::delayed;
/// use delayed::distributed::function;
///
/// #[delayed]
/// fn double<T: std::ops::Add<Output = T> + Copy>(x: T) -> T { x + x }
///
/// delayed::register!(double::<u64>);
///
/// let path = format!("{}::double::<u64>", module_path!());
/// let registered = function(&path).unwrap();
/// assert_eq!(registered.signature(), "fn(u64) -> u64");
/// assert!(registered.runs_from_bytes());
/// // Not registered: runs where it is called.
/// assert!(function(&format!("{}::double::<i32>", module_path!())).is_none());
/// assert_eq!(delayed::compute(&double(21_i32))?, 42);
/// # Ok::<(), delayed::Error>(())
/// ```
#[cfg(feature = "distributed")]
#[macro_export]
macro_rules! register {
    ($($args:tt)*) => {
        $crate::__private::register! { $crate; $($args)* }
    };
}

/// The user guide, "How to parallelize Rust code with `#[delayed]`".
///
/// The chapters live in `docs/src/` as an mdBook; they are included here so
/// that every code block in them is compiled and run as a doc test, with
/// their pictures embedded in the page.
#[cfg_attr(doc, delayed_macros::__embed_images)]
pub mod guide {
    #[doc = include_str!("../docs/src/getting-started.md")]
    pub mod getting_started {}
    #[doc = include_str!("../docs/src/two-forms.md")]
    pub mod two_forms {}
    #[doc = include_str!("../docs/src/best-practices.md")]
    pub mod best_practices {}
    #[doc = include_str!("../docs/src/data-pipelines.md")]
    pub mod data_pipelines {}
    #[doc = include_str!("../docs/src/errors-and-debugging.md")]
    pub mod errors_and_debugging {}
    #[doc = include_str!("../docs/src/seeing-the-work.md")]
    pub mod seeing_the_work {}
    #[doc = include_str!("../docs/src/results-as-they-arrive.md")]
    pub mod results_as_they_arrive {}
    #[doc = include_str!("../docs/src/priorities-and-resources.md")]
    pub mod priorities_and_resources {}
    /// With the `cache` feature.
    #[cfg(feature = "cache")]
    #[doc = include_str!("../docs/src/caching-across-runs.md")]
    pub mod caching_across_runs {}
    /// With the `distributed` feature.
    #[cfg(feature = "distributed")]
    #[doc = include_str!("../docs/src/beyond-one-machine.md")]
    pub mod beyond_one_machine {}
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../docs/src/coming-from-dask.md")]
    pub mod coming_from_dask {}
}

/// The README's example, run as a doc test so that it cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// What the `#[delayed]` expansion calls. Not part of the public contract:
/// it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use delayed_macros::compute;
    #[cfg(feature = "distributed")]
    pub use delayed_macros::register;
    pub use delayed_runtime::__private::*;
}
