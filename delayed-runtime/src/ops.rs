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

macro_rules! handle_ops {
    ($($Op:ident $method:ident $name:literal;)+) => {$(
        impl<T, U> $Op<Delayed<U>> for Delayed<T>
        where
            T: $Op<U> + TaskValue + Clone,
            U: TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self, rhs: Delayed<U>) -> Delayed<T::Output> {
                binary($name, Arg::Handle(self), Arg::Handle(rhs), T::$method)
            }
        }

        impl<T, U> $Op<&Delayed<U>> for Delayed<T>
        where
            T: $Op<U> + TaskValue + Clone,
            U: TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self, rhs: &Delayed<U>) -> Delayed<T::Output> {
                binary($name, Arg::Handle(self), Arg::Handle(rhs.clone()), T::$method)
            }
        }

        impl<T, U> $Op<Delayed<U>> for &Delayed<T>
        where
            T: $Op<U> + TaskValue + Clone,
            U: TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self, rhs: Delayed<U>) -> Delayed<T::Output> {
                binary($name, Arg::Handle(self.clone()), Arg::Handle(rhs), T::$method)
            }
        }

        impl<T, U> $Op<&Delayed<U>> for &Delayed<T>
        where
            T: $Op<U> + TaskValue + Clone,
            U: TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self, rhs: &Delayed<U>) -> Delayed<T::Output> {
                binary($name, Arg::Handle(self.clone()), Arg::Handle(rhs.clone()), T::$method)
            }
        }

        primitive_ops!($Op $method $name:
            i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool);
    )+};
}

macro_rules! primitive_ops {
    ($Op:ident $method:ident $name:literal: $($P:ty)+) => {$(
        impl<T> $Op<$P> for Delayed<T>
        where
            T: $Op<$P> + TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self, rhs: $P) -> Delayed<T::Output> {
                binary($name, Arg::Handle(self), Arg::Value(rhs), T::$method)
            }
        }

        impl<T> $Op<$P> for &Delayed<T>
        where
            T: $Op<$P> + TaskValue + Clone,
            T::Output: TaskValue,
        {
            type Output = Delayed<T::Output>;

            fn $method(self, rhs: $P) -> Delayed<T::Output> {
                binary($name, Arg::Handle(self.clone()), Arg::Value(rhs), T::$method)
            }
        }

        impl<U> $Op<Delayed<U>> for $P
        where
            $P: $Op<U>,
            U: TaskValue + Clone,
            <$P as $Op<U>>::Output: TaskValue,
        {
            type Output = Delayed<<$P as $Op<U>>::Output>;

            fn $method(self, rhs: Delayed<U>) -> Self::Output {
                binary($name, Arg::Value(self), Arg::Handle(rhs), <$P as $Op<U>>::$method)
            }
        }

        impl<U> $Op<&Delayed<U>> for $P
        where
            $P: $Op<U>,
            U: TaskValue + Clone,
            <$P as $Op<U>>::Output: TaskValue,
        {
            type Output = Delayed<<$P as $Op<U>>::Output>;

            fn $method(self, rhs: &Delayed<U>) -> Self::Output {
                binary($name, Arg::Value(self), Arg::Handle(rhs.clone()), <$P as $Op<U>>::$method)
            }
        }
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
