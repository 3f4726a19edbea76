//! The function form: `delayed(f).call(a, b)` for functions you cannot
//! annotate with `#[delayed]`, such as another crate's or a closure.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::BoxError;
use crate::handle::{Delayed, IntoDelayed};
use crate::key::Name;
use crate::task::TaskBuilder;
use crate::value::TaskValue;

/// Wraps a function so that calling it builds a task: Dask's
/// `delayed(f)(x)`, written `delayed(f).call(x)`.
///
/// Use it for functions you cannot mark with `#[delayed]`: another crate's,
/// or a closure. Arguments accept plain values, `Delayed<T>` and
/// `&Delayed<T>`, as for `#[delayed]` functions; they are passed by value,
/// so each argument type must be `Clone` (it is cloned only when the value
/// feeds several tasks). The function runs on a thread where blocking is
/// allowed.
///
/// The attribute `#[delayed]` and this function share one import.
///
/// ```
/// use delayed::{compute, delayed};
///
/// fn add(x: i64, y: i64) -> i64 { x + y }
///
/// let a = delayed(i64::pow).call(2, 10);
/// let b = delayed(add).call(&a, 1);
/// let c = delayed(|s: String| s.len()).call("four".to_string());
/// assert_eq!(compute!(a, b, c)?, (1024, 1025, 4));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// `delayed` wraps the function itself, not a call of it: `delayed(add(1, 2))`
/// does not compile, and the compiler says to write `delayed(add).call(1, 2)`.
pub fn delayed<F, Sig>(function: F) -> DelayedFn<F, Sig>
where
    F: TaskFn<Sig>,
{
    DelayedFn {
        function: Arc::new(function),
        name: Name::interned(short_name(type_name::<F>())),
        _signature: PhantomData,
    }
}

/// A function wrapped by [`delayed()`]: its `call` method builds a task.
///
/// `call` takes as many arguments as the function (up to 12), each a plain
/// value, a `Delayed<T>` or a `&Delayed<T>`, and returns the task's handle.
/// For a function returning `Result<T, E>`, `try_call` gives a
/// `Delayed<T>` whose compute fails with the task's `Err`, as a fallible
/// `#[delayed]` function does.
///
/// ```
/// use delayed::delayed;
///
/// let parse = delayed(|s: String| s.parse::<i32>()).named("parse");
/// let good = parse.try_call("42".to_string());
/// let bad = parse.try_call("forty-two".to_string());
/// assert_eq!(good.compute()?, 42);
/// assert!(bad.key().to_string().starts_with("parse-"));
/// assert!(bad.compute().is_err());
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct DelayedFn<F, Sig> {
    function: Arc<F>,
    name: Name,
    _signature: PhantomData<fn() -> Sig>,
}

/// `delayed(f(x))` on a `#[delayed]` function is a compile error at the
/// `delayed(…)` (the handle is not a function); this lets the code after it
/// that computes the result type-check, so that only that error is shown.
/// No program that compiles has a `DelayedFn` of a handle.
impl<T: TaskValue + Clone, Sig> DelayedFn<Delayed<T>, Sig> {
    #[doc(hidden)]
    pub fn compute(&self) -> Result<T, crate::Error> {
        self.function.compute()
    }
}

impl<F, Sig> DelayedFn<F, Sig> {
    /// Sets the name that prefixes this function's task keys; by default it
    /// is the function's own name (`closure` for closures).
    ///
    /// ```
    /// let load = delayed::delayed(|day: u32| day * 2).named("load");
    /// assert_eq!(load.call(1).key().name(), "load");
    /// ```
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = Name::interned(name);
        self
    }
}

impl<F, Sig> Clone for DelayedFn<F, Sig> {
    fn clone(&self) -> Self {
        DelayedFn {
            function: self.function.clone(),
            name: self.name,
            _signature: PhantomData,
        }
    }
}

impl<F, Sig> fmt::Debug for DelayedFn<F, Sig> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DelayedFn({})", self.name.get())
    }
}

