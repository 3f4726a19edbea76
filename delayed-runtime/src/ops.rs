//! Lazy access to values: operators on handles (`a + b`, `a * 2`, `-a`, …),
//! `map`/`map_ref` and `split`, each building a task: the Rust form of
//! Dask's operator overloading, attribute access and `nout` on delayed
//! objects.
//!
//! Every arithmetic and bitwise operator works between two handles (by
//! value or by reference) and between a handle and a plain primitive
//! number or `bool`, on either side, whenever the values' types support it.
//!
//! The shift amount of `a << n` and `a >> n` with a plain number is a
//! `u32`, as for `i64::checked_shl`, so that an unsuffixed literal
//! (`a >> 1`) needs no annotation; shift by a handle of any integer type.
//!
//! `Sum` and `Product` fold handles into one task each:
//! `handles.iter().sum::<Delayed<i64>>()`, Dask's `sum(list_of_delayed)`.
//!
//! Comparisons and truthiness cannot be lazy in Rust: `==`, `<` and `if`
//! must produce a `bool` right away, while the value does not exist yet.
//! Compare inside a task instead: `a.map(|v| v > 0)` gives a
//! `Delayed<bool>`.

use std::iter::{Product, Sum};
use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

use crate::handle::{Arg, Delayed};
use crate::key::Name;
use crate::task::TaskBuilder;
use crate::value::{ByValue, TaskValue};

/// A task named `name` computing `op(lhs, rhs)`.
fn binary<T, U, O>(name: Name, lhs: Arg<T>, rhs: Arg<U>, op: fn(T, U) -> O) -> Delayed<O>
where
    T: TaskValue + ByValue,
    U: TaskValue + ByValue,
    O: TaskValue,
{
    let mut builder = TaskBuilder::named(name);
    let lhs = builder.arg_owned(lhs);
    let rhs = builder.arg_owned(rhs);
    builder.sync(move |inputs| Ok(op(lhs.get(inputs), rhs.get(inputs))))
}

/// A task named `name` computing `op(value)`.
fn unary<T, O>(name: Name, value: Arg<T>, op: fn(T) -> O) -> Delayed<O>
where
    T: TaskValue + ByValue,
    O: TaskValue,
{
    let mut builder = TaskBuilder::named(name);
    let value = builder.arg_owned(value);
    builder.sync(move |inputs| Ok(op(value.get(inputs))))
}

/// One binary operator impl: `$Lhs op $Rhs`, where each side is turned
/// into a task argument by the given closure-like expression.
macro_rules! binary_impl {
    (
        [$($generics:tt)*] $Op:ident $method:ident $name:literal:
        $Lhs:ty => |$l:ident| $lhs:expr, $Rhs:ty => |$r:ident| $rhs:expr,
        $L:ty, $R:ty
    ) => {
        impl<$($generics)*> $Op<$Rhs> for $Lhs
        where
            $L: $Op<$R>,
            $L: TaskValue + Clone,
            $R: TaskValue + Clone,
            <$L as $Op<$R>>::Output: TaskValue,
        {
            type Output = Delayed<<$L as $Op<$R>>::Output>;

            fn $method(self, rhs: $Rhs) -> Self::Output {
                let ($l, $r) = (self, rhs);
                binary(Name::new(&$name), $lhs, $rhs, <$L as $Op<$R>>::$method)
            }
        }
    };
}

macro_rules! handle_ops {
    ($($Op:ident $method:ident $name:literal: $($P:ty)+;)+) => {$(
        binary_impl!([T, U] $Op $method $name:
            Delayed<T> => |l| Arg::Handle(l), Delayed<U> => |r| Arg::Handle(r), T, U);
        binary_impl!([T, U] $Op $method $name:
            Delayed<T> => |l| Arg::Handle(l), &Delayed<U> => |r| Arg::Handle(r.clone()), T, U);
        binary_impl!([T, U] $Op $method $name:
            &Delayed<T> => |l| Arg::Handle(l.clone()), Delayed<U> => |r| Arg::Handle(r), T, U);
        binary_impl!([T, U] $Op $method $name:
            &Delayed<T> => |l| Arg::Handle(l.clone()), &Delayed<U> => |r| Arg::Handle(r.clone()), T, U);
        primitive_ops!($Op $method $name: $($P)+);
    )+};
}

