//! The key of a task: its function's name and a number or a given text.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// A key in 24 bytes, so that a node fits a smaller allocation: the
/// common numbered key inline, a key given as text behind one pointer.
#[derive(Clone)]
enum Repr {
    /// Unique per call, or a hash of a pure call.
    Number { name: &'static str, id: u64 },
    /// Given by the user: shown as is.
    Text(Arc<Text>),
}

struct Text {
    name: &'static str,
    text: Box<str>,
}

impl Key {
    /// A key no other task of this process has.
    pub(crate) fn unique(name: &'static str) -> Key {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // A bijective mix of a counter: unique like the counter, but keys
        // of neighbouring tasks do not look alike in errors and pictures.
        Key::hashed(name, splitmix64(NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    /// The key of a pure call, from a hash of the function and arguments.
    pub(crate) fn hashed(name: &'static str, hash: u64) -> Key {
        Key(Repr::Number { name, id: hash })
    }

    /// The same key under another function name.
    pub(crate) fn renamed(&self, name: &'static str) -> Key {
        match &self.0 {
            Repr::Number { id, .. } => Key::hashed(name, *id),
            Repr::Text(text) => Key::text(name, &text.text),
        }
    }

    /// A key with exactly the given text.
    pub(crate) fn text(name: &'static str, text: &str) -> Key {
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
        match &self.0 {
            Repr::Number { name, .. } => name,
            Repr::Text(text) => text.name,
        }
    }

    /// What tells keys apart, in the order keys sort: the name, then the
    /// number or the text (numbered keys first).
    fn parts(&self) -> (&'static str, Result<u64, &str>) {
        match &self.0 {
            Repr::Number { name, id } => (name, Ok(*id)),
            Repr::Text(text) => (text.name, Err(&text.text)),
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
            Repr::Number { name, id } => write!(f, "{name}-{id:016x}"),
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
        let keys: HashSet<Key> = (0..10_000).map(|_| Key::unique("inc")).collect();
        assert_eq!(keys.len(), 10_000);
        let k = Key::unique("load");
        let shown = k.to_string();
        assert!(shown.starts_with("load-"), "{shown}");
        assert_eq!(shown.len(), "load-".len() + 16);
    }
}
