//! A computed value, erased to be stored beside values of other types.
//!
//! Most tasks of a large graph return a number: such a value is held in
//! place, in the word a pointer would take, so that it costs no allocation
//! of its own. Any other value is shared behind an `Arc`, so that a task
//! taking `&T` can read a result while another task holds it too; the last
//! consumer of a value that is not an output gets the only reference and
//! moves it out.

use std::any::Any;
use std::sync::Arc;

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

/// A computed value of a type known from the handle that reads it.
#[derive(Clone)]
pub(crate) enum Value {
    /// Any value, shared.
    Shared(Arc<dyn Any + Send + Sync>),
    /// A number, `bool`, `char` or `()`, held in place as its bits.
    Word(u64),
}

impl Value {
    /// Erases `value`: in place if it is a scalar, shared otherwise.
    pub(crate) fn new<T: Any + Send + Sync>(value: T) -> Value {
        match to_word(&value) {
            Some(word) => Value::Word(word),
            None => Value::Shared(Arc::new(value)),
        }
    }

    /// The value for a `&T` reader: the shared reference itself, or a new
    /// one around a scalar.
    pub(crate) fn shared<T: Any + Send + Sync>(self) -> Arc<T> {
        match self {
            Value::Shared(value) => value.downcast().unwrap_or_else(|_| mistyped()),
            Value::Word(word) => Arc::new(from_word(word)),
        }
    }

    /// The value itself: moved out when this is its only reference,
    /// `clone`d otherwise.
    pub(crate) fn owned<T: Any + Send + Sync>(self, clone: fn(&T) -> T) -> T {
        match self {
            Value::Word(word) => from_word(word),
            shared => Arc::try_unwrap(shared.shared()).unwrap_or_else(|shared| clone(&shared)),
        }
    }

    /// What `f` makes of the value, borrowed.
    pub(crate) fn with<T: Any, R>(&self, f: impl FnOnce(&T) -> R) -> R {
        match self {
            Value::Shared(value) => f(value.downcast_ref().unwrap_or_else(|| mistyped())),
            Value::Word(word) => f(&from_word::<T>(*word)),
        }
    }

    /// The shared value, if it is a `T`.
    #[cfg(feature = "distributed")]
    pub(crate) fn downcast<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        match self {
            Value::Shared(value) => value.clone().downcast().ok(),
            Value::Word(_) => None,
        }
    }

    /// A copy of the value, made with `clone`.
    pub(crate) fn cloned<T: Any>(&self, clone: fn(&T) -> T) -> T {
        self.with(clone)
    }
}

fn mistyped() -> ! {
    unreachable!("graphs are typed: an input always has its handle's type")
}

/// Each scalar type held in place, with its conversion to and from the
/// 64 bits of a word. The conversions are exact: every value of these
/// types survives the round trip.
macro_rules! scalars {
    ($($t:ty => |$v:ident| $to:expr, |$w:ident| $from:expr;)*) => {
        /// The bits of `value` if it is a scalar held in place (`Value::Word`).
        pub(crate) fn to_word<T: Any>(value: &T) -> Option<u64> {
            let value = value as &dyn Any;
            $(
                if let Some(&$v) = value.downcast_ref::<$t>() {
                    return Some($to);
                }
            )*
            None
        }

        /// The `T` a word holds; `T` is the type it was made from.
        fn from_word<T: Any>(word: u64) -> T {
            let mut out: Option<T> = None;
            let slot = &mut out as &mut dyn Any;
            $(
                if let Some(slot) = slot.downcast_mut::<Option<$t>>() {
                    let $w = word;
                    *slot = Some($from);
                    return out.unwrap_or_else(|| mistyped());
                }
            )*
            mistyped()
        }
    };
}

scalars! {
    u64 => |v| v, |w| w;
    i64 => |v| v as u64, |w| w as i64;
    u32 => |v| u64::from(v), |w| w as u32;
    i32 => |v| v as u64, |w| w as i32;
    u16 => |v| u64::from(v), |w| w as u16;
    i16 => |v| v as u64, |w| w as i16;
    u8 => |v| u64::from(v), |w| w as u8;
    i8 => |v| v as u64, |w| w as i8;
    usize => |v| v as u64, |w| w as usize;
    isize => |v| v as u64, |w| w as isize;
    f64 => |v| v.to_bits(), |w| f64::from_bits(w);
    f32 => |v| u64::from(v.to_bits()), |w| f32::from_bits(w as u32);
    bool => |v| u64::from(v), |w| w != 0;
    char => |v| u64::from(v), |w| char::from_u32(w as u32).unwrap_or_else(|| mistyped());
    () => |_v| 0, |_w| ();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Any + Send + Sync + Clone + PartialEq + std::fmt::Debug>(value: T) {
        let erased = Value::new(value.clone());
        assert!(
            matches!(erased, Value::Word(_)),
            "{value:?} is held in place"
        );
        assert_eq!(erased.cloned::<T>(T::clone), value);
        assert_eq!(*erased.clone().shared::<T>(), value);
        assert_eq!(erased.owned::<T>(T::clone), value);
    }

    #[test]
    fn scalars_are_held_in_place_and_come_back_exactly() {
        round_trip(u64::MAX);
        round_trip(i64::MIN);
        round_trip(-1_i32);
        round_trip(u32::MAX);
        round_trip(-2_i16);
        round_trip(7_u16);
        round_trip(-128_i8);
        round_trip(255_u8);
        round_trip(usize::MAX);
        round_trip(isize::MIN);
        round_trip(-0.0_f64);
        round_trip(f64::MAX);
        round_trip(1.5_f32);
        round_trip(true);
        round_trip('é');
        round_trip(());
        let nan = Value::new(f64::NAN).owned::<f64>(f64::clone);
        assert!(nan.is_nan());
    }

    #[test]
    fn other_values_are_shared_and_moved_out_by_their_last_reference() {
        let value = Value::new(vec![1, 2, 3]);
        assert!(matches!(value, Value::Shared(_)));
        let other = value.clone();
        assert_eq!(other.cloned::<Vec<i32>>(Vec::clone), [1, 2, 3]);
        let copy = other.owned::<Vec<i32>>(Vec::clone); // `value` still holds it
        let only = value.owned::<Vec<i32>>(|_| panic!("the only reference is moved"));
        assert_eq!((copy, only), (vec![1, 2, 3], vec![1, 2, 3]));
        // A newtype around a number is not one of the scalar types.
        #[derive(Clone)]
        struct Meters(#[allow(dead_code)] u64);
        assert!(matches!(Value::new(Meters(3)), Value::Shared(_)));
    }
}
