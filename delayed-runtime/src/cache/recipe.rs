//! What a cached task's key is made of, and what an entry holds.
//!
//! A task's [`Spec`] is recorded by `#[delayed(cache)]` when the task is
//! built; its [`Recipe`] is worked out when it is about to run, from the
//! spec, the client's salt and its arguments, and hashes to its key. The
//! recipe is kept beside the entry (under the task's [`Lineage`]), so that
//! a later miss can say which part of it changed.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::value::{TaskValue, Value};
use crate::wire::{Decode, Encode, Part, decoder_of, encoder_of};

/// What `#[delayed(cache)]` records in a task: the function, its code's
/// hashes, and how to encode its arguments and result.
#[doc(hidden)]
pub struct Spec {
    /// `module::function`, as written.
    pub(crate) path: &'static str,
    /// A hash of the function's tokens, taken at compile time.
    pub(crate) tokens: u64,
    /// The helpers it names in `uses = […]`, each with its tokens' hash.
    pub(crate) uses: &'static [(&'static str, u64)],
    /// `version = "…"`, or empty.
    pub(crate) version: &'static str,
    /// Key inputs by their values rather than their keys.
    pub(crate) by_value: bool,
    /// Each argument: a constant to encode, or an input.
    pub(crate) parts: Vec<Part>,
    /// The result's type, checked when an entry is read.
    pub(crate) type_name: &'static str,
    pub(crate) encode: Encode,
    pub(crate) decode: Decode,
}

/// A task's spec, for `#[delayed(cache)]`: only serde types can be cached,
/// which this bound checks where the function is written.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn spec<T: Cacheable + TaskValue>(
    path: &'static str,
    tokens: u64,
    uses: &'static [(&'static str, u64)],
    version: &'static str,
    by_value: bool,
    parts: Vec<Option<Part>>,
) -> Spec {
    Spec {
        path,
        tokens,
        uses,
        version,
        by_value,
        // Every argument has an encoder: `encoder` demanded it.
        parts: parts.into_iter().flatten().collect(),
        type_name: std::any::type_name::<T>(),
        encode: encoder_of::<T>(),
        decode: decoder_of::<T>(),
    }
}

/// The result of a cached function: written to the store and read back.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached: `#[delayed(cache)]` stores a task's value, so its type must be `Serialize + DeserializeOwned`",
    label = "not `Serialize + DeserializeOwned`",
    note = "derive `serde::Serialize` and `serde::Deserialize` for your own types; or remove `cache` from `#[delayed(…)]` so that the task always runs"
)]
pub trait Cacheable: Serialize + DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> Cacheable for T {}

/// An argument of a cached function: its bytes are part of the key.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a `#[delayed(cache)]` function: its bytes are part of the task's cache key, so it must be `Serialize`",
    label = "not `Serialize`",
    note = "derive `serde::Serialize` for your own types; or remove `cache` from `#[delayed(…)]` so that the task always runs"
)]
pub trait CacheArg: Serialize {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + ?Sized> CacheArg for T {}

/// The encoder of a cached function's argument.
#[doc(hidden)]
pub fn encoder<T: CacheArg + std::any::Any>() -> Option<Encode> {
    Some(encoder_of::<T>())
}

/// What one task's key is made of: hashed, it is the key; kept beside the
/// entry, it explains the next miss.
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
pub(crate) struct Recipe {
    pub(crate) path: String,
    pub(crate) type_name: String,
    pub(crate) tokens: u64,
    pub(crate) uses: Vec<(String, u64)>,
    pub(crate) version: String,
    pub(crate) salt: u128,
    /// Each argument: whether it is an input's key (rather than bytes),
    /// and the hash.
    pub(crate) args: Vec<(bool, u128)>,
}

impl Recipe {
    /// The recipe of a task of `spec`, under the client's `salt`, with its
    /// arguments' hashes.
    pub(crate) fn new(spec: &Spec, salt: u128, args: Vec<(bool, u128)>) -> Recipe {
        Recipe {
            path: spec.path.to_owned(),
            type_name: spec.type_name.to_owned(),
            tokens: spec.tokens,
            uses: spec
                .uses
                .iter()
                .map(|&(name, hash)| (name.to_owned(), hash))
                .collect(),
            version: spec.version.to_owned(),
            salt,
            args,
        }
    }

    /// The bytes the recipe is kept as.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        rmp_serde::to_vec(self).expect("a recipe is numbers and strings")
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Recipe> {
        rmp_serde::from_slice(bytes).ok()
    }

