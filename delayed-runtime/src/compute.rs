//! Running graphs on the default client: the free functions, and the
//! convenience methods on `Delayed` (`compute`, `compute_async`,
//! `persist`). The impl blocks at the end of this file are the one place
//! where the graph-building layer (`handle`, `task`, `ops`, …) reaches up
//! to the runner.

use crate::client::Client;
use crate::computable::Computable;
use crate::error::Error;
use crate::handle::Delayed;
use crate::value::TaskValue;

/// Computes handles on the default client: Dask's `dask.compute(...)`.
///
/// Everything the handles depend on runs once, in parallel, and the result
/// has the shape of the argument. The argument is borrowed: the handles stay
/// usable. The `compute!` macro is shorthand for this function.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let handles = vec![inc(1), inc(2)];
/// let values: Vec<i64> = delayed::compute(&handles)?;
/// assert_eq!(values, [2, 3]);
/// let (a, b) = delayed::compute(&(inc(5), &handles))?;
/// assert_eq!((a, b), (6, vec![2, 3]));
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn compute<C: Computable + ?Sized>(computable: &C) -> Result<C::Output, Error> {
    Client::current()?.compute(computable)
}

/// Computes handles on the default client without blocking: await it from
/// any async runtime, including a current-thread one.
///
/// Dropping the future before it completes cancels the compute: no further
/// task starts.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// async fn fetch(id: u32) -> String { format!("page {id}") }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), delayed::Error> {
///     let pages = vec![fetch(1), fetch(2)];
///     assert_eq!(delayed::compute_async(&pages).await?, ["page 1", "page 2"]);
///     Ok(())
/// }
/// ```
pub async fn compute_async<C: Computable + ?Sized>(computable: &C) -> Result<C::Output, Error> {
    Client::current()?.compute_async(computable).await
}

impl<T: TaskValue> Delayed<T> {
    /// Computes this handle now on the default client and returns a handle
    /// that holds the value: Dask's `persist()`.
    ///
    /// Later computes that use the returned handle reuse the value instead
    /// of running its tasks again, and the returned handle does not keep the
    /// upstream graph alive: once the original handles are dropped, the
    /// tasks and values behind them are freed. It keeps the key.
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static RUNS: AtomicUsize = AtomicUsize::new(0);
    ///
    /// #[delayed]
    /// fn expensive(x: u64) -> u64 { RUNS.fetch_add(1, Ordering::SeqCst); x * 100 }
    /// #[delayed]
    /// fn add(x: u64, y: u64) -> u64 { x + y }
    ///
    /// let base = expensive(3).persist()?;      // runs now, once
    /// assert_eq!(add(&base, 1).compute()?, 301);
    /// assert_eq!(add(&base, 2).compute()?, 302);
    /// assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn persist(&self) -> Result<Delayed<T>, Error> {
        Client::current()?.persist(self)
    }
}

impl<T: TaskValue + Clone> Delayed<T> {
    /// Runs this handle's task graph on the default client and returns the
    /// value.
    ///
    /// The handle stays usable: computing it again runs the graph again. To
    /// compute several handles, compute them together with `compute!(a, b)`
    /// so that shared tasks run once.
    ///
    /// The value is moved out of the graph when nothing else holds it; when
    /// it is still shared (a [`value`](Self::value) handle, or the same
    /// handle twice in one compute) it is cloned, hence `T: Clone`. For a
    /// type that cannot be cloned, return an `Arc<T>` from the task.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// assert_eq!(square(7).compute()?, 49);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn compute(&self) -> Result<T, Error> {
        Client::current()?.compute(self)
    }

    /// Like [`compute`](Self::compute), for async code: await the value
    /// without blocking the caller's runtime, whichever runtime that is.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn square(x: u64) -> u64 { x * x }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert_eq!(square(7).compute_async().await?, 49);
    /// # Ok::<(), delayed::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn compute_async(&self) -> Result<T, Error> {
        Client::current()?.compute_async(self).await
    }
}
