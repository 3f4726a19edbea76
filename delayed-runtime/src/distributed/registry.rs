//! The registry of task functions: what `#[delayed]` submits for each
//! non-generic function and `delayed::register!` for each
//! instantiation of a generic one, collected once, looked up by path.
//!
//! Whether a function can run from bytes is decided where it is
//! registered, at compile time, by method resolution ("autoref
//! specialization"): [`ViaSerde`] is implemented for a [`Probe`] whose
//! argument and result types are serde types, [`Fallback`] for a reference
//! to any probe. The call `(&probe).runner()` finds `ViaSerde` first when
//! its bounds hold, and `Fallback` otherwise. The types are concrete at
//! that point (the function is not generic), so no bound is ever left for
//! the caller to prove.
//!
//! A generic function has no one type to register. `#[delayed]` gives it a
//! hidden companion, generic as it is, that makes an [`Instance`]: its
//! where clause asks every type of the signature to be [`Wire`], so that
//! naming an instantiation whose types are not serde types is a compile
//! error at the `register!` that names it. A call of the function looks
//! its instantiation up at run time by path (`my_app::double::<u64>`,
//! the type arguments by `type_name`) and runs locally when none is
//! registered.

use std::collections::BTreeSet;
use std::fmt::Display;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::handle::Delayed;
use crate::node::NodeRef;
use crate::value::{TaskValue, Value};
use crate::wire::{Decode, Encode, decoder_of, value_bytes};

/// Builds a registered function's task from MessagePack arguments.
#[doc(hidden)]
pub trait Runner: Send + Sync {
    fn build(&self, path: &str, args: &[u8]) -> Result<Built, Error>;
}

/// A task built from arguments that arrived as bytes, to compute where
/// the caller chooses (a worker in place, [`Function::call`] on the
/// default client), and how to encode its value.
#[doc(hidden)]
pub struct Built {
    pub(crate) node: NodeRef,
    encode: fn(&Value) -> Result<Vec<u8>, rmp_serde::encode::Error>,
}

impl Built {
    /// The task's computed value as MessagePack.
    pub(crate) fn encode(&self, path: &str, value: &Value) -> Result<Vec<u8>, Error> {
        (self.encode)(value).map_err(|source| {
            Error::codec(
                format!("could not encode the result of task function `{path}`"),
                source.into(),
            )
        })
    }
}

/// What `#[delayed]` submits for a function: its path, its signature as
/// written, and how to make its runner (none when its types are not
/// serde types, or it is marked `#[delayed(local)]`).
#[doc(hidden)]
pub struct Registration {
    path: &'static str,
    signature: &'static str,
    runner: fn() -> Option<Box<dyn Runner>>,
}

impl Registration {
    pub const fn new(
        path: &'static str,
        signature: &'static str,
        runner: fn() -> Option<Box<dyn Runner>>,
    ) -> Registration {
        Registration {
            path,
            signature,
            runner,
        }
    }

    /// A function that runs only where it is called.
    pub const fn local(path: &'static str, signature: &'static str) -> Registration {
        Registration::new(path, signature, || None)
    }
}

inventory::collect!(Registration);

/// What `delayed::register!` submits for an instantiation of a
/// generic function: how to make its [`Instance`].
#[doc(hidden)]
pub struct Instantiation(fn() -> Instance);

impl Instantiation {
    pub const fn new(make: fn() -> Instance) -> Instantiation {
        Instantiation(make)
    }
}

inventory::collect!(Instantiation);

/// One instantiation of a generic function, as its companion makes it.
#[doc(hidden)]
pub struct Instance {
    /// The generic function's path, without type arguments.
    base: &'static str,
    path: String,
    /// The type name of a closure in the companion: the same for every
    /// `register!` of one instantiation, different for two functions of
    /// one path (declared inside two functions of a module).
    identity: &'static str,
    signature: String,
    runner: Box<dyn Runner>,
    codecs: Codecs,
}

impl Instance {
    /// `base` with `args` (the type arguments' names, the const
    /// arguments' values) is the instantiation's path; `params` are its
    /// parameters' type names, `encoders` their encoders, in order.
    pub fn new<A, O, F>(
        base: &'static str,
        args: &[&dyn Display],
        identity: &'static str,
        params: &[&str],
        call: F,
        encoders: Vec<Encode>,
    ) -> Instance
    where
        A: DeserializeOwned + 'static,
        O: Serialize + DeserializeOwned + TaskValue + Clone,
        F: Fn(A) -> Delayed<O> + Send + Sync + 'static,
    {
        let params: Vec<String> = params.iter().map(|name| short_type_name(name)).collect();
        Instance {
            base,
            path: instance_path(base, args),
            identity,
            signature: format!(
                "fn({}) -> {}",
                params.join(", "),
                short_type_name(std::any::type_name::<O>())
            ),
            runner: Box::new(FromBytes {
                call,
                types: PhantomData::<fn(A) -> O>,
            }),
            codecs: Codecs {
                encoders,
                decode: decoder_of::<O>(),
            },
        }
    }
}

