//! Operators on handles: `a + b`, `a * 2`, `-a`, … each build a lazy task,
//! the Rust form of Dask's operator overloading on delayed objects.
//!
//! Every arithmetic and bitwise operator works between two handles (by
//! value or by reference) and between a handle and a plain primitive
//! number or `bool`, on either side, whenever the values' types support it.
//!
//! Comparisons and truthiness cannot be lazy in Rust: `==`, `<` and `if`
//! must produce a `bool` right away, while the value does not exist yet.
//! Compare inside a task instead: `a.map(|v| v > 0)` gives a
//! `Delayed<bool>`.

use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

use crate::handle::{Arg, ByValue, Delayed, TaskValue};
use crate::task::TaskBuilder;

/// A task named `name` computing `op(lhs, rhs)`.
fn binary<T, U, O>(name: &'static str, lhs: Arg<T>, rhs: Arg<U>, op: fn(T, U) -> O) -> Delayed<O>
where
    T: TaskValue + ByValue,
    U: TaskValue + ByValue,
    O: TaskValue,
{
    let mut builder = TaskBuilder::new(name);
    let lhs = builder.arg_owned(lhs);
    let rhs = builder.arg_owned(rhs);
    builder.sync(move |inputs| Ok(op(lhs.get(inputs), rhs.get(inputs))))
}

/// A task named `name` computing `op(value)`.
fn unary<T, O>(name: &'static str, value: Arg<T>, op: fn(T) -> O) -> Delayed<O>
where
    T: TaskValue + ByValue,
    O: TaskValue,
{
    let mut builder = TaskBuilder::new(name);
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
                binary($name, $lhs, $rhs, <$L as $Op<$R>>::$method)
            }
        }
    };
}

macro_rules! handle_ops {
    ($($Op:ident $method:ident $name:literal;)+) => {$(
        binary_impl!([T, U] $Op $method $name:
            Delayed<T> => |l| Arg::Handle(l), Delayed<U> => |r| Arg::Handle(r), T, U);
        binary_impl!([T, U] $Op $method $name:
            Delayed<T> => |l| Arg::Handle(l), &Delayed<U> => |r| Arg::Handle(r.clone()), T, U);
        binary_impl!([T, U] $Op $method $name:
            &Delayed<T> => |l| Arg::Handle(l.clone()), Delayed<U> => |r| Arg::Handle(r), T, U);
        binary_impl!([T, U] $Op $method $name:
            &Delayed<T> => |l| Arg::Handle(l.clone()), &Delayed<U> => |r| Arg::Handle(r.clone()), T, U);
        primitive_ops!($Op $method $name:
            i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool);
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

handle_ops! {
    Add add "add";
    Sub sub "sub";
    Mul mul "mul";
    Div div "truediv";
    Rem rem "mod";
    BitAnd bitand "and";
    BitOr bitor "or";
    BitXor bitxor "xor";
    Shl shl "lshift";
    Shr shr "rshift";
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
                unary($name, Arg::Handle(self), T::$method)
            }
        }

        impl<T> $Op for &Delayed<T>
        where
            T: $Op + TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self) -> Delayed<T::Output> {
                unary($name, Arg::Handle(self.clone()), T::$method)
            }
        }
    )+};
}

unary_ops! {
    Neg neg "neg";
    Not not "invert";
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
}
