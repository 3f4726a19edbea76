//! The typed builder that `#[delayed]` and `delayed(f).call(…)` use to turn
//! a call into a node: it records each argument as a dependency or a
//! constant, and erases the typed call into the node's body.
//!
//! Generated code reaches it through `::delayed::__private`; it is not part
//! of the public contract.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::BoxError;
use crate::handle::{Arg, Delayed};
use crate::key::{Key, Name};
use crate::node::{AsyncCall, Body, Gathers, Inputs, Node, NodeRef, Policy, SharedCall, SyncCall};
use crate::sync::interned;
use crate::value::Value;
use crate::value::{ByValue, TaskValue};

/// Collects a task's arguments, then builds its node.
#[doc(hidden)]
pub struct TaskBuilder {
    name: Name,
    deps: Vec<NodeRef>,
    /// Set for a pure call: its key, hashed from the call.
    pure_key: Option<Key>,
    gathers: Gathers,
    /// Where the arguments recorded so far are read from, for
    /// [`shared_sync`](Self::shared_sync).
    layout: Layout,
    /// How many arguments were recorded.
    args: u32,
    policy: Option<Box<Policy>>,
    /// What a worker needs to run the task, when it can run on one.
    #[cfg(feature = "distributed")]
    remote: Option<crate::wire::Spec>,
    /// How the task's cache key is made (`#[delayed(cache)]`).
    #[cfg(feature = "cache")]
    cache: Option<crate::cache::Spec>,
}

impl TaskBuilder {
    /// A task named `*name`: a pointer to the name, so that its key holds
    /// one word for it (`TaskBuilder::new(&"inc")`).
    pub fn new(name: &'static &'static str) -> TaskBuilder {
        TaskBuilder::named(Name::new(name))
    }

    /// A task named `name`, for the crate's own tasks.
    pub(crate) fn named(name: Name) -> TaskBuilder {
        TaskBuilder {
            name,
            deps: Vec::new(),
            pure_key: None,
            gathers: Gathers::Nothing,
            layout: Layout::Handles,
            args: 0,
            policy: None,
            #[cfg(feature = "distributed")]
            remote: None,
            #[cfg(feature = "cache")]
            cache: None,
        }
    }

    /// `#[delayed(cache)]`: the task's value may be read from the client's
    /// cache, under a key made as `spec` says.
    #[cfg(feature = "cache")]
    pub fn cache(&mut self, spec: crate::cache::Spec) {
        self.cache = Some(spec);
    }

    /// Records how the task runs on a worker (feature `distributed`): the
    /// registered function at `path`, each argument as a value or an input
    /// to encode when the task is sent, and how to decode the result. A
    /// `None` (a type that is not a serde type) keeps the task in the
    /// client.
    #[cfg(feature = "distributed")]
    pub fn remote(
        &mut self,
        path: &'static str,
        parts: Vec<Option<crate::wire::Part>>,
        decode: Option<crate::wire::Decode>,
    ) {
        let parts: Option<Vec<_>> = parts.into_iter().collect();
        self.remote = parts.zip(decode).map(|(parts, decode)| crate::wire::Spec {
            path,
            parts,
            decode,
        });
    }

    /// `#[delayed(retries = n)]`: runs the task up to `n` more times after
    /// it fails (the macro has checked that `n` is at least 1).
    pub fn retries(&mut self, retries: u32) {
        self.policy.get_or_insert_with(Box::default).retries = retries;
    }

    /// `#[delayed(backoff = "…")]`: the pause before the first retry.
    pub fn backoff_ms(&mut self, ms: u64) {
        self.policy.get_or_insert_with(Box::default).backoff = Some(Duration::from_millis(ms));
    }

    /// `#[delayed(timeout = "…")]`: how long one attempt may take.
    pub fn timeout_ms(&mut self, ms: u64) {
        self.policy.get_or_insert_with(Box::default).timeout = Some(Duration::from_millis(ms));
    }

    /// `#[delayed(priority = n)]`: among ready tasks, a higher one runs
    /// first.
    pub fn priority(&mut self, priority: i32) {
        self.policy.get_or_insert_with(Box::default).priority = priority;
    }