/// Why a generic function's instantiations cannot be registered; what its
/// companion returns instead of an [`Instance`], which `register!` then
/// reports through [`IntoInstance`].
#[doc(hidden)]
pub struct MarkedLocal;

/// See [`MarkedLocal`].
#[doc(hidden)]
pub struct SaysSelf;

/// See [`MarkedLocal`].
#[doc(hidden)]
pub struct BorrowsInItsSignature;

/// What `register!` asks of a companion's result: an [`Instance`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this function cannot be registered to run on workers: `{Self}`",
    label = "cannot run on workers",
    note = "an instantiation of a generic task function can be registered when the function is not `#[delayed(local)]`, does not say `Self` in its signature or body, and borrows in no type of its signature; otherwise it runs where it is called"
)]
pub trait IntoInstance {
    fn into_instance(self) -> Instance;
}

impl IntoInstance for Instance {
    fn into_instance(self) -> Instance {
        self
    }
}

/// The bound a registered instantiation puts on each type of its
/// signature: it must cross to a worker and back.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot travel to a worker: it is not a serde type",
    label = "not `Serialize` and `DeserializeOwned`",
    note = "derive `serde::Serialize` and `serde::Deserialize` for it, or do not register this instantiation: unregistered, it runs in the client"
)]
pub trait Wire: Serialize + DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> Wire for T {}

/// An instantiation's path: `my_app::pair::<u64, alloc::string::String>`.
fn instance_path(base: &str, args: &[&dyn Display]) -> String {
    use std::fmt::Write;
    let mut path = format!("{base}::<");
    for (i, arg) in args.iter().enumerate() {
        let comma = if i == 0 { "" } else { ", " };
        let _ = write!(path, "{comma}{arg}");
    }
    path.push('>');
    path
}

/// A type's name without its paths, as it is written in code:
/// `Vec<String>` for `alloc::vec::Vec<alloc::string::String>`.
fn short_type_name(name: &str) -> String {
    let mut short = String::with_capacity(name.len());
    // Where the identifier being written began in `short`.
    let mut word = 0;
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("::") {
            short.truncate(word);
            rest = after;
            continue;
        }
        if !(c.is_alphanumeric() || c == '_') {
            word = short.len() + c.len_utf8();
        }
        short.push(c);
        rest = &rest[c.len_utf8()..];
    }
    short
}

/// A function's argument and result types, and the function itself taking
/// its arguments as one tuple.
#[doc(hidden)]
pub struct Probe<A, O, F> {
    call: F,
    types: PhantomData<fn(A) -> O>,
}

impl<A, O, F> Probe<A, O, F> {
    pub fn new(call: F) -> Probe<A, O, F> {
        Probe {
            call,
            types: PhantomData,
        }
    }
}

/// Found first when the arguments decode and the result encodes.
#[doc(hidden)]
pub trait ViaSerde {
    fn runner(&self) -> Option<Box<dyn Runner>>;
}

impl<A, O, F> ViaSerde for Probe<A, O, F>
where
    A: DeserializeOwned + 'static,
    O: Serialize + TaskValue + Clone,
    F: Fn(A) -> Delayed<O> + Copy + Send + Sync + 'static,
{
    fn runner(&self) -> Option<Box<dyn Runner>> {
        Some(Box::new(FromBytes {
            call: self.call,
            types: PhantomData::<fn(A) -> O>,
        }))
    }
}

/// Found otherwise: the function runs only where it is called.
#[doc(hidden)]
pub trait Fallback {
    fn runner(&self) -> Option<Box<dyn Runner>>;
}

impl<A, O, F> Fallback for &Probe<A, O, F> {
    fn runner(&self) -> Option<Box<dyn Runner>> {
        None
    }
}

struct FromBytes<A, O, F> {
    call: F,
    types: PhantomData<fn(A) -> O>,
}

impl<A, O, F> Runner for FromBytes<A, O, F>
where
    A: DeserializeOwned + 'static,
    O: Serialize + TaskValue + Clone,
    F: Fn(A) -> Delayed<O> + Send + Sync + 'static,
{
    fn build(&self, path: &str, args: &[u8]) -> Result<Built, Error> {
        let args: A = rmp_serde::from_slice(args).map_err(|source| {
            Error::codec(
                format!("could not decode the arguments of task function `{path}`"),
                source.into(),
            )
        })?;
        Ok(Built {
            node: (self.call)(args).node.clone(),
            encode: |value| value.with(value_bytes::<O>),
        })
    }
}

