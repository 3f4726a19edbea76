//! Tasks that run on workers: what a node records to be sent (its
//! function's path, each argument as bytes or as an input to encode, how
//! to decode its result), and the client's side of the broker, which sends
//! a task and awaits its completion.
//!
//! A task may go with the chain that follows it ([`Follower`]s, chosen by
//! the executor from the graph): the completion of each is registered
//! when the message is sent, and awaited when the compute reaches that
//! task ([`Attached`]).
//!
//! What a node records is in [`wire`](crate::wire), which this reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::broker::{Argument, Link, Outcome, Queue, TaskMessage};
use super::logs;
use crate::diagnostics::LogLine;
use crate::error::BoxError;
use crate::error::{Error, WorkersLost};
use crate::executor::offload::RanOn;
use crate::executor::ready::Ranked;
use crate::node::{BoxFuture, Node};
use crate::resources::Resources;
use crate::sync::lock;
use crate::value::Value;
use crate::wire::{Decode, Part, Source, Spec};

/// A task's result kept on the broker for the workers that read it, as
/// the client holds it in place of the value: the result's key, or the
/// value's bytes when it is small enough to travel inside messages. When
/// the last task that reads it is done, a result on the broker is released.
pub(crate) struct OnBroker {
    result: String,
    inline: Option<Vec<u8>>,
    release: Option<mpsc::UnboundedSender<String>>,
}

impl Drop for OnBroker {
    fn drop(&mut self) {
        if let Some(release) = &self.release {
            // A client gone leaves the key to expire.
            let _ = release.send(std::mem::take(&mut self.result));
        }
    }
}

/// A task's arguments as they travel, from its parts; with the results on
/// the broker among them, to be held until the task is done.
pub(crate) fn arguments(
    parts: &[Part],
    mut input: impl FnMut(usize) -> Value,
) -> Result<(Vec<Argument>, Vec<Arc<OnBroker>>), Error> {
    let mut held = Vec::new();
    let arguments = parts
        .iter()
        .map(|part| match &part.0 {
            Source::Constant(value, encode) => Ok(Argument::Value(encode.encode(value)?)),
            Source::Input(i, encode) => {
                let value = input(*i);
                let Some(stored) = value.downcast::<OnBroker>() else {
                    return Ok(Argument::Value(encode.encode(&value)?));
                };
                let argument = match &stored.inline {
                    Some(bytes) => Argument::Value(bytes.clone()),
                    None => Argument::Stored(stored.result.clone()),
                };
                held.push(stored);
                Ok(argument)
            }
        })
        .collect::<Result<_, Error>>()?;
    Ok((arguments, held))
}

/// The arguments of a task that follows another in its message, reading
/// only that one: its inputs are all the result before it.
pub(crate) fn link_arguments(parts: &[Part]) -> Result<Vec<Argument>, Error> {
    parts
        .iter()
        .map(|part| match &part.0 {
            Source::Constant(value, encode) => Ok(Argument::Value(encode.encode(value)?)),
            Source::Input(..) => Ok(Argument::Previous),
        })
        .collect()
}

/// The most tasks one message carries: a chain longer than that goes in
/// several, one after the other. It bounds what a worker lost mid-chain
/// leaves to run again, and a message's size.
pub(crate) const LINKS: usize = 64;

/// A task sent to run after another on the same worker, in its message.
pub(crate) struct Follower<'a> {
    /// The task's index in its graph.
    pub(crate) index: u32,
    pub(crate) key: String,
    pub(crate) spec: &'a Spec,
    pub(crate) args: Vec<Argument>,
    /// As for [`RemoteClient::call`].
    pub(crate) kept_for: Option<u32>,
}

/// The completion of a task sent in another's message, awaited when the
/// compute reaches it. Dropped before it came (the chain stopped before
/// the task, or the compute did), it is no longer waited for.
pub(crate) struct Attached {
    client: Arc<RemoteClient>,
    result: String,
    kept: bool,
    decode: Decode,
    receiver: Receiver,
}

type Receiver = oneshot::Receiver<Result<Completion, Arc<Error>>>;

/// A task's outcome as the reader hands it over: with the name of the
/// worker that ran it, and the log lines that came home from it.
struct Completion {
    outcome: Outcome,
    worker: String,
    logs: Vec<LogLine>,
}

