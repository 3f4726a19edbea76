//! `Delayed<T>`, the typed lazy handle, and `IntoDelayed<T>`, what a task
//! parameter accepts.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::key::{Key, Name};
use crate::node::{Body, Inputs, Node, NodeRef, Policy};
use crate::resources::Resources;
use crate::value::{TaskValue, Value};

/// A lazy value of type `T`: a handle to a task that has not run yet.
///
/// **A handle is not a value.** Calling a `#[delayed]` function records a
/// task and returns at once; to get the `T`, call [`.compute()`](Self::compute)
/// (or `compute!(a, b)` to compute several handles together). Until then you
/// can pass the handle to other `#[delayed]` functions, which is how the task
/// graph is built:
///
/// ```
/// use delayed::{compute, delayed, Delayed};
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
/// #[delayed]
/// fn add(x: i64, y: i64) -> i64 { x + y }
///
/// let a: Delayed<i64> = inc(1);     // nothing has run yet
/// let b = add(&a, 10);              // handles and plain values mix freely
/// assert_eq!(b.compute()?, 12);     // now both tasks run
/// assert_eq!(compute!(a, b)?, (2, 12));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// Comparing or branching on a handle (`if inc(1) > 0`) does not compile:
/// the value does not exist yet. Compute it first, or move the comparison
/// into a task, which gives a lazy `bool`:
///
/// ```
/// # use delayed::delayed;
/// # #[delayed]
/// # fn inc(x: i64) -> i64 { x + 1 }
/// let positive = inc(1).map(|v| v > 0); // a Delayed<bool>
/// assert!(positive.compute()?);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// Handles are cheap to clone (an `Arc`) and are `Send + Sync`, whatever `T`.
#[must_use = "a handle does nothing until it is computed: call `.compute()` or `compute!(…)`"]
pub struct Delayed<T> {
    pub(crate) node: NodeRef,
    _type: PhantomData<fn() -> T>,
}

impl<T> Delayed<T> {
    pub(crate) fn from_node(node: NodeRef) -> Delayed<T> {
        Delayed {
            node,
            _type: PhantomData,
        }
    }

    /// The key that names this task in errors and pictures.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn load(day: u32) -> Vec<u8> { vec![day as u8] }
    ///
    /// let l = load(3);
    /// assert!(l.key().to_string().starts_with("load-"));
    /// assert_eq!(l.clone().key(), l.key()); // clones are the same task
    /// ```
    pub fn key(&self) -> &Key {
        &self.node.key
    }
}

impl<T: TaskValue> Delayed<T> {
    /// Wraps a plain value in a handle: Dask's `delayed(1)`.
    ///
    /// Plain values can be passed to `#[delayed]` functions directly; wrap one
    /// when you need a handle, for example to share one big input between
    /// many tasks without copying it into each.
    ///
    /// ```
    /// use delayed::Delayed;
    ///
    /// let x = Delayed::value(vec![1, 2, 3]);
    /// assert_eq!(x.compute()?, vec![1, 2, 3]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn value(value: T) -> Delayed<T> {
        Delayed::from_node(Node::new(
            Key::unique(Name::new(&"value")),
            false,
            Vec::new(),
            Body::Ready(Value::new(value)),
        ))
    }
}