    /// `#[delayed(resources(name = amount, …))]`: what the task needs to
    /// run, one resource at a time (the macro has checked the amounts).
    pub fn resource(&mut self, name: &'static str, amount: u64) {
        let policy = self.policy.get_or_insert_with(Box::default);
        let resources = policy.resources.take().map(Arc::unwrap_or_clone);
        policy.resources = Some(Arc::new(resources.unwrap_or_default().with(name, amount)));
    }

    /// Marks the task as a junction that only gathers its inputs into
    /// what `gathers` says.
    pub(crate) fn junction(&mut self, gathers: Gathers) {
        self.gathers = gathers;
    }

    /// Makes the task pure: its key is `hash`, so identical calls share a
    /// key and a compute runs them once.
    pub fn pure(&mut self, hash: u64) {
        self.pure_key = Some(Key::hashed(self.name, hash));
    }

    /// Records an argument for a `&T` parameter: a handle becomes a
    /// dependency edge, a plain value is kept in the task itself.
    ///
    /// The bounds are checked here, where the argument is recorded, rather
    /// than in the task's call, so that an unmet one is reported once, on
    /// the parameter's type.
    pub fn arg<T: TaskValue>(&mut self, arg: Arg<T>) -> Shared<T> {
        self.args += 1;
        let source = match arg {
            Arg::Value(value) => {
                self.layout = Layout::Own;
                Source::Const(Arc::new(value))
            }
            Arg::Handle(handle) => {
                self.deps.push(handle.node);
                Source::Input(self.deps.len() - 1)
            }
        };
        Shared {
            source,
            downcast: Value::shared::<T>,
        }
    }

    /// Records an argument for a `T` parameter, taken by value. A plain
    /// value is kept inline (no allocation) and cloned for each run; the
    /// first scalar of a call whose other arguments are handles is kept
    /// in the node instead, so that the call can be shared.
    pub fn arg_owned<T: TaskValue + ByValue>(&mut self, arg: Arg<T>) -> Owned<T> {
        let position = self.args;
        self.args += 1;
        let source = match arg {
            Arg::Value(value) => match (&self.layout, crate::value::to_word(&value)) {
                (Layout::Handles, Some(word)) => {
                    self.layout = Layout::Word { position, word };
                    OwnedSource::Word(word)
                }
                _ => {
                    self.layout = Layout::Own;
                    OwnedSource::Const(value)
                }
            },
            Arg::Handle(handle) => {
                self.deps.push(handle.node);
                OwnedSource::Input(self.deps.len() - 1)
            }
        };
        Owned {
            source,
            fns: &OwnedFns::<T>::FNS,
        }
    }

    /// Builds a task from a synchronous call. The call may block.
    pub fn sync<T, F>(self, call: F) -> Delayed<T>
    where
        T: TaskValue,
        F: Fn(&mut Inputs<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        self.finish(Body::Sync(erased_sync(call)))
    }