macro_rules! primitive_ops {
    ($Op:ident $method:ident $name:literal: $($P:ty)+) => {$(
        binary_impl!([T] $Op $method $name:
            Delayed<T> => |l| Arg::Handle(l), $P => |r| Arg::Value(r), T, $P);
        binary_impl!([T] $Op $method $name:
            &Delayed<T> => |l| Arg::Handle(l.clone()), $P => |r| Arg::Value(r), T, $P);
        binary_impl!([U] $Op $method $name:
            $P => |l| Arg::Value(l), Delayed<U> => |r| Arg::Handle(r), $P, U);
        binary_impl!([U] $Op $method $name:
            $P => |l| Arg::Value(l), &Delayed<U> => |r| Arg::Handle(r.clone()), $P, U);
    )+};
}

macro_rules! primitives {
    ($($Op:ident $method:ident $name:literal;)+) => {
        handle_ops! {$(
            $Op $method $name:
                i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool;
        )+}
    };
}

primitives! {
    Add add "add";
    Sub sub "sub";
    Mul mul "mul";
    Div div "truediv";
    Rem rem "mod";
    BitAnd bitand "and";
    BitOr bitor "or";
    BitXor bitxor "xor";
}

// One primitive shift amount, so that `a >> 1` infers `1_u32`: with every
// integer type on offer, as `i64: Shr<i8 | … | u128>` has, the literal
// would be ambiguous.
handle_ops! {
    Shl shl "lshift": u32;
    Shr shr "rshift": u32;
}

/// One task named `name` that folds the values of `handles` with `fold`.
fn fold<T, I>(name: Name, handles: I, fold: fn(&mut dyn Iterator<Item = T>) -> T) -> Delayed<T>
where
    T: TaskValue + ByValue,
    I: Iterator<Item = Arg<T>>,
{
    let mut builder = TaskBuilder::named(name);
    let slots: Vec<_> = handles.map(|handle| builder.arg_owned(handle)).collect();
    builder.sync(move |inputs| Ok(fold(&mut slots.iter().map(|slot| slot.get(inputs)))))
}

macro_rules! folds {
    ($($Trait:ident $method:ident $name:literal;)+) => {$(
        /// One task over all the handles: `handles.into_iter().sum()` is
        /// Dask's `sum(list_of_delayed)`; an empty iterator gives the
        /// fold of nothing (`0` for a sum, `1` for a product).
        ///
        /// ```
        /// use delayed::Delayed;
        ///
        /// let parts: Vec<Delayed<i64>> = (1..=4).map(delayed::value).collect();
        /// let total: Delayed<i64> = parts.iter().sum();
        /// let product: Delayed<i64> = parts.into_iter().product();
        /// assert_eq!(delayed::compute!(total, product)?, (10, 24));
        /// # Ok::<(), delayed::Error>(())
        /// ```
        impl<T: $Trait + TaskValue + Clone> $Trait for Delayed<T> {
            fn $method<I: Iterator<Item = Delayed<T>>>(handles: I) -> Delayed<T> {
                fold(Name::new(&$name), handles.map(Arg::Handle), |values| T::$method(values))
            }
        }

        /// One task over all the handles, which stay usable.
        ///
        /// ```
        /// let parts = vec![delayed::value(2_u64), delayed::value(3)];
        /// assert_eq!(parts.iter().sum::<delayed::Delayed<u64>>().compute()?, 5);
        /// # Ok::<(), delayed::Error>(())
        /// ```
        impl<'a, T: $Trait + TaskValue + Clone> $Trait<&'a Delayed<T>> for Delayed<T> {
            fn $method<I: Iterator<Item = &'a Delayed<T>>>(handles: I) -> Delayed<T> {
                fold(Name::new(&$name), handles.map(|h| Arg::Handle(h.clone())), |values| T::$method(values))
            }
        }
    )+};
}