/// A task's outcome as the reader hands it over, with the name of the
/// worker that ran it and its log lines told to `ran_on`.
async fn completed(receiver: &mut Receiver, ran_on: Option<RanOn>) -> Result<Outcome, BoxError> {
    let completion = receiver
        .await
        .map_err(|_| BoxError::from("the client stopped before the task's result came"))?
        .map_err(|error| BoxError::from(Error::shared(error)))?;
    if let Some(ran_on) = ran_on {
        ran_on.set(completion.worker);
        ran_on.logged(completion.logs);
    }
    Ok(completion.outcome)
}

impl Drop for Attached {
    fn drop(&mut self) {
        // The reader removed it when the completion came.
        lock(&self.client.waiting).remove(&self.result);
    }
}

impl Attached {
    /// The future of the task's value, as [`RemoteClient::call`] gives it
    /// for a task sent on its own.
    pub(crate) fn follow(mut self, ran_on: Option<RanOn>) -> BoxFuture {
        Box::pin(async move {
            let outcome = completed(&mut self.receiver, ran_on).await?;
            let result = self.result.clone();
            self.client.value(outcome, self.kept, result, self.decode)
        })
    }
}

/// A client's side of the broker: sends tasks, and hands each completion
/// read from its reply stream to the task waiting for it.
pub(crate) struct RemoteClient {
    broker: Arc<dyn Queue>,
    /// This client's name in keys: its reply stream and result keys.
    name: String,
    /// The stream its completions come back on.
    reply: String,
    next: AtomicU64,
    /// The task waiting for each result key.
    waiting: Mutex<HashMap<String, Waiting>>,
    /// Where results on the broker go when all their readers are done.
    release: mpsc::UnboundedSender<String>,
    /// The tasks sent and not done, and those waiting to be sent.
    window: Mutex<Window>,
    /// What each worker serving has, read every [`WORKERS_READ_EVERY`]:
    /// a task that needs resources goes to workers only if one has them.
    workers: Mutex<Vec<Resources>>,
}

/// How often a client reads which workers serve, and what they have.
const WORKERS_READ_EVERY: Duration = Duration::from_secs(1);

/// The workers' resources as they print, read: one that does not parse
/// (another version's) counts as having nothing.
fn capacities(workers: Vec<String>) -> Vec<Resources> {
    workers
        .iter()
        .map(|has| has.parse().unwrap_or_default())
        .collect()
}

/// Reads which workers serve, and what they have, for as long as the
/// client lives.
async fn watch_workers(client: Weak<RemoteClient>) {
    loop {
        tokio::time::sleep(WORKERS_READ_EVERY).await;
        let Some(client) = client.upgrade() else {
            return;
        };
        // Unread, the last list stands: the broker's loss is told by the
        // tasks in flight.
        if let Ok(workers) = client.broker.workers().await {
            *lock(&client.workers) = capacities(workers);
        }
    }
}

/// How many tasks a client has on the broker at once. A task ready
/// beyond them waits its turn, highest priority first, then newest
/// first: the consumer of a result
/// just written goes ahead of tasks that were ready long before, so that
/// results are read and released soon after they are written (memory on
/// the broker follows the frontier of the graph, as it does locally), and
/// the worker that wrote one often still has it in its cache.
const WINDOW: usize = 256;

/// The tasks a client has on the broker, and those waiting to be sent.
struct Window {
    sent: usize,
    /// Each is told when a place is free: highest priority first, then
    /// newest first.
    waiting: Ranked<oneshot::Sender<()>>,
}

impl Default for Window {
    fn default() -> Window {
        Window {
            sent: 0,
            waiting: Ranked::newest_first(),
        }
    }
}

/// A task's place in the window, given to the next waiting task when it
/// is done or dropped.
struct Place(Arc<RemoteClient>);

impl Drop for Place {
    fn drop(&mut self) {
        let mut window = lock(&self.0.window);
        while let Some(next) = window.waiting.pop() {
            // A task dropped while waiting has no use for the place.
            if next.send(()).is_ok() {
                return;
            }
        }
        window.sent -= 1;
    }
}

/// A task waiting for its completion.
struct Waiting {
    /// Where its outcome and the name of the worker that ran it go, or
    /// the broker's error.
    sender: oneshot::Sender<Result<Completion, Arc<Error>>>,
    /// Whether its result stays on the broker.
    kept: bool,
    /// The log lines that came home ahead of its completion.
    logs: Vec<LogLine>,
}