impl<T: TaskValue> Delayed<T> {
    /// Gives this task an exact key, Dask's `dask_key_name`: errors and
    /// pictures show `key` instead of a generated `name-…` key.
    ///
    /// Keys given this way are labels: two tasks with the same given key
    /// are still two tasks. (Identical calls of a `#[delayed(pure)]`
    /// function share a key and run once.)
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn load(day: &str) -> Vec<u8> { day.as_bytes().to_vec() }
    ///
    /// let jan = load("2024-01").with_key("load-2024-01");
    /// assert_eq!(jan.key().to_string(), "load-2024-01");
    /// assert_eq!(jan.key().name(), "load");
    /// assert_eq!(jan.compute()?, b"2024-01");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn with_key(self, key: impl AsRef<str>) -> Delayed<T> {
        let key = Key::text(self.node.key.name_ref(), key.as_ref());
        self.rekeyed(key, false)
    }

    /// Names this task: the function part of its key, which pictures,
    /// profiles and errors show. Use it on [`map`](Self::map) and
    /// [`map_ref`](Self::map_ref) closures, operators and function-form
    /// calls, which are otherwise named `map`, `add`, … or `closure`: it
    /// is how Dask's method calls on delayed objects read in a picture.
    ///
    /// ```
    /// let prices = delayed::value(vec![3.0, 5.0]);
    /// let mean = prices
    ///     .map_ref(|p| p.iter().sum::<f64>() / p.len() as f64)
    ///     .named("mean");
    /// assert_eq!(mean.key().name(), "mean");
    /// assert!(mean.key().to_string().starts_with("mean-"));
    /// assert_eq!(mean.compute()?, 4.0);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn named(self, name: &'static str) -> Delayed<T> {
        let key = self.node.key.renamed(Name::interned(name));
        let pure = self.node.pure;
        self.rekeyed(key, pure)
    }

    /// Runs this task up to `retries` more times when it fails (returns
    /// `Err` or panics, or an async attempt times out), pausing between
    /// attempts (see [`with_backoff`](Self::with_backoff)): Dask's
    /// `retries=`. Also `#[delayed(retries = 3)]` on the function.
    ///
    /// The final error keeps the last attempt's cause and says how many
    /// attempts were made ([`Error::attempts`](crate::Error::attempts));
    /// callbacks see every attempt. A task that may run again reads its
    /// inputs as clones rather than taking them.
    ///
    /// `with_retries(0)` makes the task fail with an error that says so.
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// static CALLS: AtomicU32 = AtomicU32::new(0);
    ///
    /// #[delayed]
    /// fn flaky(x: u32) -> Result<u32, String> {
    ///     // Fails twice, then works.
    ///     match CALLS.fetch_add(1, Ordering::SeqCst) {
    ///         0 | 1 => Err("connection reset".into()),
    ///         _ => Ok(x * 2),
    ///     }
    /// }
    ///
    /// let value = flaky(21).with_retries(3).with_backoff(Duration::from_millis(1));
    /// assert_eq!(value.compute()?, 42);
    /// assert_eq!(CALLS.load(Ordering::SeqCst), 3);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn with_retries(self, retries: u32) -> Delayed<T> {
        self.configured(|policy| {
            policy.retries = retries;
            if retries == 0 {
                policy.invalid = Some(
                    "`with_retries(0)` retries nothing: give at least 1, or leave `with_retries` out"
                        .into(),
                );
            }
        })
    }

    /// The pause before the first retry (default 100 ms); each next pause
    /// doubles, up to a minute. Also `#[delayed(backoff = "10ms")]`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let quick = delayed::value(1).map(|x| x + 1).with_retries(2).with_backoff(Duration::from_millis(5));
    /// assert_eq!(quick.compute()?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn with_backoff(self, first: Duration) -> Delayed<T> {
        self.configured(|policy| policy.backoff = Some(first))
    }

    /// Gives each attempt of this task at most `timeout`. Also
    /// `#[delayed(timeout = "30s")]`.
    ///
    /// An async task that runs out of time is dropped (and retried, if it
    /// has retries left). A synchronous task cannot be interrupted: the
    /// compute fails at once with a timeout error naming the task
    /// ([`Error::is_timeout`](crate::Error::is_timeout)), while the task's
    /// thread finishes in the background and its result is discarded; it is
    /// not retried. (On the synchronous client, which runs tasks on the
    /// caller's thread, a synchronous task's timeout is checked when it
    /// returns.) A zero timeout makes the task fail with an error that says
    /// so.
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::time::Duration;
    ///
    /// #[delayed]
    /// async fn fetch(ms: u64) -> u64 {
    ///     tokio::time::sleep(Duration::from_millis(ms)).await;
    ///     ms
    /// }
    ///
    /// assert_eq!(fetch(1).with_timeout(Duration::from_secs(5)).compute()?, 1);
    /// let err = fetch(60_000).with_timeout(Duration::from_millis(20)).compute().unwrap_err();
    /// assert!(err.is_timeout());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn with_timeout(self, timeout: Duration) -> Delayed<T> {
        self.configured(|policy| {
            policy.timeout = Some(timeout);
            if timeout.is_zero() {
                policy.invalid = Some(
                    "`with_timeout` of zero leaves no time to run: give a positive duration".into(),
                );
            }
        })
    }

    /// Among tasks ready at the same time, runs this one before those of
    /// lower priority (0 by default; negative runs after). Tasks of equal
    /// priority keep the order they would have had. Locally it orders
    /// every ready task of a compute; on workers, the order in which
    /// tasks are sent and each worker's batch. Dask's `priority=`; also
    /// `#[delayed(priority = 10)]` on the function.
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::sync::Mutex;
    ///
    /// static ORDER: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    ///
    /// #[delayed]
    /// fn step(name: &'static str) -> &'static str { ORDER.lock().unwrap().push(name); name }
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let steps = vec![step("later"), step("first").with_priority(10), step("last").with_priority(-1)];
    /// client.compute(&steps)?;
    /// assert_eq!(*ORDER.lock().unwrap(), ["first", "later", "last"]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn with_priority(self, priority: i32) -> Delayed<T> {
        self.configured(|policy| policy.priority = priority)
    }

    /// Runs this task only where `resources` fit, holding them while it
    /// runs: on a client whose
    /// [`resources`](crate::ClientBuilder::resources) have them free, or
    /// on a worker started with enough (`DELAYED_WORKER_RESOURCES`).
    /// A task that no client or worker can ever fit fails at once, naming
    /// the resource, rather than wait. Also `#[delayed(resources(gpu = 1,
    /// memory = "4GiB"))]` on the function.
    ///
    /// ```
    /// use delayed::{Client, ErrorKind, Resources};
    ///
    /// let client = Client::builder().threads(4).resources(Resources::from([("gpu", 1)])).build()?;
    /// let on_gpu = delayed::value(2).map(|x| x * 10).with_resources([("gpu", 1)]);
    /// assert_eq!(client.compute(&on_gpu)?, 20);
    /// let too_big = delayed::value(2).map(|x| x * 10).with_resources([("gpu", 2)]);
    /// let err = client.compute(&too_big).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("needs gpu=2"), "{err}");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn with_resources(self, resources: impl Into<Resources>) -> Delayed<T> {
        let resources = resources.into();
        self.configured(|policy| {
            policy.resources = (!resources.is_empty()).then(|| Arc::new(resources));
        })
    }

    /// This task with its policy changed: in place when nothing else
    /// refers to it yet; otherwise a new node with the same key, inputs and
    /// body, so that other handles keep the task as it was.
    fn configured(mut self, change: impl FnOnce(&mut Policy)) -> Delayed<T> {
        if let Some(node) = NodeRef::get_mut(&mut self.node) {
            change(node.policy_mut());
            return self;
        }
        let mut policy = self.node.policy().cloned().unwrap_or_default();
        change(&mut policy);
        self.over(|same| same.with_policy(Some(policy)))
    }

    /// A node with this task's key and inputs whose body is `wrap` of
    /// this node's, which other handles still refer to as it was.
    fn over(&self, wrap: impl FnOnce(Body) -> Body) -> Delayed<T> {
        Delayed::from_node(NodeRef::new(Node {
            key: self.node.key.clone(),
            pure: false,
            gathers: self.node.gathers,
            deps: self.node.deps.clone(),
            body: wrap(Body::Same(self.node.clone())),
        }))
    }

    /// Reads this task's value from the client's cache when it is there,
    /// and writes it there when it runs: undoes [`uncached`](Self::uncached).
    /// Tasks of `#[delayed(cache)]` functions are cached already (feature
    /// `cache`); any other task computed with `.cached()` fails with a
    /// configuration error naming it, since only that attribute records
    /// what its key is made of.
    ///
    /// ```
    /// use delayed::{delayed, ErrorKind};
    ///
    /// #[delayed(cache)]
    /// fn square(x: u64) -> u64 { x * x }
    /// #[delayed]
    /// fn cube(x: u64) -> u64 { x * x * x }
    ///
    /// assert_eq!(square(3).uncached().cached().compute()?, 9);
    /// let err = cube(3).cached().compute().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("#[delayed(cache)]"), "{err}");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "cache")]
    pub fn cached(self) -> Delayed<T> {
        if self.node.cached().is_none() {
            let name = self.node.key.name();
            return self.configured(|policy| {
                policy.invalid = Some(format!(
                    "`.cached()` on a task of `{name}`, which is not `#[delayed(cache)]`: \
                     only that attribute records what a task's cache key is made of; \
                     write `#[delayed(cache)]` on `{name}`"
                ))
            });
        }
        self.cache_switched(true)
    }

    /// Runs this task whether or not its value is in the cache, and writes
    /// nothing (feature `cache`): for a task of a `#[delayed(cache)]`
    /// function whose value must be fresh this time. On any other task it
    /// changes nothing.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed(cache)]
    /// fn now_ms() -> u128 {
    ///     std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_millis()
    /// }
    ///
    /// let fresh = now_ms().uncached();
    /// assert!(fresh.compute()? > 0);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "cache")]
    pub fn uncached(self) -> Delayed<T> {
        if self.node.cached().is_none() {
            return self;
        }
        self.cache_switched(false)
    }

    /// This task with its cache on or off: changed in place when nothing
    /// else refers to it yet; otherwise a node with its own switch over
    /// the same body, keeping its policy.
    #[cfg(feature = "cache")]
    fn cache_switched(mut self, on: bool) -> Delayed<T> {
        if let Some(node) = NodeRef::get_mut(&mut self.node)
            && let Some(cached) = node.cached_mut()
        {
            cached.on = on;
            *crate::sync::lock(&cached.verdict) = None;
            return self;
        }
        let spec = match self.node.cached() {
            Some(cached) if cached.on == on => return self,
            Some(cached) => cached.spec.clone(),
            None => return self,
        };
        // The policy stays outermost, where the executor looks for it.
        let policy = self.node.policy().cloned();
        self.over(|same| same.cached(spec, on).with_policy(policy))
    }

    /// This task under another key: renamed in place when nothing else
    /// refers to it yet; otherwise its value is passed on, without a copy,
    /// by a task with the new key.
    fn rekeyed(mut self, key: Key, pure: bool) -> Delayed<T> {
        if let Some(node) = NodeRef::get_mut(&mut self.node) {
            node.key = key;
            node.pure = pure;
            return self;
        }
        let pass_on = Body::Sync(Box::new(|inputs: &mut Inputs<'_>| Ok(inputs.share(0))));
        let key = if key == self.node.key {
            Key::unique(key.name_ref())
        } else {
            key
        };
        Delayed::from_node(Node::new(key, false, vec![self.node], pass_on))
    }

    /// A handle to the already computed `value` of this handle's task,
    /// under the same key.
    pub(crate) fn persisted(&self, value: Value) -> Delayed<T> {
        let key = self.node.key.clone();
        Delayed::from_node(Node::new(
            key,
            self.node.pure,
            Vec::new(),
            Body::Ready(value),
        ))
    }
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed::from_node(self.node.clone())
    }
}

