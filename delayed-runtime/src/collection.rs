//! Collections of handles where a collection of values is expected: a
//! `Vec<Delayed<T>>` passed to a `Vec<T>` parameter, Dask's "lists of
//! delayed objects as arguments". Each element's task runs in parallel;
//! the function sees plain values.
//!
//! Two calls need a type named, because an argument could then be either a
//! collection of values or a collection of handles:
//!
//! - a generic function: name the element type, `total::<i64>(handles)`;
//! - an empty literal: `total(Vec::<i64>::new())` rather than `total(vec![])`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use crate::handle::{Arg, Delayed, IntoDelayed};
use crate::key::Name;
use crate::node::Gathers;
use crate::task::{Owned, PureKey, TaskBuilder};
use crate::value::{ByValue, TaskValue};

/// A task named `name` that gathers the values of `handles`, in order.
///
/// The task is pure, keyed by its elements' keys: the same elements give
/// the same collection, so a pure call that takes a collection of handles
/// gets the same key however often it is built.
fn gather<T, C>(
    name: Name,
    handles: impl IntoIterator<Item = Delayed<T>>,
    finish: fn(Vec<T>) -> C,
) -> Delayed<C>
where
    T: TaskValue + ByValue,
    C: TaskValue,
{
    let mut builder = TaskBuilder::named(name);
    builder.junction(Gathers::Values);
    let mut key = PureKey::new(name.get(), std::any::type_name::<C>());
    let slots: Vec<Owned<T>> = handles
        .into_iter()
        .map(|handle| {
            key.handle(&handle);
            builder.arg_owned(Arg::Handle(handle))
        })
        .collect();
    builder.pure(key.finish());
    builder.sync(move |inputs| Ok(finish(slots.iter().map(|slot| slot.get(inputs)).collect())))
}

fn identity<T>(values: Vec<T>) -> Vec<T> {
    values
}

/// A task named `name` that gathers the values of keyed handles; pure,
/// like [`gather`], keyed by the entries' keys and handles' keys.
fn gather_keyed<K, V, M>(
    name: Name,
    entries: impl IntoIterator<Item = (K, Delayed<V>)>,
) -> Delayed<M>
where
    K: TaskValue + Clone + Hash,
    V: TaskValue + ByValue,
    M: FromIterator<(K, V)> + TaskValue,
{
    let mut builder = TaskBuilder::named(name);
    builder.junction(Gathers::Entries);
    let mut pure = PureKey::new(name.get(), std::any::type_name::<M>());
    let mut slots: Vec<(K, Owned<V>)> = Vec::new();
    // Entries are combined in an order-independent way: two equal hash
    // maps may iterate in different orders.
    let mut entries_hash = 0_u64;
    for (key, handle) in entries {
        let mut entry = PureKey::new("", "");
        entry.value(&key);
        entry.handle(&handle);
        entries_hash = entries_hash.wrapping_add(entry.finish());
        slots.push((key, builder.arg_owned(Arg::Handle(handle))));
    }
    pure.value(&entries_hash);
    builder.pure(pure.finish());
    builder.sync(move |inputs| {
        Ok(slots
            .iter()
            .map(|(key, slot)| (key.clone(), slot.get(inputs)))
            .collect())
    })
}

/// ```
/// use delayed::{delayed, Delayed};
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
/// #[delayed]
/// fn total(values: Vec<i64>) -> i64 { values.iter().sum() }
///
/// let parts: Vec<Delayed<i64>> = (0..4).map(inc).collect();
/// assert_eq!(total(parts).compute()?, 10);
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + ByValue> IntoDelayed<Vec<T>> for Vec<Delayed<T>> {
    fn into_delayed(self) -> Delayed<Vec<T>> {
        gather(Name::new(&"list"), self, identity)
    }
}

/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn total(values: Vec<i64>) -> i64 { values.iter().sum() }
///
/// let a = delayed::value(1);
/// let b = delayed::value(2);
/// assert_eq!(total(vec![&a, &b, &a]).compute()?, 4);
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + ByValue> IntoDelayed<Vec<T>> for Vec<&Delayed<T>> {
    fn into_delayed(self) -> Delayed<Vec<T>> {
        gather(Name::new(&"list"), self.into_iter().cloned(), identity)
    }
}

/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn count(values: &Vec<u8>) -> usize { values.len() }
///
/// let handles = vec![delayed::value(1_u8), delayed::value(2)];
/// assert_eq!(count(&handles[..]).compute()?, 2);
/// assert_eq!(count(&handles).compute()?, 2); // still usable
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + ByValue> IntoDelayed<Vec<T>> for &[Delayed<T>] {
    fn into_delayed(self) -> Delayed<Vec<T>> {
        gather(Name::new(&"list"), self.iter().cloned(), identity)
    }
}

/// See the implementation for slices.
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + ByValue> IntoDelayed<Vec<T>> for &Vec<Delayed<T>> {
    fn into_delayed(self) -> Delayed<Vec<T>> {
        gather(Name::new(&"list"), self.iter().cloned(), identity)
    }
}

/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn sum3(values: [u32; 3]) -> u32 { values.iter().sum() }
///
/// let parts = [delayed::value(1), delayed::value(2), delayed::value(3)];
/// assert_eq!(sum3(parts).compute()?, 6);
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<T: TaskValue + ByValue, const N: usize> IntoDelayed<[T; N]> for [Delayed<T>; N] {
    fn into_delayed(self) -> Delayed<[T; N]> {
        gather(Name::new(&"array"), self, |values: Vec<T>| {
            <[T; N]>::try_from(values).unwrap_or_else(|_| unreachable!("N handles give N values"))
        })
    }
}

/// ```
/// use delayed::delayed;
/// use std::collections::HashMap;
///
/// #[delayed]
/// fn largest(sizes: HashMap<String, u64>) -> String {
///     sizes.into_iter().max_by_key(|(_, size)| *size).unwrap().0
/// }
///
/// let sizes = HashMap::from([
///     ("a".to_string(), delayed::value(3)),
///     ("b".to_string(), delayed::value(9)),
/// ]);
/// assert_eq!(largest(sizes).compute()?, "b");
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<K, V, S> IntoDelayed<HashMap<K, V, S>> for HashMap<K, Delayed<V>, S>
where
    K: TaskValue + Clone + Eq + Hash,
    V: TaskValue + ByValue,
    S: TaskValue + BuildHasher + Default,
{
    fn into_delayed(self) -> Delayed<HashMap<K, V, S>> {
        gather_keyed(Name::new(&"dict"), self)
    }
}

/// ```
/// use delayed::delayed;
/// use std::collections::BTreeMap;
///
/// #[delayed]
/// fn describe(parts: BTreeMap<u32, String>) -> String {
///     parts.into_values().collect::<Vec<_>>().join(" ")
/// }
///
/// let parts = BTreeMap::from([(2, delayed::value("world".to_string())), (1, delayed::value("hello".to_string()))]);
/// assert_eq!(describe(parts).compute()?, "hello world");
/// # Ok::<(), delayed::Error>(())
/// ```
// Listed among the candidates of an unrelated error, it is noise.
#[diagnostic::do_not_recommend]
impl<K, V> IntoDelayed<BTreeMap<K, V>> for BTreeMap<K, Delayed<V>>
where
    K: TaskValue + Clone + Ord + Hash,
    V: TaskValue + ByValue,
{
    fn into_delayed(self) -> Delayed<BTreeMap<K, V>> {
        gather_keyed(Name::new(&"dict"), self)
    }
}