impl RemoteClient {
    /// A place in the window for a task of `priority`, waiting for one
    /// if it is full.
    async fn place(self: &Arc<Self>, priority: i32) -> Place {
        let turn = {
            let mut window = lock(&self.window);
            if window.sent < WINDOW {
                window.sent += 1;
                None
            } else {
                let (place, turn) = oneshot::channel();
                window.waiting.push(place, priority);
                Some(turn)
            }
        };
        if let Some(turn) = turn {
            // The place comes with the message; the client outlives this.
            let _ = turn.await;
        }
        Place(self.clone())
    }

    /// Connects to the broker at `url` from the client's runtime.
    pub(crate) fn connect(url: &str, handle: &Handle) -> Result<Arc<RemoteClient>, Error> {
        let url = url.to_string();
        let connecting = handle.clone();
        // On a thread of its own: `build` may be called from anywhere,
        // also inside a runtime, where blocking on one is not allowed.
        // Two connections: the reader's blocking reads would hold up the
        // tasks sent on the same one.
        let (broker, reader, workers) = std::thread::spawn(move || {
            connecting.block_on(async {
                let broker = super::queue(&url, Duration::from_secs(5)).await?;
                let reader = super::queue(&url, Duration::from_secs(5)).await?;
                let workers = broker.workers().await?;
                Ok::<_, Error>((broker, reader, workers))
            })
        })
        .join()
        .map_err(|_| Error::broker("connecting to the broker panicked".into(), None))??;
        let name = super::build::unique_name();
        super::build::build();
        let (release, released) = mpsc::unbounded_channel();
        handle.spawn(release_results(broker.clone(), released));
        let client = Arc::new(RemoteClient {
            broker,
            reply: format!("delayed:reply:{name}"),
            name,
            next: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
            release,
            window: Mutex::default(),
            workers: Mutex::new(capacities(workers)),
        });
        handle.spawn(read_completions(
            Arc::downgrade(&client),
            reader,
            client.reply.clone(),
        ));
        handle.spawn(watch_workers(Arc::downgrade(&client)));
        Ok(client)
    }

    /// What each worker serving has, as last read from the broker (at
    /// most [`WORKERS_READ_EVERY`] ago).
    pub(crate) fn workers(&self) -> Vec<Resources> {
        lock(&self.workers).clone()
    }

    /// Sends task `key` to the workers and returns the future of its value,
    /// holding the results on the broker it reads until it is done. With
    /// `kept_for`, its result stays on the broker for that many reads, and
    /// its value here is an [`OnBroker`]. The name of the worker that ran
    /// it goes to `ran_on`.
    ///
    /// The tasks `then` go in the same message, to run after it on the
    /// same worker, each reading only the one before it; the completion of
    /// each is given back, by its index, to await when the compute
    /// reaches it.
    pub(crate) fn call(
        self: &Arc<Self>,
        node: &Node,
        spec: &Spec,
        (args, held): (Vec<Argument>, Vec<Arc<OnBroker>>),
        kept_for: Option<u32>,
        ran_on: Option<RanOn>,
        then: Vec<Follower<'_>>,
    ) -> (BoxFuture, Vec<(u32, Attached)>) {
        let mut attached = Vec::with_capacity(then.len());
        let mut links = Vec::with_capacity(then.len());
        for follower in then {
            let result = self.result_key();
            let (sender, receiver) = oneshot::channel();
            let kept = follower.kept_for.is_some();
            lock(&self.waiting).insert(
                result.clone(),
                Waiting {
                    sender,
                    kept,
                    logs: Vec::new(),
                },
            );
            links.push(Link {
                key: follower.key,
                function: follower.spec.path.to_string(),
                args: follower.args,
                result: result.clone(),
                uses: follower.kept_for.unwrap_or(0),
            });
            attached.push((
                follower.index,
                Attached {
                    client: self.clone(),
                    result,
                    kept,
                    decode: follower.spec.decode,
                    receiver,
                },
            ));
        }
        let priority = node.priority();
        let message = TaskMessage {
            key: node.key.to_string(),
            function: spec.path.to_string(),
            args,
            reply: self.reply.clone(),
            result: self.result_key(),
            uses: kept_for.unwrap_or(0),
            build: super::build::build().to_string(),
            then: links,
            priority,
            resources: node.resources().map_or(String::new(), |r| r.to_string()),
        };
        let (sender, mut receiver) = oneshot::channel();
        let kept = kept_for.is_some();
        lock(&self.waiting).insert(
            message.result.clone(),
            Waiting {
                sender,
                kept,
                logs: Vec::new(),
            },
        );
        let client = self.clone();
        let decode = spec.decode;
        let future = Box::pin(async move {
            let place = client.place(priority).await;
            if let Err(error) = client.broker.submit(&message).await {
                lock(&client.waiting).remove(&message.result);
                return Err(BoxError::from(error));
            }
            let outcome = completed(&mut receiver, ran_on).await?;
            drop((place, held));
            client.value(outcome, kept, message.result, decode)
        });
        (future, attached)
    }