impl<T> fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delayed({})", self.node.key)
    }
}

/// Wraps a plain value in a handle: the free-function form of
/// [`Delayed::value`], Dask's `delayed(1)`.
///
/// ```
/// let x = delayed::value("hello".to_string());
/// assert_eq!(x.compute()?, "hello");
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn value<T: TaskValue>(value: T) -> Delayed<T> {
    Delayed::value(value)
}

/// What a parameter of type `T` (or `&T`) of a `#[delayed]` function
/// accepts: a plain `T`, a `Delayed<T>` or a `&Delayed<T>`.
///
/// Passing a handle by reference keeps it usable afterwards; passing it by
/// value moves the handle (not the value) into the new task. A `&str`
/// parameter accepts string slices, `String`s and `Delayed<String>`s.
///
/// ```
/// use delayed::{delayed, IntoDelayed};
///
/// #[delayed]
/// fn add(x: i64, y: i64) -> i64 { x + y }
///
/// let one = delayed::value(1);
/// let a = add(&one, 2);      // &Delayed<i64> and a plain i64
/// let b = add(a, one);       // Delayed<i64> by value
/// assert_eq!(b.compute()?, 4);
///
/// // Your own graph-building functions can accept the same mix:
/// fn twice(x: impl IntoDelayed<i64>) -> delayed::Delayed<i64> {
///     let x = x.into_delayed();
///     add(&x, &x)
/// }
/// assert_eq!(twice(5).compute()?, 10);
/// # Ok::<(), delayed::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a task argument of type `{T}`",
    label = "expected `{T}`, `Delayed<{T}>` or `&Delayed<{T}>`",
    note = "pass a value or a handle of the parameter's type; to turn a handle of another type into one, use `.map(…)` on it (for a handle of a `Result` made by `.call(…)`, call `.try_call(…)` instead: it gives a handle of the `Ok` type)",
    note = "task values cross threads, so they must also be `Send + Sync + 'static`: use `Arc<T>` for `Rc<T>`, `Mutex<T>` for `RefCell<T>`"
)]
pub trait IntoDelayed<T> {
    /// Turns the argument into a handle, wrapping a plain value with
    /// [`Delayed::value`].
    fn into_delayed(self) -> Delayed<T>;