    /// Builds a task from a call that returns a future.
    pub fn future<T, F, Fut>(self, call: F) -> Delayed<T>
    where
        T: TaskValue,
        F: Fn(&mut Inputs<'_>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
    {
        self.finish(Body::Async(erased_async(call)))
    }

    /// Builds a task from a synchronous call that holds nothing but the
    /// slots of its arguments, as the call `#[delayed]` writes does. When
    /// every argument is a handle (and at most one a scalar, held in the
    /// node), the tasks of one function share one call (`Body::Shared`):
    /// `call` is then dropped, unless it is the first of its kind.
    pub fn shared_sync<T, F>(self, call: F) -> Delayed<T>
    where
        T: TaskValue,
        F: Fn(&mut Inputs<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        self.shared_or_own(
            call,
            |call| SharedCall::Sync(erased_sync(call)),
            |call| Body::Sync(erased_sync(call)),
        )
    }

    /// Builds a task from a call that returns a future and holds nothing
    /// but the slots of its arguments: [`shared_sync`](Self::shared_sync)
    /// for `async fn`s.
    pub fn shared_future<T, F, Fut>(self, call: F) -> Delayed<T>
    where
        T: TaskValue,
        F: Fn(&mut Inputs<'_>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
    {
        self.shared_or_own(
            call,
            |call| SharedCall::Async(erased_async(call)),
            |call| Body::Async(erased_async(call)),
        )
    }

    /// The task of `call`, shared as `shared` makes it when the layout
    /// allows, or the task's own as `own` makes it.
    fn shared_or_own<T, F: 'static>(
        self,
        call: F,
        shared: fn(F) -> SharedCall,
        own: fn(F) -> Body,
    ) -> Delayed<T> {
        let body = match self.layout.shared() {
            Some((position, word)) => Body::Shared {
                call: shared_call::<F>(position, || shared(call)),
                word,
            },
            None => own(call),
        };
        self.finish(body)
    }

    fn finish<T>(self, body: Body) -> Delayed<T> {
        let pure = self.pure_key.is_some();
        let key = self.pure_key.unwrap_or_else(|| Key::unique(self.name));
        #[cfg(feature = "distributed")]
        let body = match self.remote {
            Some(spec) => Body::Remote(Box::new(crate::node::Remote { spec, body })),
            None => body,
        };
        #[cfg(feature = "cache")]
        let body = match self.cache {
            Some(spec) => body.cached(Arc::new(spec), true),
            None => body,
        };
        let body = body.with_policy(self.policy.map(|policy| *policy));
        Delayed::from_node(NodeRef::new(Node {
            key,
            pure,
            gathers: self.gathers,
            deps: self.deps.into(),
            body,
        }))
    }
}

/// Where a call's arguments are read from, as far as they are recorded.
enum Layout {
    /// Every argument is a handle: argument `i` is the task's `i`-th input.
    Handles,
    /// Handles, and at `position` a scalar held in the node as `word`.
    Word { position: u32, word: u64 },
    /// Some argument is held in the call itself: the call is the task's own.
    Own,
}

impl Layout {
    /// What tells apart the calls this layout can share, the scalar's
    /// position (if any), and the word the node holds; `None` when the
    /// call cannot be shared.
    fn shared(&self) -> Option<(Option<u32>, u64)> {
        match *self {
            Layout::Handles => Some((None, 0)),
            Layout::Word { position, word } => Some((Some(position), word)),
            Layout::Own => None,
        }
    }
}

/// The call shared by the tasks of closure type `F` whose scalar argument
/// (if any) is at `position`, made by `make` the first time.
///
/// Given the type and the position, a shared call's slots are determined:
/// every other argument is a handle, read from the next input in order.
/// So one call serves them all. Calls are kept for the life of the process:
/// there is one per function and layout that ever ran, as with the code
/// itself ([`interned`]).
fn shared_call<F: 'static>(
    position: Option<u32>,
    make: impl FnOnce() -> SharedCall,
) -> &'static SharedCall {
    type Calls = BTreeMap<(TypeId, Option<u32>), &'static SharedCall>;
    thread_local! {
        static KNOWN: RefCell<Calls> = const { RefCell::new(BTreeMap::new()) };
    }
    static ALL: Mutex<Calls> = Mutex::new(BTreeMap::new());
    let key = (TypeId::of::<F>(), position);
    interned(&KNOWN, &ALL, key, || &*Box::leak(Box::new(make())))
}

/// Hashes a pure call into its key: the function's path, the output type,
/// each argument's type, each plain argument by value and each handle by
/// its key. The hasher has fixed keys, so a call's key is the same in every
/// run of one binary. Two calls share a key only when all of these are
/// equal (or on a 64-bit hash collision, about one in 10^19 per pair).
#[doc(hidden)]
pub struct PureKey(std::hash::DefaultHasher);

impl PureKey {
    pub fn new(function: &str, output: &str) -> PureKey {
        let mut hasher = std::hash::DefaultHasher::new();
        function.hash(&mut hasher);
        output.hash(&mut hasher);
        PureKey(hasher)
    }

    pub fn arg<T: PureArg>(&mut self, arg: &Arg<T>) {
        // `1_i32` and `1_u32` hash alike: the type tells them apart.
        std::any::type_name::<T>().hash(&mut self.0);
        match arg {
            Arg::Value(value) => self.value(value),
            Arg::Handle(handle) => self.handle(handle),
        }
    }

    pub fn value<T: PureArg + ?Sized>(&mut self, value: &T) {
        0_u8.hash(&mut self.0);
        value.hash(&mut self.0);
    }

    pub fn handle<T>(&mut self, handle: &Delayed<T>) {
        1_u8.hash(&mut self.0);
        handle.key().hash(&mut self.0);
    }

