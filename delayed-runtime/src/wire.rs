//! What travels between a client and its workers (feature
//! `distributed`), or to the cache (feature `cache`): how a task's
//! arguments are encoded and its result decoded, and the MessagePack
//! helpers both ends use.
//!
//! A leaf of the graph layer: it depends only on `value` and `error`, so
//! that a node (`node.rs`) and the builder (`task.rs`) can record what a
//! worker needs without knowing about the broker.
//!
//! Whether an argument encodes and a result decodes is decided where the
//! task is built, at compile time, the way the registry decides whether a
//! function runs from bytes: [`EncodeVia`] and [`DecodeVia`] are found
//! for serde types, the fallbacks otherwise.

#[cfg(feature = "distributed")]
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::value::{TaskValue, Value};

/// Encodes an input's value as MessagePack.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Encode(fn(&Value) -> Result<Vec<u8>, Error>);

impl Encode {
    pub(crate) fn encode(self, value: &Value) -> Result<Vec<u8>, Error> {
        (self.0)(value)
    }
}

/// Decodes a result into the value the task's handle has.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Decode(fn(&[u8]) -> Result<Value, Error>);

impl Decode {
    pub(crate) fn decode(self, bytes: &[u8]) -> Result<Value, Error> {
        (self.0)(bytes)
    }
}

/// One argument of a task sent to a worker, encoded when the task is
/// sent: a client without workers never encodes anything.
#[doc(hidden)]
pub struct Part(pub(crate) Source);

/// Where a [`Part`]'s value comes from.
pub(crate) enum Source {
    /// A plain value given when the task was built.
    Constant(Value, Encode),
    /// The value of the task's input `i`.
    Input(usize, Encode),
}

impl Part {
    pub(crate) fn constant(value: Value, encode: Encode) -> Part {
        Part(Source::Constant(value, encode))
    }

    pub(crate) fn input(i: usize, encode: Encode) -> Part {
        Part(Source::Input(i, encode))
    }
}

#[cfg(feature = "distributed")]
/// What a task needs to run on a worker: its registered function's
/// path, its arguments and how to decode its result.
pub(crate) struct Spec {
    pub(crate) path: &'static str,
    pub(crate) parts: Vec<Part>,
    pub(crate) decode: Decode,
}

#[cfg(feature = "distributed")]
/// A type whose values may cross to a worker; see [`EncodeVia`].
#[doc(hidden)]
pub struct Codec<T>(PhantomData<fn() -> T>);

#[cfg(feature = "distributed")]
impl<T> Codec<T> {
    pub fn new() -> Codec<T> {
        Codec(PhantomData)
    }
}

#[cfg(feature = "distributed")]
impl<T> Default for Codec<T> {
    fn default() -> Codec<T> {
        Codec::new()
    }
}

#[cfg(feature = "distributed")]
/// Found first for a type that serializes.
#[doc(hidden)]
pub trait EncodeVia {
    fn encoder(&self) -> Option<Encode>;
}

#[cfg(feature = "distributed")]
impl<T: Serialize + std::any::Any> EncodeVia for Codec<T> {
    fn encoder(&self) -> Option<Encode> {
        Some(encoder_of::<T>())
    }
}

/// The encoder of a `T`.
#[doc(hidden)]
pub fn encoder_of<T: Serialize + std::any::Any>() -> Encode {
    Encode(|value| value.with(encode_value::<T>))
}

#[cfg(feature = "distributed")]
/// Found otherwise: the task runs in the client.
#[doc(hidden)]
pub trait EncodeFallback {
    fn encoder(&self) -> Option<Encode>;
}

#[cfg(feature = "distributed")]
impl<T> EncodeFallback for &Codec<T> {
    fn encoder(&self) -> Option<Encode> {
        None
    }
}

#[cfg(feature = "distributed")]
/// Found first for a type that deserializes into an owned value.
#[doc(hidden)]
pub trait DecodeVia {
    fn decoder(&self) -> Option<Decode>;
}

#[cfg(feature = "distributed")]
impl<T: DeserializeOwned + TaskValue> DecodeVia for Codec<T> {
    fn decoder(&self) -> Option<Decode> {
        Some(decoder_of::<T>())
    }
}

/// The decoder of a `T`.
pub(crate) fn decoder_of<T: DeserializeOwned + TaskValue>() -> Decode {
    Decode(|bytes| decode::<T>(bytes).map(Value::new))
}

#[cfg(feature = "distributed")]
/// Found otherwise: the task runs in the client.
#[doc(hidden)]
pub trait DecodeFallback {
    fn decoder(&self) -> Option<Decode>;
}

#[cfg(feature = "distributed")]
impl<T> DecodeFallback for &Codec<T> {
    fn decoder(&self) -> Option<Decode> {
        None
    }
}

