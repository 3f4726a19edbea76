//! The key of a task: its function's name and a number or a given text.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sync::interned;

/// The name of a task: the function's name and a suffix, like Dask's
/// `inc-5d2c…` keys.
///
/// Keys appear in errors and pictures; `Display` renders them as
/// `name-0123456789abcdef`, or as the exact text given to
/// [`Delayed::with_key`](crate::Delayed::with_key). Every call makes a task
/// with a fresh key, except calls of a `#[delayed(pure)]` function, whose
/// key is derived from the function and its arguments.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let a = inc(1);
/// assert_eq!(a.key().name(), "inc");
/// assert!(a.key().to_string().starts_with("inc-"));
/// assert_ne!(a.key(), inc(1).key()); // every call is its own task
/// ```
#[derive(Clone)]
pub struct Key(Repr);

/// A key in 16 bytes, so that a node fits a smaller allocation: the
/// common numbered key inline, with its name behind one thin pointer; a
/// key given as text behind one pointer.
#[derive(Clone)]
enum Repr {
    /// Unique per call, or a hash of a pure call.
    Number { name: Name, id: u64 },
    /// Given by the user: shown as is.
    Text(Arc<Text>),
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Key>() == 16);

struct Text {
    name: Name,
    text: Box<str>,
}

/// A function's name behind a thin pointer: a `&'static str` is two words,
/// and a key holds one. Code that knows its name at compile time writes
/// `Name::new(&"inc")`, a pointer to a constant; a name known only at run
/// time (`Delayed::named`) is stored once per distinct name, for the life
/// of the process.
#[derive(Clone, Copy)]
pub(crate) struct Name(&'static &'static str);

impl Name {
    /// The name `*name`.
    pub(crate) const fn new(name: &'static &'static str) -> Name {
        Name(name)
    }

    /// The name `name`, stored once per distinct name: a process has as
    /// many as its code spells out, so the store stays small.
    pub(crate) fn interned(name: &'static str) -> Name {
        type Names = BTreeMap<&'static str, &'static &'static str>;
        thread_local! {
            static KNOWN: RefCell<Names> = const { RefCell::new(BTreeMap::new()) };
        }
        static ALL: Mutex<Names> = Mutex::new(BTreeMap::new());
        Name(interned(&KNOWN, &ALL, name, || Box::leak(Box::new(name))))
    }

    /// The name as text.
    pub(crate) fn get(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl Key {
    /// A key no other task of this process has.
    pub(crate) fn unique(name: Name) -> Key {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // A bijective mix of a counter: unique like the counter, but keys
        // of neighbouring tasks do not look alike in errors and pictures.
        Key::hashed(name, splitmix64(NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    /// The key of a pure call, from a hash of the function and arguments.
    pub(crate) fn hashed(name: Name, hash: u64) -> Key {
        Key(Repr::Number { name, id: hash })
    }

    /// The same key under another function name.
    pub(crate) fn renamed(&self, name: Name) -> Key {
        match &self.0 {
            Repr::Number { id, .. } => Key::hashed(name, *id),
            Repr::Text(text) => Key::text(name, &text.text),
        }
    }

    /// A key with exactly the given text.
    pub(crate) fn text(name: Name, text: &str) -> Key {
        Key(Repr::Text(Arc::new(Text {
            name,
            text: text.into(),
        })))
    }

    /// The function name part of the key: `"inc"` for `inc-5d2c…`. For a
    /// key given with `with_key`, the name of the function that computes it.
    ///
    /// ```
    /// let v = delayed::value(3);
    /// assert_eq!(v.key().name(), "value");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name_ref().get()
    }

    /// The function name part of the key, as it is stored.
    pub(crate) fn name_ref(&self) -> Name {
        match &self.0 {
            Repr::Number { name, .. } => *name,
            Repr::Text(text) => text.name,
        }
    }

    /// What tells keys apart, in the order keys sort: the name, then the
    /// number or the text (numbered keys first).
    fn parts(&self) -> (&'static str, Result<u64, &str>) {
        match &self.0 {
            Repr::Number { name, id } => (name.get(), Ok(*id)),
            Repr::Text(text) => (text.name.get(), Err(&text.text)),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Number { name, id } => write!(f, "{}-{id:016x}", name.get()),
            Repr::Text(text) => f.write_str(&text.text),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

pub(crate) fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_named() {
        let keys: HashSet<Key> = (0..10_000)
            .map(|_| Key::unique(Name::new(&"inc")))
            .collect();
        assert_eq!(keys.len(), 10_000);
        let k = Key::unique(Name::new(&"load"));
        let shown = k.to_string();
        assert!(shown.starts_with("load-"), "{shown}");
        assert_eq!(shown.len(), "load-".len() + 16);
    }
}