    pub fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// The task a function rejected by `#[delayed]` stands for: the crate does
/// not compile, but the stand-in's callers type-check against it. Were it
/// ever computed, it would fail, naming the function.
#[doc(hidden)]
pub fn rejected<T>(name: &'static str) -> Delayed<T> {
    let body = Body::Sync(Box::new(move |_: &mut Inputs<'_>| {
        Err(format!("`#[delayed]` rejected `{name}` when it was compiled").into())
    }));
    Delayed::from_node(Node::new(
        Key::unique(Name::interned(name)),
        false,
        Vec::new(),
        body,
    ))
}

/// Gives an `async` body's future its declared output type, so that `?`
/// and `return` inside it convert as in the function as written.
#[doc(hidden)]
pub fn returning<T, F: Future<Output = T>>(future: F) -> F {
    future
}

/// What a parameter of a pure function needs: its values are hashed into
/// the task's key.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` must be `Hash` to be an argument of a `#[delayed(pure)]` function: the task's key is a hash of its arguments",
    label = "not `Hash`",
    note = "derive `Hash` for your own types; for a float, pass its bits (`x.to_bits()`, a `u64`) or a hashable wrapper; or remove `pure` so that every call is its own task"
)]
pub trait PureArg: Hash {}

#[diagnostic::do_not_recommend]
impl<T: Hash + ?Sized> PureArg for T {}

fn erase<T: TaskValue>(value: T) -> Value {
    Value::new(value)
}