#[cfg(feature = "distributed")]
/// A value as MessagePack, as arguments and results travel: several
/// arguments as one tuple.
///
/// ```
/// let bytes = delayed::distributed::encode(&(1_u8, "two"))?;
/// assert_eq!(delayed::distributed::decode::<(u8, String)>(&bytes)?, (1, "two".to_string()));
///
/// // Bytes travel as they are, after a 3-byte header.
/// let bytes = delayed::distributed::encode(&vec![200_u8; 1000])?;
/// assert_eq!(bytes.len(), 1003);
/// assert_eq!(delayed::distributed::decode::<Vec<u8>>(&bytes)?, vec![200_u8; 1000]);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    msgpack(value).map_err(not_encoded::<T>)
}

/// [`encode`], through [`value_bytes`]: as a task's argument is sent.
pub(crate) fn encode_value<T: Serialize + std::any::Any>(value: &T) -> Result<Vec<u8>, Error> {
    value_bytes(value).map_err(not_encoded::<T>)
}

fn not_encoded<T: ?Sized>(source: rmp_serde::encode::Error) -> Error {
    Error::codec(
        format!(
            "could not encode a `{}` as MessagePack",
            std::any::type_name::<T>()
        ),
        source.into(),
    )
}

/// A whole value as MessagePack, a `Vec<u8>` written as one `bin` in a
/// single copy: rmp-serde looks at each byte on the way (1.3 ms a
/// megabyte), and bytes are what large values mostly are.
pub(crate) fn value_bytes<T: Serialize + std::any::Any>(
    value: &T,
) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    // An empty one is an empty array, as rmp-serde writes it.
    let bytes = match (value as &dyn std::any::Any).downcast_ref::<Vec<u8>>() {
        Some(bytes) if !bytes.is_empty() => bytes,
        _ => return msgpack(value),
    };
    let mut out = Vec::with_capacity(bytes.len() + 5);
    match bytes.len() {
        n if n <= usize::from(u8::MAX) => out.extend_from_slice(&[0xc4, n as u8]),
        n if n <= usize::from(u16::MAX) => {
            out.push(0xc5);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => match u32::try_from(n) {
            Ok(n) => {
                out.push(0xc6);
                out.extend_from_slice(&n.to_be_bytes());
            }
            // Over 4 GiB: MessagePack has no room for it; serde says so.
            Err(_) => return msgpack(value),
        },
    }
    out.extend_from_slice(bytes);
    Ok(out)
}

/// `value` as MessagePack, with a sequence of bytes (`Vec<u8>`, `&[u8]`)
/// as one `bin`: a copy, where an array of numbers costs a branch and up
/// to two bytes for each (7 ms against 1.5 for a megabyte). Reading a
/// `bin` into a sequence is the decoder's own rule, so nothing else changes.
fn msgpack<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    let mut bytes = Vec::new();
    let mut serializer = rmp_serde::Serializer::new(&mut bytes)
        .with_bytes(rmp_serde::config::BytesMode::ForceIterables);
    value.serialize(&mut serializer)?;
    Ok(bytes)
}

/// A value from MessagePack, as [`encode`] wrote it.
///
/// ```
/// let err = delayed::distributed::decode::<u32>(b"\xc0").unwrap_err(); // nil
/// assert!(err.to_string().contains("could not decode a `u32`"), "{err}");
/// ```
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    rmp_serde::from_slice(bytes).map_err(|source| {
        Error::codec(
            format!(
                "could not decode a `{}` from MessagePack",
                std::any::type_name::<T>()
            ),
            source.into(),
        )
    })
}

#[cfg(all(test, feature = "distributed"))]
// `(&Codec::<T>::new())`: the borrow is what lets a type that is not a
// serde type find the fallback, as in generated code.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    fn encoded<T: Serialize>(value: &T) -> Vec<u8> {
        encode(value).unwrap()
    }

    #[test]
    fn only_serde_types_have_codecs() {
        #[allow(unused_imports)]
        use super::{DecodeFallback as _, EncodeFallback as _};
        struct Opaque;
        assert!((&Codec::<Vec<String>>::new()).encoder().is_some());
        assert!((&Codec::<Vec<String>>::new()).decoder().is_some());
        assert!((&Codec::<Opaque>::new()).encoder().is_none());
        assert!((&Codec::<std::rc::Rc<u8>>::new()).decoder().is_none());
        let decode = (&Codec::<Vec<String>>::new()).decoder().unwrap();
        let value = decode.decode(&encoded(&vec!["x".to_string()])).unwrap();
        assert_eq!(value.cloned::<Vec<String>>(Vec::clone), ["x"]);
    }

    #[test]
    fn bytes_are_written_in_one_copy_as_serde_would_write_them() {
        for n in [0, 10, 255, 256, 65_535, 65_536, 1 << 20] {
            let bytes: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let fast = value_bytes(&bytes).unwrap();
            assert_eq!(fast, msgpack(&bytes).unwrap(), "{n} bytes");
            assert_eq!(decode::<Vec<u8>>(&fast).unwrap(), bytes);
        }
        // Anything else goes through serde.
        let words = vec![1_u16, 300];
        assert_eq!(value_bytes(&words).unwrap(), msgpack(&words).unwrap());
    }
}
