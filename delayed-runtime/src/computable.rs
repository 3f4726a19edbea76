//! `Computable`: what can be computed, and how its outputs come back.
//!
//! It belongs to building graphs, like the handles it lists: pictures and
//! the schedulers both take a `Computable`, and neither needs the other.

use crate::error::Error;
use crate::graph::{Graph, Roots};
use crate::handle::Delayed;
use crate::value::TaskValue;
use crate::value::Value;

/// Something that can be computed: a handle, or a collection of handles.
///
/// Implemented for `Delayed<T>`, references to computables, `Vec`s, slices
/// and arrays of them, `HashMap`s and `BTreeMap`s of them, and tuples of up
/// to 12 of them; the output has the same shape with each handle replaced
/// by its value.
///
/// ```
/// use delayed::{delayed, Delayed};
///
/// #[delayed]
/// fn double(x: i32) -> i32 { 2 * x }
///
/// let list: Vec<Delayed<i32>> = (1..=3).map(double).collect();
/// let pair = (double(10), vec![double(20)]);
/// assert_eq!(delayed::compute(&list)?, vec![2, 4, 6]);
/// assert_eq!(delayed::compute(&pair)?, (20, vec![40]));
/// # Ok::<(), delayed::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a delayed handle or a collection of handles, so it cannot be computed",
    label = "not computable",
    note = "compute a `Delayed<T>`, a `Vec`, slice or array of them, or several at once: `compute!(x)`, `compute!(a, b)`; wrap a plain value with `delayed::value(x)`"
)]
pub trait Computable {
    /// The computed form: `T` for `Delayed<T>`, `Vec<T>` for a `Vec<Delayed<T>>`.
    type Output;

    /// The same shape with each handle's value or error:
    /// `Result<T, Error>` for `Delayed<T>`, what
    /// [`Client::compute_settled`](crate::Client::compute_settled) returns.
    type Settled;

    /// Lists the handles to compute, in order.
    #[doc(hidden)]
    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>);

    /// Rebuilds the output from the handles' values, in the same order.
    #[doc(hidden)]
    fn take_output(&self, outputs: &mut Outputs) -> Self::Output;

    /// Rebuilds the settled output from each handle's value or error, in
    /// the same order.
    #[doc(hidden)]
    fn take_settled(&self, outputs: &mut Settled) -> Self::Settled;
}

/// The graph behind everything `computable` lists: what a compute runs,
/// a picture draws and `explain` reads.
pub(crate) fn graph_of<C: Computable + ?Sized>(computable: &C) -> Graph {
    let mut roots = Roots::default();
    computable.add_roots(&mut roots);
    Graph::collect(&roots.0)
}

impl<'a> Roots<'a> {
    /// Lists `handle` as the next handle to compute.
    pub fn push<T>(&mut self, handle: &'a Delayed<T>) {
        self.0.push(&handle.node);
    }
}

/// The values of the requested handles, in the order they were listed.
#[doc(hidden)]
pub struct Outputs(std::vec::IntoIter<Value>);

impl Outputs {
    pub(crate) fn new(values: Vec<Value>) -> Outputs {
        Outputs(values.into_iter())
    }

    pub fn take<T: TaskValue + Clone>(&mut self) -> T {
        let value = self.0.next().expect("one value per listed handle");
        value.owned(T::clone)
    }
}

/// Each requested handle's value or error, in the order they were listed.
#[doc(hidden)]
pub struct Settled(std::vec::IntoIter<Result<Value, Error>>);

impl Settled {
    pub(crate) fn new(outcomes: Vec<Result<Value, Error>>) -> Settled {
        Settled(outcomes.into_iter())
    }

    pub fn take<T: TaskValue + Clone>(&mut self) -> Result<T, Error> {
        let outcome = self.0.next().expect("one outcome per listed handle");
        outcome.map(|value| value.owned(T::clone))
    }
}

impl<T: TaskValue + Clone> Computable for Delayed<T> {
    type Output = T;
    type Settled = Result<T, Error>;

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        roots.push(self);
    }

    fn take_output(&self, outputs: &mut Outputs) -> T {
        outputs.take()
    }

    fn take_settled(&self, outputs: &mut Settled) -> Result<T, Error> {
        outputs.take()
    }
}

#[diagnostic::do_not_recommend]
impl<C: Computable + ?Sized> Computable for &C {
    type Output = C::Output;
    type Settled = C::Settled;

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        (**self).add_roots(roots);
    }

    fn take_output(&self, outputs: &mut Outputs) -> C::Output {
        (**self).take_output(outputs)
    }

    fn take_settled(&self, outputs: &mut Settled) -> C::Settled {
        (**self).take_settled(outputs)
    }
}

/// The roots of each item, in iteration order.
fn add_all<'a, C: Computable + 'a>(items: impl Iterator<Item = &'a C>, roots: &mut Roots<'a>) {
    items.for_each(|c| c.add_roots(roots));
}