folds! {
    Sum sum "sum";
    Product product "product";
}

macro_rules! unary_ops {
    ($($Op:ident $method:ident $name:literal;)+) => {$(
        impl<T> $Op for Delayed<T>
        where
            T: $Op + TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self) -> Delayed<T::Output> {
                unary(Name::new(&$name), Arg::Handle(self), T::$method)
            }
        }

        impl<T> $Op for &Delayed<T>
        where
            T: $Op + TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self) -> Delayed<T::Output> {
                unary(Name::new(&$name), Arg::Handle(self.clone()), T::$method)
            }
        }
    )+};
}

unary_ops! {
    Neg neg "neg";
    Not not "invert";
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
        self.apply_ref(Name::new(&"map"), f)
    }

    /// A task named `name` that calls `f` on a reference to the value.
    fn apply_ref<U, F>(&self, name: Name, f: F) -> Delayed<U>
    where
        U: TaskValue,
        F: Fn(&T) -> U + Send + Sync + 'static,
    {
        let mut builder = TaskBuilder::named(name);
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
        self.apply_owned(Name::new(&"map"), f)
    }

    /// A task named `name` that calls `f` on the value itself.
    pub(crate) fn apply_owned<U, F>(&self, name: Name, f: F) -> Delayed<U>
    where
        T: ByValue,
        U: TaskValue,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let mut builder = TaskBuilder::named(name);
        let value = builder.arg_owned(Arg::Handle(self.clone()));
        builder.sync(move |inputs| Ok(f(value.get(inputs))))
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
                ($(self.apply_ref(Name::new(&"getitem"), |tuple| tuple.$i.clone()),)+)
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

#[cfg(test)]
mod tests {
    use crate::{Client, Delayed};

    fn value<T: crate::TaskValue>(v: T) -> Delayed<T> {
        Delayed::value(v)
    }

    #[test]
    fn handles_and_primitives_on_either_side() {
        let client = Client::synchronous();
        let a = value(7_i64);
        let b = value(3_i64);
        let all = (
            &a + &b,
            &a - 1_i64,
            10_i64 * &a,
            &a / b.clone(),
            &a % 4_i64,
            -&a,
            !value(true),
            value(0b1100_u8) & 0b1010_u8,
            value(0b1100_u8) | value(0b0011_u8),
            1_u32 << value(4_u32),
            value(2.5_f64) * 2.0,
        );
        assert_eq!(
            client.compute(&all).unwrap(),
            (10, 6, 70, 2, 3, -7, false, 8, 15, 16, 5.0)
        );
        assert_eq!((&a + 1_i64).key().name(), "add");
        // Unsuffixed literals take the handle's value type.
        let literals = (&a + 1, 2 * &a, value(1.5) + 1.0);
        assert_eq!(client.compute(&literals).unwrap(), (8, 14, 2.5));
    }

    #[test]
    fn shifts_by_an_unsuffixed_literal() {
        let client = Client::synchronous();
        let a = value(-64_i64);
        let shifted = (&a >> 1, &a << 2, value(1_u8) << 3, &a >> value(2_u8));
        assert_eq!(client.compute(&shifted).unwrap(), (-32, -256, 8, -16));
        assert_eq!((&a >> 1).key().name(), "rshift");
    }

    #[test]
    fn sum_and_product_are_one_task_each() {
        let client = Client::synchronous();
        let parts: Vec<Delayed<i64>> = (1..=5).map(value).collect();
        let total: Delayed<i64> = parts.iter().sum();
        let product: Delayed<i64> = parts.iter().product();
        assert_eq!(total.key().name(), "sum");
        assert_eq!(total.node.deps.len(), 5);
        assert_eq!(client.compute(&(&total, &product)).unwrap(), (15, 120));
        let empty: Delayed<f64> = Vec::<Delayed<f64>>::new().into_iter().sum();
        assert_eq!(client.compute(&empty).unwrap(), 0.0);
    }
}