    /// A new key for a task's result.
    fn result_key(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("delayed:result:{}:{n}", self.name)
    }

    /// A task's value from its outcome: with `kept`, its result on the
    /// broker under `result`, for the tasks on workers that read it.
    fn value(
        self: &Arc<Self>,
        outcome: Outcome,
        kept: bool,
        result: String,
        decode: Decode,
    ) -> Result<Value, BoxError> {
        match outcome {
            Outcome::Done(bytes) if kept => Ok(Value::new(OnBroker {
                result,
                inline: Some(bytes),
                release: None,
            })),
            Outcome::Stored if kept => Ok(Value::new(OnBroker {
                result,
                inline: None,
                release: Some(self.release.clone()),
            })),
            // The one task that reads it has it on its worker.
            Outcome::Passed if kept => Ok(Value::new(OnBroker {
                result,
                inline: None,
                release: None,
            })),
            Outcome::Done(bytes) => decode.decode(&bytes).map_err(BoxError::from),
            Outcome::Stored | Outcome::Passed => Err(BoxError::from(format!(
                "the result under `{result}` stayed with the workers, and this client needs it"
            ))),
            Outcome::Failed(report) => Err(BoxError::from(RemoteFailure(report))),
            Outcome::Lost(report) => Err(BoxError::from(WorkersLost(report))),
            Outcome::Logged(_) => Err(BoxError::from(format!(
                "the log lines of task `{result}` came in place of its completion"
            ))),
            Outcome::Skipped(reason) if reason.is_empty() => Err(BoxError::from(Error::skip())),
            Outcome::Skipped(reason) => Err(BoxError::from(Error::skip_because(reason))),
        }
    }

