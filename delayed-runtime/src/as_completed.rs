//! `as_completed`: the values of many handles in the order they finish,
//! as a blocking iterator and as a `Stream`, Dask's `as_completed`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::client::Client;
use crate::error::Error;
use crate::executor::delivery::Waiters;
use crate::executor::{ComputeOutcome, Control};
use crate::graph::Graph;
use crate::graph::Roots;
use crate::handle::Delayed;
use crate::running::Background;
use crate::sync::{Mutex, lock};
use crate::value::TaskValue;
use crate::value::Value;

/// Collections of handles that [`as_completed`] takes: a `Vec`, slice or
/// array (each value comes with its index) and a `HashMap` or `BTreeMap`
/// (each value comes with its key).
///
/// ```
/// use std::collections::BTreeMap;
///
/// let prices: BTreeMap<&str, _> = [("tea", delayed::value(3)), ("cake", delayed::value(5))].into();
/// let mut arrived: Vec<_> = delayed::as_completed(&prices)?.map(|(k, v)| (k, v.unwrap())).collect();
/// arrived.sort();
/// assert_eq!(arrived, [("cake", 5), ("tea", 3)]);
/// # Ok::<(), delayed::Error>(())
/// ```
pub trait Completable {
    /// What names each handle: its index, or its key.
    type Key;
    /// The handles' value type.
    type Value;

    /// The handles, each with what names it.
    #[doc(hidden)]
    fn entries(&self) -> Vec<(Self::Key, Delayed<Self::Value>)>;
}

impl<T> Completable for [Delayed<T>] {
    type Key = usize;
    type Value = T;

    fn entries(&self) -> Vec<(usize, Delayed<T>)> {
        self.iter().cloned().enumerate().collect()
    }
}

impl<T> Completable for Vec<Delayed<T>> {
    type Key = usize;
    type Value = T;

    fn entries(&self) -> Vec<(usize, Delayed<T>)> {
        self.as_slice().entries()
    }
}

impl<T, const N: usize> Completable for [Delayed<T>; N] {
    type Key = usize;
    type Value = T;

    fn entries(&self) -> Vec<(usize, Delayed<T>)> {
        self.as_slice().entries()
    }
}

impl<K: Clone, T, S: BuildHasher> Completable for HashMap<K, Delayed<T>, S> {
    type Key = K;
    type Value = T;

    fn entries(&self) -> Vec<(K, Delayed<T>)> {
        self.iter().map(|(k, h)| (k.clone(), h.clone())).collect()
    }
}

impl<K: Clone, T> Completable for BTreeMap<K, Delayed<T>> {
    type Key = K;
    type Value = T;

    fn entries(&self) -> Vec<(K, Delayed<T>)> {
        self.iter().map(|(k, h)| (k.clone(), h.clone())).collect()
    }
}

impl<C: Completable + ?Sized> Completable for &C {
    type Key = C::Key;
    type Value = C::Value;

    fn entries(&self) -> Vec<(C::Key, Delayed<C::Value>)> {
        (**self).entries()
    }
}

/// Computes `handles` on the current client (see
/// [`Client::current`]) and yields each value with its index or key as
/// soon as it is computed: Dask's `as_completed`.
///
/// Tasks the handles share run once. A failure fails only the handles that
/// need the failed task (their error names it); the others go on, unless
/// [`stop_on_error`](AsCompleted::stop_on_error) is asked for. Iterate to
/// block for each value in turn, or use it as a `Stream` in async code.
/// Dropping it cancels what has not run yet.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn download(ms: u64) -> u64 {
///     std::thread::sleep(std::time::Duration::from_millis(ms));
///     ms
/// }
///
/// let downloads = vec![download(60), download(1), download(30)];
/// let mut order = Vec::new();
/// for (index, result) in delayed::as_completed(&downloads)? {
///     order.push((index, result?));
/// }
/// order.sort();
/// assert_eq!(order, [(0, 60), (1, 1), (2, 30)]);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
///
/// If the default client cannot be started.
pub fn as_completed<C: Completable + ?Sized>(
    handles: &C,
) -> Result<AsCompleted<C::Key, C::Value>, Error>
where
    C::Value: TaskValue + Clone,
{
    Ok(Client::current()?.as_completed(handles))
}

