//! Tasks that run on workers: what a node records to be sent (its
//! function's path, each argument as bytes or as an input to encode, how
//! to decode its result), and the client's side of the broker, which sends
//! a task and awaits its completion.
//!
//! Whether an argument encodes and a result decodes is decided where the
//! task is built, at compile time, the way the registry decides whether a
//! function runs from bytes: [`EncodeVia`] and [`DecodeVia`] are found for
//! serde types, the fallbacks otherwise.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::broker::{Broker, Outcome, TaskMessage};
use crate::error::Error;
use crate::handle::TaskValue;
use crate::node::{BoxError, BoxFuture};
use crate::sync::lock;
use crate::value::Value;

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

/// One argument of a task sent to a worker, encoded when the task is
/// sent: a client without workers never encodes anything.
#[doc(hidden)]
pub struct Part(Argument);

enum Argument {
    /// A plain value given when the task was built.
    Constant(Value, Encode),
    /// The value of the task's input `i`.
    Input(usize, Encode),
}

impl Part {
    pub(crate) fn constant(value: Value, encode: Encode) -> Part {
        Part(Argument::Constant(value, encode))
    }

    pub(crate) fn input(i: usize, encode: Encode) -> Part {
        Part(Argument::Input(i, encode))
    }
}

/// What a task needs to run on a worker.
pub(crate) struct RemoteSpec {
    pub(crate) path: &'static str,
    pub(crate) parts: Vec<Part>,
    pub(crate) decode: Decode,
}

/// A type whose values may cross to a worker; see [`EncodeVia`].
#[doc(hidden)]
pub struct Codec<T>(PhantomData<fn() -> T>);

impl<T> Codec<T> {
    pub fn new() -> Codec<T> {
        Codec(PhantomData)
    }
}

impl<T> Default for Codec<T> {
    fn default() -> Codec<T> {
        Codec::new()
    }
}

/// Found first for a type that serializes.
#[doc(hidden)]
pub trait EncodeVia {
    fn encoder(&self) -> Option<Encode>;
}

impl<T: Serialize + std::any::Any> EncodeVia for Codec<T> {
    fn encoder(&self) -> Option<Encode> {
        Some(Encode(|value| value.with(|v: &T| super::encode(v))))
    }
}

/// Found otherwise: the task runs in the client.
#[doc(hidden)]
pub trait EncodeFallback {
    fn encoder(&self) -> Option<Encode>;
}

impl<T> EncodeFallback for &Codec<T> {
    fn encoder(&self) -> Option<Encode> {
        None
    }
}

/// Found first for a type that deserializes into an owned value.
#[doc(hidden)]
pub trait DecodeVia {
    fn decoder(&self) -> Option<Decode>;
}

impl<T: DeserializeOwned + TaskValue> DecodeVia for Codec<T> {
    fn decoder(&self) -> Option<Decode> {
        Some(Decode(|bytes| super::decode::<T>(bytes).map(Value::new)))
    }
}

/// Found otherwise: the task runs in the client.
#[doc(hidden)]
pub trait DecodeFallback {
    fn decoder(&self) -> Option<Decode>;
}

impl<T> DecodeFallback for &Codec<T> {
    fn decoder(&self) -> Option<Decode> {
        None
    }
}

/// The arguments of a task as one MessagePack array, from its parts, as
/// [`encode`](super::encode) writes a tuple of them.
pub(crate) fn arguments(
    parts: &[Part],
    mut input: impl FnMut(usize) -> Value,
) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    let count = parts.len();
    // The array's header, then its elements as they are encoded alone; no
    // arguments at all are `()`, which MessagePack writes as nil.
    if count == 0 {
        bytes.push(0xc0);
    } else if count < 16 {
        bytes.push(0x90 | count as u8);
    } else if let Ok(count) = u16::try_from(count) {
        bytes.push(0xdc);
        bytes.extend_from_slice(&count.to_be_bytes());
    } else {
        bytes.push(0xdd);
        bytes.extend_from_slice(&(count as u32).to_be_bytes());
    }
    for part in parts {
        let encoded = match part {
            Part(Argument::Constant(value, encode)) => encode.encode(value)?,
            Part(Argument::Input(i, encode)) => encode.encode(&input(*i))?,
        };
        bytes.extend_from_slice(&encoded);
    }
    Ok(bytes)
}

/// A client's side of the broker: sends tasks, and hands each completion
/// read from its reply stream to the task waiting for it.
pub(crate) struct RemoteClient {
    broker: Broker,
    /// This client's name in keys: its reply stream and result keys.
    name: String,
    /// The stream its completions come back on.
    reply: String,
    next: AtomicU64,
    /// The task waiting for each result key.
    waiting: Mutex<HashMap<String, Waiting>>,
}

/// Where a task's completion goes: its outcome, or the broker's error.
type Waiting = oneshot::Sender<Result<Outcome, Arc<Error>>>;

