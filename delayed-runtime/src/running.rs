//! `Client::submit`: a compute running in the background, and the handle
//! to it, `Running`, named and behaving like tokio's `JoinHandle`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::executor::delivery::{Arrival, Watch};
use crate::executor::threaded::{self, Job, Pool};
use crate::executor::{ComputeOutcome, Control};
use crate::value::Value;

/// A compute running in the background: what
/// [`Client::submit`](crate::Client::submit) returns at once, Dask's
/// future from `client.compute(x)`.
///
/// Await it, or block on it with [`wait`](Self::wait) or
/// [`wait_timeout`](Self::wait_timeout). As with tokio's `JoinHandle`,
/// dropping the handle detaches the compute: it runs on to the end and its
/// result is dropped. [`cancel`](Self::cancel) stops it instead.
///
/// ```
/// use delayed::{delayed, Client};
///
/// #[delayed]
/// fn square(x: u64) -> u64 { x * x }
///
/// let client = Client::builder().threads(2).build()?;
/// let running = client.submit(&vec![square(2), square(3)]);
/// // … other work while it runs …
/// assert_eq!(running.wait()?, [4, 9]);
/// # Ok::<(), delayed::Error>(())
/// ```
#[must_use = "dropping a `Running` detaches the compute; call `wait` or await it for the result"]
pub struct Running<T> {
    watch: Arc<Watch>,
    compute: Background,
    /// Turns the roots' values into the output; taken with the result.
    convert: Option<Box<dyn FnOnce(Vec<Value>) -> T + Send>>,
}

/// A compute nobody blocks on, as its handles see it: to cancel it, read
/// its progress and wait for it.
#[derive(Clone)]
pub(crate) struct Background {
    pub(crate) control: Arc<Control>,
    /// The threaded compute, to cancel it and to help with it while
    /// waiting; `None` on the synchronous client.
    pub(crate) job: Option<(Weak<Job>, Arc<Pool>)>,
}

impl Background {
    /// Stops the compute: no task starts after this.
    pub(crate) fn cancel(&self) {
        self.control.cancelled.store(true, Ordering::Release);
        if let Some(job) = self.job.as_ref().and_then(|(job, _)| job.upgrade()) {
            job.cancel();
        }
    }

    /// Blocks until `ready` has something, parking in between; a task of
    /// the same client helps run the compute meanwhile.
    pub(crate) fn wait<R>(&self, mut ready: impl FnMut() -> Option<R>) -> R {
        match &self.job {
            Some((job, pool)) => threaded::wait(pool, job, ready),
            None => loop {
                if let Some(ready) = ready() {
                    return ready;
                }
                std::thread::park();
            },
        }
    }
}

impl<T> Running<T> {
    pub(crate) fn new(
        watch: Arc<Watch>,
        compute: Background,
        convert: Box<dyn FnOnce(Vec<Value>) -> T + Send>,
    ) -> Running<T> {
        Running {
            watch,
            compute,
            convert: Some(convert),
        }
    }

    /// The output if the outcome has arrived; registers `waker` (or this
    /// thread) to be woken otherwise.
    fn take(&mut self, waker: Option<&Waker>) -> Option<Result<T, Error>> {
        match self.watch.take(waker) {
            Arrival::Here(outcome) => Some(self.finish(outcome)),
            Arrival::Taken => Some(Err(Error::taken())),
            Arrival::NotYet => None,
        }
    }

    fn finish(&mut self, outcome: ComputeOutcome) -> Result<T, Error> {
        let convert = self.convert.take().ok_or_else(Error::taken)?;
        outcome.map(convert)
    }

    /// Blocks until the compute ends and returns its output. Called by a
    /// task of the same client, the waiting thread runs the compute's tasks
    /// meanwhile, so this never deadlocks.
    ///
    /// ```
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let running = client.submit(&delayed::value(20).map(|x| x + 1));
    /// assert_eq!(running.wait()?, 21);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The compute's error, as [`Client::compute`](crate::Client::compute)
    /// returns it, or a cancellation.
    pub fn wait(mut self) -> Result<T, Error> {
        let compute = self.compute.clone();
        compute.wait(|| self.take(None))
    }

    /// Blocks until the compute ends or `timeout` passes: `Some` with the
    /// output in the first case, `None` in the second (the compute goes on;
    /// wait again or cancel it). The output is given once: a later call,
    /// or an await, gets an error saying it was taken.
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::time::Duration;
    ///
    /// #[delayed]
    /// fn slow(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); ms }
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let mut running = client.submit(&slow(200));
    /// assert!(running.wait_timeout(Duration::from_millis(1)).is_none());
    /// assert_eq!(running.wait_timeout(Duration::from_secs(30)).unwrap()?, 200);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T, Error>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(result) = self.take(None) {
                return Some(result);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            std::thread::park_timeout(left);
        }
    }

    /// Whether the compute has ended (its output may then be taken at
    /// once).
    ///
    /// ```
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let running = client.submit(&delayed::value(1));
    /// while !running.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(running.wait()?, 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.watch.is_delivered()
    }

    /// Stops the compute: no task starts after this, the values waiting
    /// for those tasks are freed as soon as the running ones finish, and
    /// the handle resolves to an error for which
    /// [`Error::is_cancelled`] holds. Does nothing once the compute has
    /// ended.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn nap(ms: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(ms)); ms }
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let running = client.submit(&(0..50).map(|_| nap(20)).collect::<Vec<_>>());
    /// running.cancel();
    /// assert!(running.wait().unwrap_err().is_cancelled());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn cancel(&self) {
        self.compute.cancel();
    }

    /// How many tasks are done, out of how many the compute runs.
    ///
    /// ```
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let running = client.submit(&vec![delayed::value(1).map(|x| x + 1); 3]);
    /// let (_, total) = running.progress();
    /// assert_eq!(total, 1); // the same task three times is one task
    /// running.wait()?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn progress(&self) -> (usize, usize) {
        let control = &self.compute.control;
        let total = control.total.load(Ordering::Acquire);
        let remaining = control.remaining.load(Ordering::Acquire);
        (total.saturating_sub(remaining), total)
    }
}

impl<T> Future for Running<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().take(Some(cx.waker())) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Running<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (done, total) = self.progress();
        f.debug_struct("Running")
            .field("done", &done)
            .field("total", &total)
            .field("finished", &self.is_finished())
            .finish()
    }
}