/// The values of a set of handles in the order they finish; see
/// [`as_completed`]. An `Iterator` (blocking) and a `Stream` of
/// `(index or key, Result<value, Error>)`.
///
/// ```
/// let handles = vec![delayed::value(1).map(|x| x * 10), delayed::value(2).map(|x| x * 10)];
/// let arriving = delayed::as_completed(&handles)?;
/// assert_eq!(arriving.size_hint(), (2, Some(2)));
/// let mut values: Vec<i32> = arriving.map(|(_, v)| v.unwrap()).collect();
/// values.sort();
/// assert_eq!(values, [10, 20]);
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct AsCompleted<K, T> {
    inbox: Arc<Inbox>,
    /// What names each position, taken when its value is yielded.
    keys: Vec<Option<K>>,
    /// The positions of each output node (a handle listed twice is one
    /// node with two positions).
    positions: HashMap<u32, Vec<usize>>,
    /// Results that arrived and wait for their turn.
    ready: VecDeque<(usize, Result<Value, Arc<Error>>)>,
    /// Positions not yielded yet.
    left: usize,
    stop_on_error: bool,
    compute: Background,
    _value: PhantomData<fn() -> T>,
}

/// Where a streaming compute puts its outputs.
#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
}

#[derive(Default)]
struct InboxState {
    arrived: VecDeque<(u32, Result<Value, Arc<Error>>)>,
    /// The compute ended; an error if it ended without all its outputs.
    ended: Option<Result<(), Arc<Error>>>,
    waiters: Waiters,
}

impl Inbox {
    fn push(&self, node: u32, result: Result<Value, Arc<Error>>) {
        let mut state = lock(&self.state);
        state.arrived.push_back((node, result));
        let waiters = state.waiters.take();
        drop(state);
        waiters.wake();
    }

    fn end(&self, outcome: ComputeOutcome) {
        let mut state = lock(&self.state);
        state
            .ended
            .get_or_insert(outcome.map(drop).map_err(Arc::new));
        let waiters = state.waiters.take();
        drop(state);
        waiters.wake();
    }
}

/// What the inbox had to give, or how to be woken when it does.
enum Polled {
    Some,
    Ended,
    Empty,
}

impl Client {
    /// [`as_completed`] on this client.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    /// use std::collections::HashMap;
    ///
    /// #[delayed]
    /// fn size(name: String) -> usize { name.len() }
    ///
    /// let client = Client::builder().threads(2).build()?;
    /// let files: HashMap<&str, _> = [("a", size("a.csv")), ("b", size("bb.csv"))].into();
    /// let mut sizes: Vec<_> = client
    ///     .as_completed(&files)
    ///     .map(|(name, size)| Ok((name, size?)))
    ///     .collect::<Result<_, delayed::Error>>()?;
    /// sizes.sort();
    /// assert_eq!(sizes, [("a", 5), ("b", 6)]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn as_completed<C: Completable + ?Sized>(
        &self,
        handles: &C,
    ) -> AsCompleted<C::Key, C::Value>
    where
        C::Value: TaskValue + Clone,
    {
        let entries = handles.entries();
        let mut roots = Roots::default();
        for (_, handle) in &entries {
            roots.push(handle);
        }
        let graph = Graph::collect(&roots.0);
        drop(roots);
        let keys: Vec<Option<C::Key>> = entries.into_iter().map(|(key, _)| Some(key)).collect();
        let mut positions: HashMap<u32, Vec<usize>> = HashMap::new();
        for (position, &node) in graph.roots.iter().enumerate() {
            positions.entry(node).or_default().push(position);
        }
        let inbox = Arc::new(Inbox::default());
        let sink = inbox.clone();
        let control = Arc::new(Control::streaming(Box::new(move |node, result| {
            sink.push(node, result);
        })));
        let ended = inbox.clone();
        let done = Box::new(move |outcome| ended.end(outcome));
        let job = self.start_background(graph, done, control.clone());
        AsCompleted {
            inbox,
            left: keys.len(),
            keys,
            positions,
            ready: VecDeque::new(),
            stop_on_error: false,
            compute: Background { control, job },
            _value: PhantomData,
        }
    }
}