impl RemoteClient {
    /// Connects to the broker at `url` from the client's runtime.
    pub(crate) fn connect(url: &str, handle: &Handle) -> Result<Arc<RemoteClient>, Error> {
        let url = url.to_string();
        let connecting = handle.clone();
        // On a thread of its own: `build` may be called from anywhere,
        // also inside a runtime, where blocking on one is not allowed.
        // Two connections: the reader's blocking reads would hold up the
        // tasks sent on the same one.
        let (broker, reader) = std::thread::spawn(move || {
            connecting.block_on(async {
                let broker = Broker::connect(&url, Duration::from_secs(5)).await?;
                let reader = Broker::connect(&url, Duration::from_secs(5)).await?;
                Ok::<_, Error>((broker, reader))
            })
        })
        .join()
        .map_err(|_| Error::remote("connecting to the broker panicked".into(), None))??;
        let name = super::unique_name();
        let client = Arc::new(RemoteClient {
            broker,
            reply: format!("delayed:reply:{name}"),
            name,
            next: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
        });
        handle.spawn(read_completions(
            Arc::downgrade(&client),
            reader,
            client.reply.clone(),
        ));
        Ok(client)
    }

    /// Sends task `key` to the workers and returns the future of its value.
    pub(crate) fn call(
        self: &Arc<Self>,
        key: String,
        spec: &RemoteSpec,
        args: Vec<u8>,
    ) -> BoxFuture {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let message = TaskMessage {
            key,
            function: spec.path.to_string(),
            args,
            reply: self.reply.clone(),
            result: format!("delayed:result:{}:{n}", self.name),
        };
        let (sender, receiver) = oneshot::channel();
        lock(&self.waiting).insert(message.result.clone(), sender);
        let client = self.clone();
        let decode = spec.decode;
        Box::pin(async move {
            if let Err(error) = client.broker.submit(&message).await {
                lock(&client.waiting).remove(&message.result);
                return Err(BoxError::from(error));
            }
            let outcome = receiver
                .await
                .map_err(|_| BoxError::from("the client stopped before the task's result came"))?
                .map_err(|error| BoxError::from(Error::shared(error)))?;
            match outcome {
                Outcome::Done(bytes) => (decode.0)(&bytes).map_err(BoxError::from),
                Outcome::Failed(report) => Err(BoxError::from(RemoteFailure(report))),
            }
        })
    }

    /// Fails every task waiting for a completion with `error`.
    fn fail_all(&self, error: Error) {
        let error = Arc::new(error);
        for (_, waiting) in lock(&self.waiting).drain() {
            let _ = waiting.send(Err(error.clone()));
        }
    }
}

/// A task's error as the worker that ran it reported it.
#[derive(Debug)]
struct RemoteFailure(String);

impl std::fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "on a worker: {}", self.0)
    }
}

impl std::error::Error for RemoteFailure {}

/// Reads the client's reply stream, on a connection of its own, for as
/// long as the client lives.
async fn read_completions(client: Weak<RemoteClient>, reader: Broker, reply: String) {
    let mut after = "0".to_string();
    while client.strong_count() > 0 {
        let read = reader
            .completions(&reply, &after, Duration::from_millis(500), 256)
            .await;
        let Some(client) = client.upgrade() else {
            return;
        };
        match read {
            Ok(done) => {
                let mut waiting = lock(&client.waiting);
                for done in done {
                    after = done.id;
                    if let Some(waiting) = waiting.remove(&done.result) {
                        let _ = waiting.send(Ok(done.outcome));
                    }
                }
            }
            Err(error) => {
                // Tasks in flight fail at once; later ones try again.
                client.fail_all(error);
                drop(client);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[cfg(test)]
// `(&Codec::<T>::new())`: the borrow is what lets a type that is not a
// serde type find the fallback, as in generated code.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    fn encoded<T: Serialize>(value: &T) -> Vec<u8> {
        crate::distributed::encode(value).unwrap()
    }

    #[test]
    fn arguments_are_written_as_the_tuple_of_them_is() {
        let input = |_: usize| Value::new(5_u16);
        let none: Vec<Part> = Vec::new();
        assert_eq!(arguments(&none, input).unwrap(), encoded(&()));
        let encode = (&Codec::<u16>::new()).encoder().unwrap();
        let text = (&Codec::<String>::new()).encoder().unwrap();
        let two = vec![
            Part::constant(Value::new("a".to_string()), text),
            Part::input(0, encode),
        ];
        assert_eq!(arguments(&two, input).unwrap(), encoded(&("a", 5_u16)));
        let byte = (&Codec::<u8>::new()).encoder().unwrap();
        let many: Vec<Part> = (0..20_u8)
            .map(|i| Part::constant(Value::new(i), byte))
            .collect();
        let tuple: Vec<u8> = (0..20).collect();
        assert_eq!(arguments(&many, input).unwrap(), encoded(&tuple));
        let flag = (&Codec::<bool>::new()).encoder().unwrap();
        let lots: Vec<Part> = (0..70_000_u32)
            .map(|_| Part::constant(Value::new(true), flag))
            .collect();
        assert_eq!(
            arguments(&lots, input).unwrap(),
            encoded(&vec![true; 70_000])
        );
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
        let value = (decode.0)(&encoded(&vec!["x".to_string()])).unwrap();
        assert_eq!(value.cloned::<Vec<String>>(Vec::clone), ["x"]);
    }
}