    /// Fails every task waiting for a completion with `error`.
    fn fail_all(&self, error: Error) {
        let error = Arc::new(error);
        for (_, waiting) in lock(&self.waiting).drain() {
            let _ = waiting.sender.send(Err(error.clone()));
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

/// How long a client waits for a lost broker to come back before the
/// tasks it has on it fail.
const GRACE: Duration = Duration::from_secs(8);

/// Reads the client's reply stream, on a connection of its own, for as
/// long as the client lives: hands each completion to its task, after
/// taking the results left on the broker that the client needs.
async fn read_completions(client: Weak<RemoteClient>, reader: Arc<dyn Queue>, reply: String) {
    let mut after = "0".to_string();
    let mut lost_since: Option<Instant> = None;
    while client.strong_count() > 0 {
        let read = reader
            .completions(&reply, &after, Duration::from_millis(500), 256)
            .await;
        let Some(client) = client.upgrade() else {
            return;
        };
        let done = match read {
            Ok(done) => {
                lost_since = None;
                done
            }
            Err(error) => {
                // A broker that comes back within the grace (a restart with
                // append-only persistence) still has the tasks and their
                // completions; past it, the tasks in flight fail.
                if lost_since.get_or_insert_with(Instant::now).elapsed() > GRACE {
                    client.fail_all(error);
                }
                drop(client);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let mut to_take = Vec::new();
        {
            let mut waiting = lock(&client.waiting);
            for done in done {
                after.clone_from(&done.id);
                if let Outcome::Logged(bytes) = done.outcome {
                    // Told to this process's subscriber at once, and kept
                    // for the callbacks until the task completes.
                    if let Ok(batch) = crate::wire::decode::<logs::Batch>(&bytes) {
                        let lines = logs::emit(batch, &done.key, &done.worker);
                        if let Some(task) = waiting.get_mut(&done.result) {
                            task.logs.extend(lines);
                        }
                    }
                    continue;
                }
                let Some(task) = waiting.remove(&done.result) else {
                    continue;
                };
                if done.outcome == Outcome::Stored && !task.kept {
                    to_take.push((task.sender, (done, task.logs)));
                } else {
                    let _ = task.sender.send(Ok(Completion {
                        outcome: done.outcome,
                        worker: done.worker,
                        logs: task.logs,
                    }));
                }
            }
        }
        if !to_take.is_empty() {
            let (senders, done): (Vec<_>, Vec<_>) = to_take.into_iter().unzip();
            let (done, logs): (Vec<_>, Vec<_>) = done.into_iter().unzip();
            match reader.take(&done).await {
                Ok(outcomes) => {
                    let told = senders.into_iter().zip(outcomes).zip(done).zip(logs);
                    for (((sender, outcome), done), logs) in told {
                        let _ = sender.send(Ok(Completion {
                            outcome,
                            worker: done.worker,
                            logs,
                        }));
                    }
                }
                Err(error) => {
                    let error = Arc::new(error);
                    for sender in senders {
                        let _ = sender.send(Err(error.clone()));
                    }
                }
            }
        }
        drop(client);
        // The tasks just told run first and send their dependents before
        // this reads again: a chain's link is 35 us shorter.
        tokio::task::yield_now().await;
    }
}

/// Releases the results on the broker whose readers are all done, many
/// in one round trip, for as long as the client lives.
async fn release_results(broker: Arc<dyn Queue>, mut released: mpsc::UnboundedReceiver<String>) {
    let mut results = Vec::new();
    while released.recv_many(&mut results, 256).await > 0 {
        // Not released, a result still expires with its key's time to live.
        let _ = broker.release(&results).await;
        results.clear();
    }
}

#[cfg(test)]
// `(&Codec::<T>::new())`: the borrow is what lets a type that is not a
// serde type find the fallback, as in generated code.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;
    use crate::wire::{Codec, EncodeVia as _, encode};

    fn encoded<T: serde::Serialize>(value: &T) -> Vec<u8> {
        encode(value).unwrap()
    }

    #[test]
    fn arguments_travel_encoded_or_as_the_key_of_a_result_on_the_broker() {
        let (release, mut released) = mpsc::unbounded_channel();
        let small = Value::new(OnBroker {
            result: "r:1".into(),
            inline: Some(encoded(&9_u16)),
            release: None,
        });
        let large = Value::new(OnBroker {
            result: "r:2".into(),
            inline: None,
            release: Some(release),
        });
        let inputs = [Value::new(5_u16), small, large];
        let number = (&Codec::<u16>::new()).encoder().unwrap();
        let text = (&Codec::<String>::new()).encoder().unwrap();
        let parts = vec![
            Part::constant(Value::new("a".to_string()), text),
            Part::input(0, number),
            Part::input(1, number),
            Part::input(2, number),
        ];
        let shown = |args: &[Argument]| -> Vec<String> {
            args.iter()
                .map(|argument| match argument {
                    Argument::Value(bytes) => format!("value {bytes:?}"),
                    Argument::Stored(key) => format!("stored {key}"),
                    Argument::Previous => "previous".to_string(),
                })
                .collect()
        };
        // In a chain's message, each input is the result before it.
        assert_eq!(
            shown(&link_arguments(&parts).unwrap()),
            [
                format!("value {:?}", encoded(&"a")),
                "previous".to_string(),
                "previous".to_string(),
                "previous".to_string(),
            ]
        );
        let (args, held) = arguments(&parts, |i| inputs[i].clone()).unwrap();
        assert_eq!(
            shown(&args),
            [
                format!("value {:?}", encoded(&"a")),
                format!("value {:?}", encoded(&5_u16)),
                format!("value {:?}", encoded(&9_u16)),
                "stored r:2".to_string(),
            ]
        );
        // The result on the broker is released when the task reading it
        // and the client's own value are both gone.
        assert_eq!(held.len(), 2);
        drop(inputs);
        assert!(released.try_recv().is_err(), "the task still holds it");
        drop(held);
        assert_eq!(released.try_recv().unwrap(), "r:2");
        assert!(released.try_recv().is_err(), "released once");
    }
}