/// A typed synchronous call, as a node's body calls it.
fn erased_sync<T, F>(call: F) -> Box<SyncCall>
where
    T: TaskValue,
    F: Fn(&mut Inputs<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
{
    Box::new(move |inputs| call(inputs).map(erase))
}

/// A typed call that returns a future, as a node's body calls it.
fn erased_async<T, F, Fut>(call: F) -> Box<AsyncCall>
where
    T: TaskValue,
    F: Fn(&mut Inputs<'_>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
{
    Box::new(move |inputs| {
        let future = call(inputs);
        Box::pin(async move { future.await.map(erase) })
    })
}

/// Where the argument for a `&T` parameter comes from when the task runs.
#[doc(hidden)]
pub struct Shared<T> {
    source: Source<T>,
    /// `Value::shared::<T>`, captured where `T`'s bounds were checked.
    downcast: fn(Value) -> Arc<T>,
}

/// Where the argument for a `T` parameter comes from when the task runs.
#[doc(hidden)]
pub struct Owned<T: 'static> {
    source: OwnedSource<T>,
    /// `downcast::<T>` and `T::clone`, captured where `T`'s bounds were
    /// checked; one static table per type, so a task stores one pointer.
    fns: &'static OwnedFns<T>,
}

struct OwnedFns<T> {
    /// The value moved out of its only reference, or cloned.
    owned: fn(Value) -> T,
    clone: fn(&T) -> T,
}

impl<T: TaskValue + ByValue> OwnedFns<T> {
    const FNS: OwnedFns<T> = OwnedFns {
        owned: |value| value.owned(T::clone),
        clone: T::clone,
    };
}

enum OwnedSource<T> {
    Const(T),
    Input(usize),
    /// A scalar that the task's node holds when its call is shared. A
    /// shared call reads the node's (`Inputs::word`): the call, and this
    /// copy with it, may have been made for another task. A call of the
    /// task's own (another argument made it so) reads this copy.
    Word(u64),
}

enum Source<T> {
    /// A plain value given at the call; kept for every run of the task.
    Const(Arc<T>),
    /// The value of the task's `i`-th dependency.
    Input(usize),
}

impl<T> Shared<T> {
    /// The shared value: never cloned, only its `Arc`.
    pub fn get(&self, inputs: &mut Inputs<'_>) -> Arc<T> {
        match &self.source {
            Source::Const(value) => value.clone(),
            Source::Input(i) => (self.downcast)(inputs.share(*i)),
        }
    }
}

#[cfg(any(feature = "distributed", feature = "cache"))]
impl<T: TaskValue> Shared<T> {
    /// This argument for a worker: its value, or its input, with the
    /// encoder that writes it when the task is sent (never before, so a
    /// client without workers encodes nothing).
    pub fn remote_part(&self, encoder: Option<crate::wire::Encode>) -> Option<crate::wire::Part> {
        use crate::wire::Part;
        let encoder = encoder?;
        Some(match &self.source {
            Source::Const(value) => Part::constant(Value::Shared(value.clone()), encoder),
            Source::Input(i) => Part::input(*i, encoder),
        })
    }
}

#[cfg(any(feature = "distributed", feature = "cache"))]
impl<T: Any + Send + Sync> Owned<T> {
    /// This argument for a worker: its value, or its input, with the
    /// encoder that writes it when the task is sent (never before, so a
    /// client without workers encodes nothing).
    pub fn remote_part(&self, encoder: Option<crate::wire::Encode>) -> Option<crate::wire::Part> {
        use crate::wire::Part;
        let encoder = encoder?;
        Some(match &self.source {
            OwnedSource::Const(value) => {
                Part::constant(Value::new((self.fns.clone)(value)), encoder)
            }
            OwnedSource::Input(i) => Part::input(*i, encoder),
            OwnedSource::Word(word) => Part::constant(Value::Word(*word), encoder),
        })
    }
}

impl<T: Any> Owned<T> {
    /// The value itself: moved when this task is the last to need it,
    /// cloned otherwise.
    pub fn get(&self, inputs: &mut Inputs<'_>) -> T {
        match &self.source {
            OwnedSource::Const(value) => (self.fns.clone)(value),
            OwnedSource::Word(own) => (self.fns.owned)(Value::Word(inputs.word.unwrap_or(*own))),
            OwnedSource::Input(i) => {
                match inputs.take_or_clone(*i, |value| value.cloned(self.fns.clone)) {
                    // Still shared only while a `&T` consumer runs.
                    Ok(value) => (self.fns.owned)(value),
                    Err(cloned) => cloned,
                }
            }
        }
    }
}

/// The return types a task may have: `Result<T, E>` fails the compute on
/// `Err`, keeping `E` as the error's source.
#[doc(hidden)]
pub trait IntoTaskResult {
    type Ok;
    fn into_task_result(self) -> Result<Self::Ok, BoxError>;
}

impl<T, E> IntoTaskResult for Result<T, E>
where
    E: Into<BoxError>,
{
    type Ok = T;

    fn into_task_result(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::IntoDelayed;

    /// What `#[delayed] fn sub(a: i64, b: i64) -> i64 { a - b }` writes.
    fn sub(a: impl IntoDelayed<i64>, b: impl IntoDelayed<i64>) -> Delayed<i64> {
        let mut builder = TaskBuilder::new(&"sub");
        let a = builder.arg_owned(a.into_arg());
        let b = builder.arg_owned(b.into_arg());
        builder.shared_sync(move |inputs| Ok(a.get(inputs) - b.get(inputs)))
    }

    /// The shared call of `handle`'s node, if it has one.
    fn call_of<T>(handle: &Delayed<T>) -> Option<&'static SharedCall> {
        match handle.node.body() {
            Body::Shared { call, .. } => Some(*call),
            _ => None,
        }
    }

    #[test]
    fn calls_laid_out_alike_are_shared_and_each_reads_its_own_arguments() {
        let x = Delayed::value(10_i64);
        let (a, b) = (sub(&x, 1), sub(&x, 2));
        let (c, d) = (sub(1, &x), sub(7, &x));
        let (both, neither) = (sub(&x, &x), sub(5, 2));
        let shared = |h: &Delayed<i64>| call_of(h).expect("a shared call");
        assert!(std::ptr::eq(shared(&a), shared(&b)));
        assert!(std::ptr::eq(shared(&c), shared(&d)));
        // The scalar in another place is another layout, another call.
        assert!(!std::ptr::eq(shared(&a), shared(&c)));
        assert!(!std::ptr::eq(shared(&a), shared(&both)));
        // Two scalars: the second lives in the call, which is the task's own.
        assert!(call_of(&neither).is_none());
        let client = crate::Client::builder().threads(2).build().unwrap();
        let all = [a, b, c, d, both, neither];
        let values: Vec<i64> = all
            .iter()
            .map(|handle| client.compute(handle).unwrap())
            .collect();
        assert_eq!(values, [9, 8, -9, -3, 0, 3]);
    }

    #[test]
    fn a_rejected_function_fails_naming_itself_if_ever_computed() {
        let handle = super::rejected::<String>("first_word");
        assert_eq!(handle.key().name(), "first_word");
        let client = crate::Client::synchronous();
        let err = client.compute(&handle).unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("rejected `first_word`"), "{cause}");
    }
}