/// Each entry's output under its key, as `take` makes it from `outputs`;
/// `entries` must iterate in the order [`add_all`] was given the values
/// (an unchanged map does).
fn take_keyed<'a, K, C, O, V, M>(
    entries: impl Iterator<Item = (&'a K, &'a C)>,
    outputs: &mut O,
    take: impl Fn(&C, &mut O) -> V,
) -> M
where
    K: Clone + 'a,
    C: Computable + 'a,
    M: FromIterator<(K, V)>,
{
    entries
        .map(|(key, c)| (key.clone(), take(c, outputs)))
        .collect()
}

impl<C: Computable> Computable for [C] {
    type Output = Vec<C::Output>;
    type Settled = Vec<C::Settled>;

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        add_all(self.iter(), roots);
    }

    fn take_output(&self, outputs: &mut Outputs) -> Vec<C::Output> {
        self.iter().map(|c| c.take_output(outputs)).collect()
    }

    fn take_settled(&self, outputs: &mut Settled) -> Vec<C::Settled> {
        self.iter().map(|c| c.take_settled(outputs)).collect()
    }
}

impl<C: Computable> Computable for Vec<C> {
    type Output = Vec<C::Output>;
    type Settled = Vec<C::Settled>;

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        self.as_slice().add_roots(roots);
    }

    fn take_output(&self, outputs: &mut Outputs) -> Vec<C::Output> {
        self.as_slice().take_output(outputs)
    }

    fn take_settled(&self, outputs: &mut Settled) -> Vec<C::Settled> {
        self.as_slice().take_settled(outputs)
    }
}

impl<C: Computable, const N: usize> Computable for [C; N] {
    type Output = [C::Output; N];
    type Settled = [C::Settled; N];

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        self.as_slice().add_roots(roots);
    }

    fn take_output(&self, outputs: &mut Outputs) -> [C::Output; N] {
        // `from_fn` calls in index order, which is the order of the roots.
        std::array::from_fn(|i| self[i].take_output(outputs))
    }

    fn take_settled(&self, outputs: &mut Settled) -> [C::Settled; N] {
        std::array::from_fn(|i| self[i].take_settled(outputs))
    }
}

impl<K, C, S> Computable for std::collections::HashMap<K, C, S>
where
    K: Clone + Eq + std::hash::Hash,
    C: Computable,
    S: std::hash::BuildHasher + Default,
{
    type Output = std::collections::HashMap<K, C::Output, S>;
    type Settled = std::collections::HashMap<K, C::Settled, S>;

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        add_all(self.values(), roots);
    }

    fn take_output(&self, outputs: &mut Outputs) -> Self::Output {
        take_keyed(self.iter(), outputs, C::take_output)
    }

    fn take_settled(&self, outputs: &mut Settled) -> Self::Settled {
        take_keyed(self.iter(), outputs, C::take_settled)
    }
}

impl<K: Clone + Ord, C: Computable> Computable for std::collections::BTreeMap<K, C> {
    type Output = std::collections::BTreeMap<K, C::Output>;
    type Settled = std::collections::BTreeMap<K, C::Settled>;

    fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        add_all(self.values(), roots);
    }

    fn take_output(&self, outputs: &mut Outputs) -> Self::Output {
        take_keyed(self.iter(), outputs, C::take_output)
    }

    fn take_settled(&self, outputs: &mut Settled) -> Self::Settled {
        take_keyed(self.iter(), outputs, C::take_settled)
    }
}

macro_rules! tuples {
    ($( ($($c:ident $i:tt),+) )+) => {$(
        #[diagnostic::do_not_recommend]
        impl<$($c: Computable),+> Computable for ($($c,)+) {
            type Output = ($($c::Output,)+);
            type Settled = ($($c::Settled,)+);

            fn add_roots<'a>(&'a self, roots: &mut Roots<'a>) {
                $(self.$i.add_roots(roots);)+
            }

            fn take_output(&self, outputs: &mut Outputs) -> Self::Output {
                ($(self.$i.take_output(outputs),)+)
            }

            fn take_settled(&self, outputs: &mut Settled) -> Self::Settled {
                ($(self.$i.take_settled(outputs),)+)
            }
        }
    )+};
}

tuples! {
    (C0 0)
    (C0 0, C1 1)
    (C0 0, C1 1, C2 2)
    (C0 0, C1 1, C2 2, C3 3)
    (C0 0, C1 1, C2 2, C3 3, C4 4)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6, C7 7)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6, C7 7, C8 8)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6, C7 7, C8 8, C9 9)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6, C7 7, C8 8, C9 9, C10 10)
    (C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6, C7 7, C8 8, C9 9, C10 10, C11 11)
}

/// Checks one argument of `compute!` where it is written, so that an error
/// points at it.
#[doc(hidden)]
pub fn computable<C: Computable + ?Sized>(computable: &C) -> &C {
    computable
}