impl<K, T: TaskValue + Clone> AsCompleted<K, T> {
    /// Stops the whole compute at the first error: it is yielded, then the
    /// iteration ends and what has not run is cancelled.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn check(x: i64) -> Result<i64, String> {
    ///     if x == 2 { Err("two".into()) } else { Ok(x) }
    /// }
    ///
    /// let checks: Vec<_> = (0..4).map(check).collect();
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let results: Vec<_> = client.as_completed(&checks).stop_on_error().collect();
    /// assert!(results.last().unwrap().1.is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn stop_on_error(mut self) -> Self {
        self.stop_on_error = true;
        self
    }

    /// Moves what arrived into `ready`; registers `waker` or this thread
    /// to be woken when more does.
    fn poll_inbox(&mut self, waker: Option<&Waker>) -> Polled {
        let mut state = lock(&self.inbox.state);
        if state.arrived.is_empty() {
            if let Some(ended) = &state.ended {
                // The compute ended before every output went out (it was
                // cancelled or stopped): the rest fail with its error.
                let error = match ended {
                    Err(error) => error.clone(),
                    Ok(()) => Arc::new(Error::stopped()),
                };
                for (_, positions) in self.positions.drain() {
                    for position in positions {
                        self.ready.push_back((position, Err(error.clone())));
                    }
                }
                return if self.ready.is_empty() {
                    Polled::Ended
                } else {
                    Polled::Some
                };
            }
            state.waiters.register(waker);
            return Polled::Empty;
        }
        let arrived = std::mem::take(&mut state.arrived);
        drop(state);
        for (node, result) in arrived {
            // A handle listed twice is one node: it arrives once per
            // listing of the node among the roots, and goes out once per
            // position.
            for position in self.positions.remove(&node).unwrap_or_default() {
                self.ready.push_back((position, result.clone()));
            }
        }
        Polled::Some
    }

    /// The next result, if one is ready.
    fn next_ready(&mut self) -> Option<(K, Result<T, Error>)> {
        let (position, result) = self.ready.pop_front()?;
        let key = self.keys[position]
            .take()
            .expect("each position is yielded once");
        self.left -= 1;
        let result = match result {
            Ok(value) => Ok(value.owned(T::clone)),
            Err(error) => {
                if self.stop_on_error {
                    self.compute.cancel();
                    self.left = 0;
                    self.ready.clear();
                }
                Err(Error::shared(error))
            }
        };
        Some((key, result))
    }
}

impl<K, T: TaskValue + Clone> Iterator for AsCompleted<K, T> {
    type Item = (K, Result<T, Error>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        if let Some(next) = self.next_ready() {
            return Some(next);
        }
        let compute = self.compute.clone();
        compute.wait(|| match self.poll_inbox(None) {
            Polled::Some | Polled::Ended => Some(()),
            Polled::Empty => None,
        });
        self.next_ready()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K: Unpin, T: TaskValue + Clone> futures_core::Stream for AsCompleted<K, T> {
    type Item = (K, Result<T, Error>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.left == 0 {
                return Poll::Ready(None);
            }
            if let Some(next) = this.next_ready() {
                return Poll::Ready(Some(next));
            }
            match this.poll_inbox(Some(cx.waker())) {
                Polled::Some => {}
                Polled::Ended => return Poll::Ready(None),
                Polled::Empty => return Poll::Pending,
            }
        }
    }
}

impl<K, T> Drop for AsCompleted<K, T> {
    /// Cancels what has not run: nobody will read it.
    fn drop(&mut self) {
        self.compute.cancel();
    }
}

impl<K, T> fmt::Debug for AsCompleted<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.left)
            .finish()
    }
}