/// A registered task function.
pub struct Function {
    path: &'static str,
    signature: &'static str,
    runner: Runnable,
    /// An instantiation's encoders and decoder, which its generic call
    /// site cannot find by itself.
    codecs: Option<Codecs>,
}

/// How a call of a registered instantiation sends its arguments and reads
/// its result.
#[doc(hidden)]
pub struct Codecs {
    encoders: Vec<Encode>,
    decode: Decode,
}

impl Codecs {
    /// The encoder of parameter `i`.
    pub fn encoder(&self, i: usize) -> Option<Encode> {
        self.encoders.get(i).copied()
    }

    pub fn decoder(&self) -> Option<Decode> {
        Some(self.decode)
    }
}

enum Runnable {
    FromBytes(Box<dyn Runner>),
    Local,
    /// More than one function has this path: local functions of the same
    /// name inside several functions of one module.
    Ambiguous,
}

impl Function {
    /// The function's path: its module path and name, as in
    /// `my_app::io::load`, and for an instantiation of a generic function
    /// its type arguments' names too: `my_app::io::parse::<u64>`.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn load(n: u32) -> Vec<u32> { (0..n).collect() }
    ///
    /// let path = concat!(module_path!(), "::load");
    /// assert_eq!(delayed::distributed::function(path).unwrap().path(), path);
    /// ```
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The function's signature as the task stores its arguments, with a
    /// borrowed parameter as its owned type: `fn(String, u32) -> usize` for
    /// `fn count(text: &str, min: u32) -> usize`. An instantiation's has
    /// the type arguments in place of the parameters.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn count(text: &str, min: u32) -> usize { text.split(' ').filter(|w| w.len() >= min as usize).count() }
    ///
    /// let count = delayed::distributed::function(concat!(module_path!(), "::count")).unwrap();
    /// assert_eq!(count.signature(), "fn(String, u32) -> usize");
    /// ```
    pub fn signature(&self) -> &'static str {
        self.signature
    }

    /// Whether the function can run from bytes: its parameters are all
    /// `DeserializeOwned` and its result `Serialize`, it is not marked
    /// `#[delayed(local)]`, and no other function has its path. Otherwise
    /// it runs only where it is called.
    ///
    /// ```
    /// use delayed::distributed::function;
    ///
    /// #[delayed::delayed]
    /// fn total(v: Vec<u64>) -> u64 { v.iter().sum() }
    /// #[delayed::delayed(local)]
    /// fn here(v: Vec<u64>) -> usize { v.len() }
    /// struct Table(Vec<u64>); // not a serde type
    /// #[delayed::delayed]
    /// fn rows(t: Table) -> usize { t.0.len() }
    /// # impl Clone for Table { fn clone(&self) -> Table { Table(self.0.clone()) } }
    ///
    /// assert!(function(concat!(module_path!(), "::total")).unwrap().runs_from_bytes());
    /// assert!(!function(concat!(module_path!(), "::here")).unwrap().runs_from_bytes());
    /// assert!(!function(concat!(module_path!(), "::rows")).unwrap().runs_from_bytes());
    /// ```
    pub fn runs_from_bytes(&self) -> bool {
        matches!(self.runner, Runnable::FromBytes(_))
    }

    /// Runs the function on `args`, its arguments as one MessagePack
    /// tuple ([`encode`](crate::distributed::encode)`(&(x, y))`), and returns its result as MessagePack.
    /// The task runs on the default client ([`Client::current`](crate::Client::current)).
    ///
    /// A task that fails or panics gives its error, naming its key; a
    /// function that does not [run from bytes](Function::runs_from_bytes),
    /// or arguments that do not decode, give an error naming the function.
    ///
    /// ```
    /// use delayed::distributed::{decode, encode, function};
    ///
    /// #[delayed::delayed]
    /// fn scale(v: Vec<f64>, by: f64) -> Vec<f64> { v.iter().map(|x| x * by).collect() }
    ///
    /// let scale = function(concat!(module_path!(), "::scale")).unwrap();
    /// let out: Vec<f64> = decode(&scale.call(&encode(&(vec![1.0, 2.0], 0.5))?)?)?;
    /// assert_eq!(out, [0.5, 1.0]);
    ///
    /// let err = scale.call(&encode(&("not a vector", 0.5))?).unwrap_err();
    /// assert!(err.to_string().contains("could not decode the arguments"), "{err}");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn call(&self, args: &[u8]) -> Result<Vec<u8>, Error> {
        let built = self.build(args)?;
        // A failure or panic is the task's error, with its key, as
        // anywhere else; it runs on the default client (its runtime and
        // threads made once, not for each call).
        let value = crate::Client::current()?.compute_node(&built.node)?;
        built.encode(self.path, &value)
    }

    /// The function's task on `args`, not computed yet.
    pub(crate) fn build(&self, args: &[u8]) -> Result<Built, Error> {
        match &self.runner {
            Runnable::FromBytes(runner) => runner.build(self.path, args),
            Runnable::Local => Err(Error::registry(format!(
                "task function `{}` runs only where it is called: its parameters are not all \
                 `DeserializeOwned` or its result is not `Serialize`, or it is marked \
                 `#[delayed(local)]`; derive `Serialize` and `Deserialize` for its types \
                 (and remove `local`) to run it by name",
                self.path
            ))),
            Runnable::Ambiguous => Err(Error::registry(format!(
                "task function `{}` is registered more than once (functions of that name \
                 declared inside several functions of one module): give them distinct \
                 names to run them by name",
                self.path
            ))),
        }
    }
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("path", &self.path)
            .field("signature", &self.signature)
            .field("runs_from_bytes", &self.runs_from_bytes())
            .finish()
    }
}

