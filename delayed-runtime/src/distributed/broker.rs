//! What a broker between a client and its workers does, whichever it
//! is: the messages, and the two sides of it, [`Queue`] for a client and
//! [`Deliveries`] for a worker.
//!
//! The one broker is Redis Streams ([`streams`](super::streams)). Another
//! (NATS JetStream, say) would implement both traits beside it and be
//! chosen by its address's scheme in [`queue`] and [`deliveries`]: the
//! scheduler, the client's bookkeeping and the worker's loop would not
//! change.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

use crate::error::Error;

/// The largest result that travels inside its completion.
pub(super) const INLINE: usize = 16 << 10;

/// One task as it travels to a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskMessage {
    /// The task's key, as errors show it.
    pub key: String,
    /// The registered function's path.
    pub function: String,
    /// Its arguments, in order.
    pub args: Vec<Argument>,
    /// The stream the client reads completions from.
    pub reply: String,
    /// The key the result is written under.
    pub result: String,
    /// How many tasks on workers read the result from the broker: a
    /// worker keeps a large result for them. 0 when the client takes it.
    pub uses: u32,
    /// The client's build: a worker of another build refuses the task.
    pub build: String,
    /// The tasks to run after this one on the same worker, in order: each
    /// reads only the one before it, which no other task reads. The
    /// client sends a chain so, and the worker passes each result on in
    /// memory: a link costs no round trip through the client.
    #[serde(default)]
    pub then: Vec<Link>,
    /// Among tasks a worker has taken, a higher one runs first; 0 by
    /// default. The links of its chain have the same.
    #[serde(default)]
    pub priority: i32,
    /// What the task (and each link of its chain) needs to run, as
    /// [`Resources`](crate::Resources) print: `gpu=1,memory=4GiB`; empty
    /// for nothing. Only a worker that has them takes it.
    #[serde(default)]
    pub resources: String,
}

/// A task that follows another in its [`TaskMessage`]: its reply stream
/// and build are its message's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Link {
    /// The task's key, as errors show it.
    pub key: String,
    /// The registered function's path.
    pub function: String,
    /// Its arguments, in order: [`Argument::Previous`] for those that are
    /// the result of the task before it.
    pub args: Vec<Argument>,
    /// The key the result is written under.
    pub result: String,
    /// As [`TaskMessage::uses`].
    pub uses: u32,
}

impl TaskMessage {
    /// The task `link` of this message, as a message of its own.
    pub(crate) fn follow(&self, link: Link) -> TaskMessage {
        TaskMessage {
            key: link.key,
            function: link.function,
            args: link.args,
            reply: self.reply.clone(),
            result: link.result,
            uses: link.uses,
            build: self.build.clone(),
            then: Vec::new(),
            priority: self.priority,
            resources: self.resources.clone(),
        }
    }
}

/// One argument of a task.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Argument {
    /// The value, as MessagePack.
    Value(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The key of another task's result on the broker: the value is that.
    Stored(String),
    /// The result of the task before it in its message, which the worker
    /// holds.
    Previous,
}

/// What running a task gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The result, as MessagePack.
    Done(Vec<u8>),
    /// The result is on the broker, under the task's result key.
    Stored,
    /// The result went to the next task of its message, on the worker
    /// that ran both: no other task reads it.
    Passed,
    /// The task's error, as its report (`{:?}`) reads.
    Failed(String),
    /// The task was given up: its workers were lost each time it was
    /// delivered, until its retries ran out. The report says so.
    Lost(String),
    /// The task returned [`Error::skip`](crate::Error::skip): the reason
    /// it gave, empty for none.
    Skipped(String),
    /// Not a completion: the `tracing` events the task emitted on its
    /// worker, in MessagePack, ahead of its completion.
    Logged(Vec<u8>),
}

/// A completion read from a reply stream.
#[derive(Debug)]
pub struct Done {
    /// Its id in the reply stream: read after it for the next one.
    pub id: String,
    /// The task's key.
    pub key: String,
    /// The key its result was written under.
    pub result: String,
    /// What running it gave.
    pub outcome: Outcome,
    /// The name of the worker that ran it.
    pub worker: String,
}

/// The environment variable that says how many tasks a worker runs at
/// once.
pub(crate) const THREADS_VARIABLE: &str = "DELAYED_WORKER_THREADS";