    /// The task's key: the recipe's hash.
    pub(crate) fn key(&self) -> u128 {
        super::hash(&self.to_bytes())
    }
}

/// Where the value of the task with key `key` is kept in the store.
pub(crate) fn entry_key(key: u128) -> String {
    format!("{key:032x}")
}

/// Where a task sits in its pipeline, whatever its arguments' values: its
/// function and its inputs' lineages. Two runs of one pipeline give a task
/// the same lineage, so a miss can be compared with the last recipe
/// written there.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Lineage(pub(crate) u128);

impl Lineage {
    /// The lineage of a task of `path` whose arguments have these
    /// lineages (`None` for a constant, or an input that is not cached).
    pub(crate) fn of(path: &str, args: impl Iterator<Item = Option<Lineage>>) -> Lineage {
        let mut bytes = path.as_bytes().to_vec();
        for arg in args {
            match arg {
                Some(Lineage(hash)) => {
                    bytes.push(1);
                    bytes.extend_from_slice(&hash.to_le_bytes());
                }
                None => bytes.push(0),
            }
        }
        Lineage(super::hash(&bytes))
    }

    /// Where its last recipe is kept in the store.
    pub(crate) fn store_key(self) -> String {
        format!("recipe-{:032x}", self.0)
    }
}

/// One entry in the store: the value's type, a checksum and the value as
/// MessagePack. A store may hand back anything; only an entry whose
/// checksum and type match is a hit.
#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope {
    type_name: String,
    checksum: u64,
    #[serde(with = "serde_bytes")]
    value: Vec<u8>,
}

impl Envelope {
    /// The entry of a task's value.
    pub(crate) fn write(spec: &Spec, value: &Value) -> Result<Vec<u8>, Error> {
        let value = spec.encode.encode(value)?;
        let envelope = Envelope {
            type_name: spec.type_name.to_owned(),
            checksum: xxhash_rust::xxh3::xxh3_64(&value),
            value,
        };
        rmp_serde::to_vec(&envelope)
            .map_err(|source| Error::codec("could not encode a cache entry".into(), source.into()))
    }

    /// The value in an entry, or why it is not one.
    pub(crate) fn read(spec: &Spec, bytes: &[u8]) -> Result<Value, String> {
        Envelope::open(spec, bytes).map(|(value, _)| value)
    }

    /// The value in an entry and its bytes' hash (what a task keyed by
    /// value takes from it), or why it is not one.
    pub(crate) fn open(spec: &Spec, bytes: &[u8]) -> Result<(Value, u128), String> {
        let envelope: Envelope = rmp_serde::from_slice(bytes)
            .map_err(|error| format!("the entry is not one this crate wrote ({error})"))?;
        if envelope.checksum != xxhash_rust::xxh3::xxh3_64(&envelope.value) {
            return Err("the entry's checksum does not match its bytes".into());
        }
        if envelope.type_name != spec.type_name {
            return Err(format!(
                "the entry holds a `{}`, not a `{}`",
                envelope.type_name, spec.type_name
            ));
        }
        let value = spec
            .decode
            .decode(&envelope.value)
            .map_err(|error| error.to_string())?;
        Ok((value, super::hash(&envelope.value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipe_hashes_to_the_same_key_in_every_run() {
        let recipe = Recipe {
            path: "pipeline::load".into(),
            type_name: "u64".into(),
            tokens: 1,
            uses: vec![("helper".into(), 2)],
            version: "2".into(),
            salt: 3,
            args: vec![(false, 4), (true, 5)],
        };
        assert_eq!(Recipe::from_bytes(&recipe.to_bytes()), Some(recipe.clone()));
        // Pinned: the same on every machine and build. A change here
        // misses every entry users have, so it must be on purpose.
        assert_eq!(recipe.key(), 0xd309_e5d3_d19f_5cb7_ed68_5de5_47d4_a7c0);
        let mut other = recipe.clone();
        other.args[1].1 = 6;
        assert_ne!(recipe.key(), other.key());
    }

    #[test]
    fn an_entry_of_another_type_is_not_a_value() {
        let number = spec::<u64>("p::f", 1, &[], "", false, Vec::new());
        let text = spec::<String>("p::f", 1, &[], "", false, Vec::new());
        let entry = Envelope::write(&number, &Value::new(7_u64)).unwrap();
        assert_eq!(
            Envelope::read(&number, &entry).unwrap().with(|x: &u64| *x),
            7
        );
        let why = Envelope::read(&text, &entry).err().unwrap();
        assert!(
            why.contains("holds a `u64`, not a `alloc::string::String`"),
            "{why}"
        );
        // Flipped bytes: the checksum says so, whatever the decoder would.
        let mut flipped = entry.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let why = Envelope::read(&number, &flipped).err().unwrap();
        assert!(why.contains("checksum"), "{why}");
        assert!(Envelope::read(&number, b"garbage").is_err());
    }
}
