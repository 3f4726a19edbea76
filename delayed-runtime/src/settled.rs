//! Keep going: a compute that runs everything a failure leaves standing
//! and returns a `Result` per output.

use std::collections::HashMap;
use std::sync::Arc;

use crate::client::Client;
use crate::computable::{Computable, Settled, graph_of};
use crate::error::Error;
use crate::executor::Control;
use crate::sync::{Mutex, lock};
use crate::value::Value;

/// Each output node's value or error, as it arrived.
type Arrived = HashMap<u32, Result<Value, Arc<Error>>>;

/// Computes `computable` on the current client (see [`Client::current`]),
/// going on after failures: [`Client::compute_settled`].
///
/// ```
/// #[delayed::delayed]
/// fn inverse(x: i32) -> Result<f64, String> {
///     if x == 0 { Err("zero has no inverse".into()) } else { Ok(1.0 / x as f64) }
/// }
///
/// let [a, b, c] = delayed::compute_settled(&[inverse(1), inverse(0), inverse(4)])?;
/// assert_eq!((a?, c?), (1.0, 0.25));
/// assert!(b.unwrap_err().to_string().starts_with("task `inverse-"));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
///
/// If the default client cannot be started; each output's own failure is
/// in its place in the output.
pub fn compute_settled<C: Computable + ?Sized>(computable: &C) -> Result<C::Settled, Error> {
    Ok(Client::current()?.compute_settled(computable))
}

/// A compute that goes on after failures, made by
/// [`Client::keep_going`]: set [`max_failures`](Self::max_failures), then
/// [`compute`](Self::compute).
///
/// ```
/// #[delayed::delayed]
/// fn check(x: u32) -> Result<u32, String> {
///     if x % 2 == 1 { Err(format!("{x} is odd")) } else { Ok(x) }
/// }
///
/// let client = delayed::Client::builder().threads(1).build()?;
/// let checks: Vec<_> = (0..10).map(check).collect();
/// let settled = client.keep_going().max_failures(2).compute(&checks);
/// let failed = settled.iter().filter(|r| r.as_ref().is_err_and(|e| e.kind() == delayed::ErrorKind::Task));
/// assert_eq!(failed.count(), 2);
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a KeepGoing computes nothing until `compute` is called"]
pub struct KeepGoing<'a> {
    client: &'a Client,
    max_failures: Option<usize>,
}

impl Client {
    /// Computes `computable` and returns a `Result` for each of its
    /// outputs, in the same shape: `Result<T, Error>` for a
    /// `Delayed<T>`, a `Vec` of them for a `Vec`, a map of them for a map,
    /// a tuple of them for a tuple.
    ///
    /// A failed task does not stop the compute. The tasks that need its
    /// value do not run, and each output among them is an error of kind
    /// [`ErrorKind::Upstream`](crate::ErrorKind::Upstream) naming the task
    /// that failed (its [`source`](std::error::Error::source) is that
    /// task's error); everything independent of the failure is computed.
    /// A task that returns [`Error::skip`] is not a failure: what needs it
    /// is [`Skipped`](crate::ErrorKind::Skipped). To stop after a number of
    /// failures, use [`keep_going`](Self::keep_going).
    ///
    /// ```
    /// use delayed::{delayed, ErrorKind};
    /// use std::collections::BTreeMap;
    ///
    /// #[delayed]
    /// fn load(day: u32) -> Result<Vec<u32>, String> {
    ///     if day == 3 { Err("day 3 is corrupt".into()) } else { Ok(vec![day; 2]) }
    /// }
    /// #[delayed]
    /// fn total(rows: Vec<u32>) -> u32 { rows.iter().sum() }
    ///
    /// let client = delayed::Client::builder().threads(2).build()?;
    /// let totals: BTreeMap<u32, _> = (1..=4).map(|day| (day, total(load(day)))).collect();
    /// let settled = client.compute_settled(&totals);
    /// assert_eq!(settled[&4].as_ref().unwrap(), &8);
    /// let err = settled[&3].as_ref().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Upstream);
    /// assert!(err.to_string().contains("`load-"), "{err}"); // names the task that failed
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn compute_settled<C: Computable + ?Sized>(&self, computable: &C) -> C::Settled {
        self.keep_going().compute(computable)
    }