/// Every registration, by path, and the generic functions with a
/// registered instantiation, made once.
struct Registry {
    functions: BTreeMap<&'static str, Function>,
    generic: BTreeSet<&'static str>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut functions = BTreeMap::new();
        for registration in inventory::iter::<Registration> {
            let runner = match (registration.runner)() {
                Some(runner) => Runnable::FromBytes(runner),
                None => Runnable::Local,
            };
            let function = Function {
                path: registration.path,
                signature: registration.signature,
                runner,
                codecs: None,
            };
            match functions.entry(registration.path) {
                Entry::Vacant(vacant) => {
                    vacant.insert(function);
                }
                Entry::Occupied(mut occupied) => occupied.get_mut().runner = Runnable::Ambiguous,
            }
        }
        let mut generic = BTreeSet::new();
        let mut identities: BTreeMap<&'static str, &'static str> = BTreeMap::new();
        for instantiation in inventory::iter::<Instantiation> {
            let instance = (instantiation.0)();
            generic.insert(instance.base);
            // Made once for the life of the process, as a non-generic
            // function's path and signature are written into it.
            let path: &'static str = Box::leak(instance.path.into_boxed_str());
            let function = Function {
                path,
                signature: Box::leak(instance.signature.into_boxed_str()),
                runner: Runnable::FromBytes(instance.runner),
                codecs: Some(instance.codecs),
            };
            match functions.entry(path) {
                Entry::Vacant(vacant) => {
                    identities.insert(path, instance.identity);
                    vacant.insert(function);
                }
                // The same instantiation registered twice is one function.
                Entry::Occupied(_) if identities.get(path) == Some(&instance.identity) => {}
                Entry::Occupied(mut occupied) => occupied.get_mut().runner = Runnable::Ambiguous,
            }
        }
        Registry { functions, generic }
    })
}

/// How a call of the generic function at `base` with type arguments
/// `args` sends its task (the instantiation's path, and its codecs), when
/// that instantiation is registered and runs from bytes. A function with
/// no registered instantiation costs a set lookup.
#[doc(hidden)]
pub fn instance(
    base: &'static str,
    args: &[&dyn Display],
) -> Option<(&'static str, &'static Codecs)> {
    let registry = registry();
    if !registry.generic.contains(base) {
        return None;
    }
    let function = registry.functions.get(instance_path(base, args).as_str())?;
    match (&function.runner, &function.codecs) {
        (Runnable::FromBytes(_), Some(codecs)) => Some((function.path, codecs)),
        _ => None,
    }
}

/// The registered function at `path` (its module path and name, as in
/// `my_app::io::load`), if this build has one.
///
/// ```
/// #[delayed::delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// assert!(delayed::distributed::function(concat!(module_path!(), "::inc")).is_some());
/// assert!(delayed::distributed::function("nowhere::inc").is_none());
/// ```
pub fn function(path: &str) -> Option<&'static Function> {
    registry().functions.get(path)
}

/// Every registered function of this build, by path.
///
/// ```
/// #[delayed::delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let here = concat!(module_path!(), "::inc");
/// assert!(delayed::distributed::functions().any(|f| f.path() == here));
/// ```
pub fn functions() -> impl Iterator<Item = &'static Function> {
    registry().functions.values()
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_are_shown_without_their_paths() {
        for (name, short) in [
            ("alloc::vec::Vec<alloc::string::String>", "Vec<String>"),
            (
                "(u8, core::option::Option<my_app::io::Row>)",
                "(u8, Option<Row>)",
            ),
            ("[u8; 3]", "[u8; 3]"),
            ("alloc::boxed::Box<dyn core::any::Any>", "Box<dyn Any>"),
        ] {
            assert_eq!(super::short_type_name(name), short);
        }
        assert_eq!(
            super::instance_path("app::pair", &[&"u8", &3]),
            "app::pair::<u8, 3>"
        );
    }
}
