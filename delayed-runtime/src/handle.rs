//! `Delayed<T>`, the typed lazy handle, and `IntoDelayed<T>`, what a task
//! parameter accepts.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::client::Client;
use crate::error::Error;
use crate::node::{Body, Inputs, Key, Node, Value};
use crate::task::TaskBuilder;

/// What a task can take and return: values cross threads between tasks, so
/// they must be `Send + Sync + 'static`.
///
/// It is implemented for every such type; name it in the bounds of your own
/// generic code that builds graphs.
///
/// ```
/// use delayed::{Delayed, TaskValue};
///
/// fn wrap_all<T: TaskValue>(values: Vec<T>) -> Vec<Delayed<T>> {
///     values.into_iter().map(Delayed::value).collect()
/// }
/// assert_eq!(wrap_all(vec![1, 2]).len(), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a task value: task values cross threads, so they must be `Send + Sync + 'static`",
    label = "not `Send + Sync + 'static`",
    note = "use a thread-safe type instead: `Arc<T>` for `Rc<T>`, `Mutex<T>` or `RwLock<T>` for `RefCell<T>`, an owned value for a borrowed one"
)]
pub trait TaskValue: Send + Sync + 'static {}

// Errors name `TaskValue` and its explanation rather than whichever of
// `Send`, `Sync` or `'static` failed.
#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static + ?Sized> TaskValue for T {}

/// The bound on a parameter taken by value: a value may feed several tasks,
/// and each owner but the last gets a clone.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` must be `Clone` to be taken by value: the value may feed several tasks, and all but the last get a clone",
    label = "this parameter takes `{Self}` by value",
    note = "take it by reference instead, `&{Self}`, which borrows the shared value and needs no `Clone`; or derive `Clone` for it"
)]
pub trait ByValue: Clone {}

#[diagnostic::do_not_recommend]
impl<T: Clone> ByValue for T {}

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
/// into a task.
///
/// Handles are cheap to clone (an `Arc`) and are `Send + Sync`, whatever `T`.
#[must_use = "a handle does nothing until it is computed: call `.compute()` or `compute!(…)`"]
pub struct Delayed<T> {
    pub(crate) node: Arc<Node>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Delayed<T> {
    pub(crate) fn from_node(node: Arc<Node>) -> Delayed<T> {
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
            Key::unique("value"),
            false,
            Vec::new(),
            Body::Ready(Arc::new(value)),
        ))
    }
}

impl<T: TaskValue> Delayed<T> {
    /// A lazy call of `f` on a reference to the value: the Rust form of
    /// Dask's attribute access and method calls on a delayed object
    /// (`x.attr`, `x.method()`). It needs no `Clone`.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// struct Report { title: String, pages: u32 }
    ///
    /// #[delayed]
    /// fn load(n: u32) -> Report { Report { title: format!("report {n}"), pages: n * 10 } }
    ///
    /// let report = load(3);
    /// let title = report.map_ref(|r| r.title.clone());
    /// let pages = report.map_ref(|r| r.pages);
    /// assert_eq!(delayed::compute!(title, pages)?, ("report 3".to_string(), 30));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn map_ref<U, F>(&self, f: F) -> Delayed<U>
    where
        U: TaskValue,
        F: Fn(&T) -> U + Send + Sync + 'static,
    {
        self.apply_ref("map", f)
    }

    /// Draws the task graph behind this handle; see [`visualize`](crate::visualize).
    ///
    /// ```
    /// let picture = delayed::value(1).visualize();
    /// assert!(picture.to_dot().contains("value"));
    /// ```
    pub fn visualize(&self) -> crate::Visualization {
        let mut roots = crate::compute::Roots::default();
        roots.push(self);
        crate::Visualization::of(roots)
    }

    /// A task named `name` that calls `f` on a reference to the value.
    fn apply_ref<U, F>(&self, name: &'static str, f: F) -> Delayed<U>
    where
        U: TaskValue,
        F: Fn(&T) -> U + Send + Sync + 'static,
    {
        let mut builder = TaskBuilder::new(name);
        let value = builder.arg(Arg::Handle(self.clone()));
        builder.sync(move |inputs| Ok(f(&value.get(inputs))))
    }

    /// A lazy call of `f` on the value itself, which it may consume; the
    /// value is moved in when this task is its last consumer, cloned
    /// otherwise. Use [`map_ref`](Self::map_ref) when a reference will do.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn words(text: String) -> Vec<String> {
    ///     text.split_whitespace().map(str::to_owned).collect()
    /// }
    ///
    /// let upper = words("lazy rust".to_string())
    ///     .map(|w| w.into_iter().map(|s| s.to_uppercase()).collect::<Vec<_>>());
    /// assert_eq!(upper.compute()?, ["LAZY", "RUST"]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn map<U, F>(&self, f: F) -> Delayed<U>
    where
        T: ByValue,
        U: TaskValue,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.apply_owned("map", f)
    }

    /// A task named `name` that calls `f` on the value itself.
    pub(crate) fn apply_owned<U, F>(&self, name: &'static str, f: F) -> Delayed<U>
    where
        T: ByValue,
        U: TaskValue,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let mut builder = TaskBuilder::new(name);
        let value = builder.arg_owned(Arg::Handle(self.clone()));
        builder.sync(move |inputs| Ok(f(value.get(inputs))))
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
    pub fn with_key(mut self, key: impl AsRef<str>) -> Delayed<T> {
        let key = Key::text(self.node.key.name(), key.as_ref());
        if let Some(node) = Arc::get_mut(&mut self.node) {
            // Nothing else refers to this task yet: rename it in place.
            node.key = key;
            node.pure = false;
            return self;
        }
        // Other handles or tasks already refer to it under its old key:
        // name its value with a task that passes it on without a copy.
        let pass_on = Body::Sync(Box::new(|inputs: &mut Inputs| Ok(inputs.take(0))));
        Delayed::from_node(Node::new(key, false, vec![self.node], pass_on))
    }

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
        Client::global()?.persist(self)
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
        Client::global()?.compute(self)
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
        Client::global()?.compute_async(self).await
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
    note = "pass a value or a handle of the parameter's type; to turn a handle of another type into one, use `.map(…)` on it",
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

impl IntoDelayed<String> for &str {
    fn into_delayed(self) -> Delayed<String> {
        Delayed::value(self.to_owned())
    }

    fn into_arg(self) -> Arg<String> {
        Arg::Value(self.to_owned())
    }
}

macro_rules! splits {
    ($( ($($part:ident $i:tt),+) )+) => {$(
        impl<$($part: TaskValue + Clone),+> Delayed<($($part,)+)> {
            /// One handle per element of a lazy tuple: Dask's `nout`.
            ///
            /// Each element becomes a `getitem` task that clones its element
            /// out of the shared tuple, so a task that needs one element
            /// does not wait for, or copy, the others' consumers.
            ///
            /// ```
            /// use delayed::{compute, delayed};
            ///
            /// #[delayed]
            /// fn min_max(v: Vec<i32>) -> (i32, i32) {
            ///     (*v.iter().min().unwrap(), *v.iter().max().unwrap())
            /// }
            ///
            /// let (lo, hi) = min_max(vec![3, 1, 4]).split();
            /// assert_eq!(compute!(lo, hi)?, (1, 4));
            /// # Ok::<(), delayed::Error>(())
            /// ```
            pub fn split(&self) -> ($(Delayed<$part>,)+) {
                ($(self.apply_ref("getitem", |tuple| tuple.$i.clone()),)+)
            }
        }
    )+};
}

splits! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}