    /// A compute that goes on after failures, to configure: see
    /// [`KeepGoing`] and [`compute_settled`](Self::compute_settled).
    ///
    /// ```
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let [x] = client.keep_going().max_failures(1).compute(&[delayed::value(1)]);
    /// assert_eq!(x?, 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn keep_going(&self) -> KeepGoing<'_> {
        KeepGoing {
            client: self,
            max_failures: None,
        }
    }
}

impl KeepGoing<'_> {
    /// Stops the compute once `n` tasks have failed: no task starts after
    /// that, and each output not computed by then is an error of kind
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) saying so.
    /// Skips, and tasks that did not run because an input failed, do not
    /// count. `max_failures(0)` is taken as 1.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn fail(x: u32) -> Result<u32, String> { Err(format!("no {x}")) }
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let tasks: Vec<_> = (0..5).map(fail).collect();
    /// let settled = client.keep_going().max_failures(1).compute(&tasks);
    /// let cancelled = settled.iter().filter(|r| r.as_ref().is_err_and(|e| e.is_cancelled()));
    /// assert_eq!(cancelled.count(), 4);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn max_failures(mut self, n: usize) -> Self {
        self.max_failures = Some(n.max(1));
        self
    }

    /// Computes `computable`, blocking until every task that can run has:
    /// see [`Client::compute_settled`]. A failure of the compute itself (a
    /// callback that panicked, a runtime that stopped) is the error of
    /// each output it left without a value.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn half(x: u32) -> Result<u32, String> {
    ///     if x % 2 == 1 { Err(format!("{x} is odd")) } else { Ok(x / 2) }
    /// }
    ///
    /// let client = delayed::Client::builder().threads(2).build()?;
    /// let (a, b) = client.keep_going().compute(&(half(4), half(5)));
    /// assert_eq!(a?, 2);
    /// assert!(b.is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn compute<C: Computable + ?Sized>(&self, computable: &C) -> C::Settled {
        let graph = graph_of(computable);
        let roots = graph.roots.clone();
        let arrived: Arc<Mutex<Arrived>> = Arc::default();
        let sink = arrived.clone();
        let control = Control::keep_going(
            Box::new(move |node, result| {
                lock(&sink).entry(node).or_insert(result);
            }),
            self.max_failures,
        );
        // A streaming compute's outputs went out one by one; an error here
        // is the compute's own, for the outputs it left.
        let ended = self.client.run_blocking(graph, Some(Arc::new(control)));
        let left = ended.err().map(Arc::new);
        let mut arrived = std::mem::take(&mut *lock(&arrived));
        // A handle listed twice is one node: its last listing takes the
        // value, so that a value listed once moves to the caller.
        let mut listings: HashMap<u32, usize> = HashMap::with_capacity(roots.len());
        for &node in &roots {
            *listings.entry(node).or_default() += 1;
        }
        let outcomes = roots
            .iter()
            .map(|node| {
                let left_to_list = listings.get_mut(node).expect("counted above");
                *left_to_list -= 1;
                let outcome = match *left_to_list {
                    0 => arrived.remove(node),
                    _ => arrived.get(node).cloned(),
                };
                match (outcome, &left) {
                    (Some(Ok(value)), _) => Ok(value),
                    (Some(Err(error)), _) => Err(unshared(error)),
                    (None, Some(error)) => Err(unshared(error.clone())),
                    (None, None) => Err(Error::stopped()),
                }
            })
            .collect();
        computable.take_settled(&mut Settled::new(outcomes))
    }
}

/// An error held once as itself; one shared by several outputs, as the
/// error they share.
fn unshared(error: Arc<Error>) -> Error {
    Arc::try_unwrap(error).unwrap_or_else(Error::shared)
}