    /// Hands the argument to a task under construction. Plain values are
    /// kept inside the task instead of becoming nodes of their own, as
    /// literal arguments are in a Dask graph.
    #[doc(hidden)]
    fn into_arg(self) -> Arg<T>
    where
        Self: Sized,
    {
        Arg::Handle(self.into_delayed())
    }
}

/// An argument of a task under construction.
#[doc(hidden)]
pub enum Arg<T> {
    Value(T),
    Handle(Delayed<T>),
}

impl<T: TaskValue> IntoDelayed<T> for T {
    fn into_delayed(self) -> Delayed<T> {
        Delayed::value(self)
    }

    fn into_arg(self) -> Arg<T> {
        Arg::Value(self)
    }
}

impl<T> IntoDelayed<T> for Delayed<T> {
    fn into_delayed(self) -> Delayed<T> {
        self
    }
}

impl<T> IntoDelayed<T> for &Delayed<T> {
    fn into_delayed(self) -> Delayed<T> {
        self.clone()
    }
}

/// A reference to a value is cloned into the task, as if the value had
/// been passed: `f(&path)` for a `path: PathBuf` parameter.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn size(path: std::path::PathBuf) -> usize { path.as_os_str().len() }
///
/// let path = std::path::PathBuf::from("data/2024.csv");
/// assert_eq!(size(&path).compute()?, 13);
/// assert_eq!(delayed::delayed(|p: String| p.len()).call(&"four".to_string()).compute()?, 4);
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + Clone> IntoDelayed<T> for &T {
    fn into_delayed(self) -> Delayed<T> {
        Delayed::value(self.clone())
    }

    fn into_arg(self) -> Arg<T> {
        Arg::Value(self.clone())
    }
}

/// A slice is copied into the `Vec` that a `&[T]` parameter stores, as a
/// `&str` is into a `String`: `total(&readings[..10])`.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn total(values: &[u32]) -> u32 { values.iter().sum() }
///
/// let readings = vec![1, 2, 3, 4];
/// assert_eq!(total(&readings[..2]).compute()?, 3);
/// assert_eq!(total(&readings).compute()?, 10);
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + Clone> IntoDelayed<Vec<T>> for &[T] {
    fn into_delayed(self) -> Delayed<Vec<T>> {
        Delayed::value(self.to_vec())
    }

    fn into_arg(self) -> Arg<Vec<T>> {
        Arg::Value(self.to_vec())
    }
}

// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl IntoDelayed<String> for &str {
    fn into_delayed(self) -> Delayed<String> {
        Delayed::value(self.to_owned())
    }

    fn into_arg(self) -> Arg<String> {
        Arg::Value(self.to_owned())
    }
}