/// The variable that gives a worker its resources: `gpu=2,memory=16GiB`.
pub(crate) const RESOURCES_VARIABLE: &str = "DELAYED_WORKER_RESOURCES";

/// The most threads a worker runs tasks on: each holds a connection to
/// the broker.
const MAX_THREADS: usize = 1024;

/// How workers treat their tasks.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a delivery is a worker's own without being renewed.
    pub lease: Duration,
    /// How many more times a task whose worker was lost is delivered.
    pub retries: u32,
    /// How long a result is kept for its client.
    pub ttl: Duration,
    /// The largest result a worker writes, in bytes.
    pub max_payload: usize,
    /// How many bytes of the results it wrote a worker keeps for the tasks
    /// that read them.
    pub cache: usize,
    /// How many tasks a worker runs at once, each on a thread of its own.
    pub threads: usize,
    /// The most verbose level of the `tracing` events a task emits that
    /// go to its client (`DELAYED_WORKER_LOG`, `info` by default); `None`
    /// sends none.
    pub log: Option<tracing::Level>,
    /// What the worker has for the tasks that need resources
    /// (`DELAYED_WORKER_RESOURCES=gpu=2,memory=16GiB`): it takes such a
    /// task only when it has them, and holds them while the task runs.
    pub resources: crate::resources::Resources,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lease: Duration::from_secs(30),
            retries: 3,
            ttl: Duration::from_secs(3600),
            max_payload: 64 << 20,
            cache: 256 << 20,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            resources: crate::resources::Resources::new(),
            log: Some(tracing::Level::INFO),
        }
    }
}

impl Settings {
    /// The defaults, with `DELAYED_LEASE_MS`, `DELAYED_RETRIES`,
    /// `DELAYED_RESULT_TTL_MS`, `DELAYED_MAX_PAYLOAD` (bytes),
    /// `DELAYED_WORKER_CACHE` (bytes), `DELAYED_WORKER_THREADS`,
    /// `DELAYED_WORKER_RESOURCES` (`gpu=2,memory=16GiB`) and
    /// `DELAYED_WORKER_LOG` (`off`, `error` … `trace`) from the
    /// environment when set.
    pub fn from_env() -> Result<Settings, Error> {
        let mut settings = Settings::default();
        let number = |name: &str| -> Result<Option<u64>, Error> {
            match std::env::var(name) {
                Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                    Error::config(format!("`{name}` must be a whole number, not `{text}`"))
                }),
                Err(_) => Ok(None),
            }
        };
        if let Some(ms) = number("DELAYED_LEASE_MS")? {
            settings.lease = Duration::from_millis(ms.max(1));
        }
        if let Some(retries) = number("DELAYED_RETRIES")? {
            settings.retries = u32::try_from(retries).unwrap_or(u32::MAX);
        }
        if let Some(ms) = number("DELAYED_RESULT_TTL_MS")? {
            settings.ttl = Duration::from_millis(ms.max(1));
        }
        if let Some(bytes) = number("DELAYED_MAX_PAYLOAD")? {
            settings.max_payload = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(bytes) = number("DELAYED_WORKER_CACHE")? {
            settings.cache = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        settings.log = super::logs::level_from_env()?;
        if let Ok(text) = std::env::var(RESOURCES_VARIABLE) {
            settings.resources = text.parse().map_err(|error: Error| {
                Error::config(format!("`{RESOURCES_VARIABLE}`: {error}"))
            })?;
        }
        if let Some(threads) = number(THREADS_VARIABLE)? {
            settings.threads = match usize::try_from(threads) {
                Ok(threads @ 1..=MAX_THREADS) => threads,
                _ => {
                    return Err(Error::config(format!(
                        "`{THREADS_VARIABLE}` must be from 1 to {MAX_THREADS}, not {threads}"
                    )));
                }
            };
        }
        Ok(settings)
    }
}