/// Functions that [`delayed()`] can wrap: `Fn` of up to 12 arguments, safe
/// to call from several threads (`Send + Sync + 'static`). `Sig` is the
/// function's signature as a function pointer type; it is inferred.
///
/// ```
/// fn wrap<F: delayed::TaskFn<fn(u8) -> u8>>(f: F) -> delayed::DelayedFn<F, fn(u8) -> u8> {
///     delayed::delayed(f)
/// }
/// assert_eq!(wrap(|x: u8| x + 1).call(1).compute()?, 2);
/// # Ok::<(), delayed::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`delayed(…)` wraps a function, and `{Self}` is not a function it can call",
    label = "this is not a function",
    note = "to delay a call, pass the function and its arguments separately: write `delayed(f).call(x)` instead of `delayed(f(x))`",
    note = "a function marked `#[delayed]` is already lazy: call it directly, `f(x)`",
    note = "to wrap a plain value, write `Delayed::value(x)`"
)]
pub trait TaskFn<Sig>: Send + Sync + 'static {}

macro_rules! arities {
    ($( ($($arg:ident $param:ident),*) )+) => {$(
        impl<F, R, $($arg),*> TaskFn<fn($($arg),*) -> R> for F
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
        {
        }

        impl<F, R, $($arg),*> DelayedFn<F, fn($($arg),*) -> R>
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
            R: TaskValue,
            $($arg: TaskValue + Clone,)*
        {
            /// Builds a task that calls the function with these arguments
            /// (plain values, `Delayed`s or `&Delayed`s).
            ///
            /// ```
            /// let max = delayed::delayed(u32::max);
            /// assert_eq!(max.call(3, delayed::value(5)).compute()?, 5);
            /// # Ok::<(), delayed::Error>(())
            /// ```
            #[allow(unused_mut, unused_variables, clippy::too_many_arguments)]
            pub fn call(&self, $($param: impl IntoDelayed<$arg>),*) -> Delayed<R> {
                let mut builder = TaskBuilder::named(self.name);
                $(let $param = builder.arg_owned($param.into_arg());)*
                let function = Arc::clone(&self.function);
                builder.sync(move |inputs| Ok(function($($param.get(inputs)),*)))
            }
        }

        impl<F, T, E, $($arg),*> DelayedFn<F, fn($($arg),*) -> Result<T, E>>
        where
            F: Fn($($arg),*) -> Result<T, E> + Send + Sync + 'static,
            T: TaskValue,
            E: Into<BoxError>,
            $($arg: TaskValue + Clone,)*
        {
            /// Builds a task that calls the fallible function with these
            /// arguments; an `Err` fails the compute and becomes the error's
            /// source.
            ///
            /// ```
            /// let parse = delayed::delayed(|s: String| s.parse::<u8>());
            /// assert_eq!(parse.try_call("7".to_string()).compute()?, 7);
            /// assert!(parse.try_call("x".to_string()).compute().is_err());
            /// # Ok::<(), delayed::Error>(())
            /// ```
            #[allow(unused_mut, unused_variables, clippy::too_many_arguments)]
            pub fn try_call(&self, $($param: impl IntoDelayed<$arg>),*) -> Delayed<T> {
                let mut builder = TaskBuilder::named(self.name);
                $(let $param = builder.arg_owned($param.into_arg());)*
                let function = Arc::clone(&self.function);
                builder.sync(move |inputs| {
                    function($($param.get(inputs)),*).map_err(Into::into)
                })
            }
        }
    )+};
}

arities! {
    ()
    (A0 a0)
    (A0 a0, A1 a1)
    (A0 a0, A1 a1, A2 a2)
    (A0 a0, A1 a1, A2 a2, A3 a3)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10)
    (A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11)
}

/// The last path segment of a type name, without generic arguments:
/// `my_crate::io::read_csv` → `read_csv`, a closure → `closure`.
fn short_name(full: &'static str) -> &'static str {
    let mut end = full.len();
    if full.ends_with('>') {
        let mut depth = 0;
        for (i, c) in full.char_indices().rev() {
            match c {
                '>' => depth += 1,
                '<' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let path = &full[..end];
    let last = path.rsplit("::").next().unwrap_or(path);
    match last {
        "{{closure}}" => "closure",
        "" => "function",
        name => name,
    }
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn names_are_the_last_segment() {
        assert_eq!(short_name("my_crate::io::read_csv"), "read_csv");
        assert_eq!(short_name("my_crate::main::{{closure}}"), "closure");
        assert_eq!(short_name("core::str::<impl str>::len"), "len");
        assert_eq!(short_name("my_crate::parse<i64>"), "parse");
        assert_eq!(short_name("inc"), "inc");
    }
}