/// A broker's answer, to await.
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// What a client needs of a broker.
pub(crate) trait Queue: Send + Sync + 'static {
    /// Sends a task to the workers.
    fn submit<'a>(&'a self, task: &'a TaskMessage) -> Pending<'a, ()>;

    /// Up to `count` completions on the reply stream `reply` after the one
    /// `after` (`"0"` for the first), waiting up to `wait` for the first.
    fn completions<'a>(
        &'a self,
        reply: &'a str,
        after: &'a str,
        wait: Duration,
        count: usize,
    ) -> Pending<'a, Vec<Done>>;

    /// The results of `done`'s tasks left on the broker, taken from it.
    fn take<'a>(&'a self, done: &'a [Done]) -> Pending<'a, Vec<Outcome>>;

    /// Frees the values under `results`, read by all their readers, while
    /// a second run of their tasks still finds them recorded.
    fn release<'a>(&'a self, results: &'a [String]) -> Pending<'a, ()>;

    /// What each worker serving now has, as [`Resources`](crate::Resources)
    /// print; one entry per worker process.
    fn workers(&self) -> Pending<'_, Vec<String>>;
}

/// One task as a worker received it.
pub(crate) struct Delivery {
    /// The broker's name for it.
    pub(crate) id: String,
    /// How many times it was delivered, this time included.
    pub(crate) deliveries: usize,
    /// Which of the worker's queues it came from: tasks needing resources
    /// go to queues of their own.
    pub(crate) queue: String,
    /// The task, or why what came is not one.
    pub(crate) task: Result<TaskMessage, String>,
}

/// How a task ended, to record.
pub(crate) enum Finish<'a> {
    /// A small result, to travel inside the completion.
    Inline(Vec<u8>),
    /// A large one, to stay on the broker under the task's result key.
    Stored(&'a [u8]),
    /// The task's failure, as its report reads.
    Failed(String),
    /// The task given up because its workers were lost, as the report
    /// reads.
    Lost(String),
    /// The task skipped ([`Error::skip`](crate::Error::skip)), with its
    /// reason, empty for none.
    Skipped(String),
    /// A result handed to the next task of the message: recorded without
    /// its value, and the delivery goes on.
    Passed,
}

/// What a worker needs of a broker. Its calls block; `on` is the runtime
/// that drives the broker's connection, called only between tasks.
pub(crate) trait Deliveries {
    /// The worker's name, as completions and messages give it.
    fn name(&self) -> &str;

    /// Tasks to run, `count` at most, waiting a moment for some: those
    /// whose workers were lost first. What was recorded since the last
    /// call goes out first.
    fn next(&mut self, on: &Runtime, count: usize) -> Result<Vec<Delivery>, Error>;

    /// The results under `keys`, as stored; `None` for one no longer there.
    fn fetch(&mut self, on: &Runtime, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error>;

    /// Records how `task` ended, first run wins, tells its client, and
    /// ends the delivery unless the outcome is [`Finish::Passed`]: with
    /// the next call.
    fn finish(&mut self, delivery: &Delivery, task: &TaskMessage, outcome: Finish<'_>);

    /// Sends what was recorded since the last call now, for a delivery
    /// that goes on.
    fn flush(&mut self, on: &Runtime) -> Result<(), Error>;

    /// Sets aside a delivery that is not a task, with the reason.
    fn reject(&mut self, delivery: &Delivery, reason: &str);

    /// Sends the `tracing` events `task` emitted (a batch in MessagePack)
    /// to its client, ahead of its completion.
    fn log(&mut self, task: &TaskMessage, batch: &[u8]);

    /// Hands a task this worker can never run (it needs more of a
    /// resource than the worker has) back to the other workers of its
    /// queue.
    fn pass_on(&mut self, delivery: &Delivery, task: &TaskMessage) -> Result<(), Error>;

    /// After an error, what may bring the broker back.
    fn recover(&mut self, on: &Runtime);
}

/// The schemes of Redis addresses, the one broker there is.
pub(super) fn redis(url: &str) -> Result<(), Error> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    match scheme {
        "redis" | "rediss" | "redis+unix" | "unix" => Ok(()),
        _ => Err(Error::config(format!(
            "`{scheme}://` is not the address of a broker: give a Redis address, \
                 `redis://host:6379` (or `rediss://` over TLS)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_broker_is_chosen_by_the_scheme_of_its_address() {
        for url in [
            "redis://h:6379",
            "rediss://u:p@h",
            "redis+unix:///tmp/r.sock",
        ] {
            assert!(super::redis(url).is_ok(), "{url}");
        }
        let error = super::redis("nats://h:4222").unwrap_err().to_string();
        assert!(
            error.contains("`nats://` is not the address of a broker"),
            "{error}"
        );
        assert!(error.contains("`redis://host:6379`"), "{error}");
    }
}
