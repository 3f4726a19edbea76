//! Redis Streams as the broker between a client and its workers.
//!
//! - Tasks go to one stream, `delayed:tasks`, read by the consumer group
//!   `workers`: each entry reaches one worker. Its one field, `task`, is a
//!   [`TaskMessage`] in MessagePack. An argument travels inside it, or,
//!   when it is the result of another task on a worker, as that result's
//!   key.
//! - A delivery is a lease: a worker that holds a task past the lease
//!   without renewing it is taken for lost, and another worker reclaims
//!   the task (`XAUTOCLAIM`). A worker renews the leases of the tasks it
//!   holds every third of a lease. A task delivered more than
//!   `retries + 1` times fails, saying that its workers were lost.
//! - A result is recorded once, first writer wins (`SET NX`), under the
//!   key the message names, with a time to live; the same Lua script adds
//!   the completion to the client's reply stream and acknowledges the task,
//!   in one round trip. A task run twice (a worker paused past its lease
//!   and resumed) changes nothing the second time.
//! - A small result travels inside the completion, and its key holds an
//!   empty marker. A large one stays under its key: the client takes it
//!   when it needs the value, leaving the marker, or sends the key to the
//!   tasks that read it, and releases it to the marker when the last of
//!   them is done. The marker stays until the key expires, so that a late
//!   run still finds the key taken.
//! - A worker keeps the large results it wrote for tasks on workers, up
//!   to a budget, so that a consumer it runs itself does not fetch them.
//! - An entry that does not decode is acknowledged, so that it is not
//!   delivered again, and reported on `delayed:rejected` with the reason.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamClaimOptions, StreamId,
    StreamPendingCountReply, StreamReadOptions, StreamReadReply,
};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The stream of tasks, read by the workers' consumer group.
pub const TASKS: &str = "delayed:tasks";
const GROUP: &str = "workers";
/// Where entries that are not tasks are reported.
pub const REJECTED: &str = "delayed:rejected";
/// The largest result that travels inside its completion.
const INLINE: usize = 16 << 10;

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
}

/// One argument of a task.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Argument {
    /// The value, as MessagePack.
    Value(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The key of another task's result on the broker: the value is that.
    Stored(String),
}

/// What running a task gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The result, as MessagePack.
    Done(Vec<u8>),
    /// The result is on the broker, under the task's result key.
    Stored,
    /// The task's error, as its report (`{:?}`) reads.
    Failed(String),
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
}

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
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lease: Duration::from_secs(30),
            retries: 3,
            ttl: Duration::from_secs(3600),
            max_payload: 64 << 20,
            cache: 256 << 20,
        }
    }
}

impl Settings {
    /// The defaults, with `DELAYED_LEASE_MS`, `DELAYED_RETRIES` and
    /// `DELAYED_MAX_PAYLOAD` (bytes) from the environment when set.
    pub fn from_env() -> Result<Settings, Error> {
        let mut settings = Settings::default();
        let number = |name: &str| -> Result<Option<u64>, Error> {
            match std::env::var(name) {
                Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                    Error::remote(
                        format!("`{name}` must be a whole number, not `{text}`"),
                        None,
                    )
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
        if let Some(bytes) = number("DELAYED_MAX_PAYLOAD")? {
            settings.max_payload = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        Ok(settings)
    }
}

fn broker_error(what: &str, url: &str, source: redis::RedisError) -> Error {
    Error::remote(
        format!("{what} the broker at `{}`", redact(url)),
        Some(source.into()),
    )
}

/// A broker address without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A connection to the broker, for a client or a worker.
#[derive(Clone)]
pub struct Broker {
    url: String,
    connection: MultiplexedConnection,
}

impl Broker {
    /// Connects to the broker at `url` (`redis://host:port`,
    /// `redis://user:password@host`), giving up after `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Broker, Error> {
        // One message for every way of not getting there, saying what to do.
        let unreachable = |source: Option<redis::RedisError>| {
            Error::remote(
                format!(
                    "could not reach the broker at `{}` within {timeout:?}: start Redis 6.2 or \
                     newer there (`redis-server`), or give the address of one that runs",
                    redact(url)
                ),
                source.map(Into::into),
            )
        };
        let client = redis::Client::open(url).map_err(|e| unreachable(Some(e)))?;
        let connecting = client.get_multiplexed_async_connection();
        let connection = match tokio::time::timeout(timeout, connecting).await {
            Ok(connected) => connected.map_err(|e| unreachable(Some(e)))?,
            Err(_) => return Err(unreachable(None)),
        };
        let mut broker = Broker {
            url: url.to_string(),
            connection,
        };
        broker.ensure_group().await?;
        Ok(broker)
    }

    async fn ensure_group(&mut self) -> Result<(), Error> {
        let created: redis::RedisResult<()> = self
            .connection
            .xgroup_create_mkstream(TASKS, GROUP, "0")
            .await;
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(broker_error(
                "could not set up the task stream on",
                &self.url,
                e,
            )),
        }
    }

    fn failed<'a>(&'a self, what: &'a str) -> impl FnOnce(redis::RedisError) -> Error + 'a {
        move |e| broker_error(what, &self.url, e)
    }

    fn failed_owned(&self, what: &'static str) -> impl FnOnce(redis::RedisError) -> Error + use<> {
        let url = self.url.clone();
        move |e| broker_error(what, &url, e)
    }

    /// Sends a task to the workers.
    pub async fn submit(&self, task: &TaskMessage) -> Result<(), Error> {
        let bytes = super::encode(task)?;
        let _: String = self
            .connection
            .clone()
            .xadd(TASKS, "*", &[("task", bytes)])
            .await
            .map_err(self.failed("could not send a task to"))?;
        Ok(())
    }

    /// The next completion on the reply stream `reply` after `after`
    /// (`"0"` for the first), waiting up to `wait`, with a result left on
    /// the broker taken.
    pub async fn next_done(
        &self,
        reply: &str,
        after: &str,
        wait: Duration,
    ) -> Result<Option<Done>, Error> {
        let Some(mut done) = self.completions(reply, after, wait, 1).await?.pop() else {
            return Ok(None);
        };
        if done.outcome == Outcome::Stored {
            let mut taken = self.take(std::slice::from_ref(&done)).await?;
            done.outcome = taken.pop().expect("one result taken for one completion");
        }
        Ok(Some(done))
    }

    /// Up to `count` completions on the reply stream `reply` after `after`,
    /// waiting up to `wait` for the first. The entries up to `after`, read
    /// before, are trimmed from the stream in the same round trip.
    pub async fn completions(
        &self,
        reply: &str,
        after: &str,
        wait: Duration,
        count: usize,
    ) -> Result<Vec<Done>, Error> {
        let options = StreamReadOptions::default()
            .count(count.max(1))
            .block(wait.as_millis().max(1) as usize);
        let mut read = redis::pipe();
        if let Some(next) = next_id(after) {
            read.cmd("XTRIM")
                .arg(reply)
                .arg("MINID")
                .arg(next)
                .ignore();
        }
        read.xread_options(&[reply], &[after], &options);
        let (read,): (Option<StreamReadReply>,) = read
            .query_async(&mut self.connection.clone())
            .await
            .map_err(self.failed("could not read completions from"))?;
        let entries: Vec<StreamId> = read
            .and_then(|r| r.keys.into_iter().next())
            .map(|key| key.ids)
            .unwrap_or_default();
        Ok(entries.into_iter().map(completion).collect())
    }

    /// The results of `done`'s tasks left on the broker, each taken: its
    /// value replaced by the empty marker until the key expires, so that
    /// its memory is freed at once while a second run of the task still
    /// finds the key taken.
    pub async fn take(&self, done: &[Done]) -> Result<Vec<Outcome>, Error> {
        let mut take = redis::pipe();
        for done in done {
            take.cmd("SET")
                .arg(&done.result)
                .arg("")
                .arg("XX")
                .arg("GET")
                .arg("KEEPTTL");
        }
        let values: Vec<Option<Vec<u8>>> = take
            .query_async(&mut self.connection.clone())
            .await
            .map_err(self.failed("could not read results from"))?;
        Ok(done
            .iter()
            .zip(values)
            .map(|(done, bytes)| match bytes {
                Some(bytes) if !bytes.is_empty() => Outcome::Done(bytes),
                Some(_) => Outcome::Failed(format!(
                    "the result of task `{}` was taken already",
                    done.key
                )),
                None => Outcome::Failed(format!(
                    "the result of task `{}` expired before it was read",
                    done.key
                )),
            })
            .collect())
    }

    /// Frees the values under `results`, read by all their consumers,
    /// leaving the marker that keeps a second run from writing them again.
    pub async fn release(&self, results: &[String]) -> Result<(), Error> {
        let mut release = redis::pipe();
        for result in results {
            release
                .cmd("SET")
                .arg(result)
                .arg("")
                .arg("XX")
                .arg("KEEPTTL")
                .ignore();
        }
        release
            .query_async(&mut self.connection.clone())
            .await
            .map_err(self.failed("could not release results on"))
    }
}

/// The id after stream id `id` (`ms-seq`), from which a trim keeps
/// entries; none for `0`, before any entry was read.
fn next_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    Some(format!("{ms}-{}", seq.parse::<u64>().ok()?.checked_add(1)?))
}

/// A reply stream's entry as a completion; one the client cannot read
/// fails its task, saying so.
fn completion(mut entry: StreamId) -> Done {
    let mut field = |name: &str| -> Option<Vec<u8>> {
        entry
            .map
            .remove(name)
            .and_then(|value| redis::from_owned_redis_value(value).ok())
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let key = field("key").map(text).unwrap_or_default();
    let result = field("result").map(text).unwrap_or_default();
    let outcome = if let Some(value) = field("value") {
        Outcome::Done(value)
    } else if let Some(report) = field("failed") {
        Outcome::Failed(text(report))
    } else if field("stored").is_some() {
        Outcome::Stored
    } else {
        Outcome::Failed(format!("the completion of task `{key}` says nothing of it"))
    };
    Done {
        id: entry.id,
        key,
        result,
        outcome,
    }
}

/// Records a task's result once, tells its client, and acknowledges the
/// task, in one round trip.
///
/// KEYS: the result, the reply stream, the task stream. ARGV: what the
/// result key holds (the value, or an empty marker), the time to live in
/// milliseconds, the group, the entry's id, the task's key, and the reply's
/// field (`value`, `stored` or `failed`) with its text.
static FINISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            redis.call('XADD', KEYS[2], '*', 'key', ARGV[5], 'result', KEYS[1], ARGV[6], ARGV[7])
            redis.call('PEXPIRE', KEYS[2], ARGV[2])
        end
        return redis.call('XACK', KEYS[3], ARGV[3], ARGV[4])
        ",
    )
});

/// Serves tasks from the broker at `url` with `settings`, until the broker
/// stays unreachable; see [`serve_if_worker`](super::serve_if_worker).
pub(crate) async fn serve(url: &str, settings: Settings) -> Result<(), Error> {
    let broker = Broker::connect(url, Duration::from_secs(10)).await?;
    let mut worker = Worker {
        me: format!("worker-{}", super::unique_name()),
        cache: Cache::new(settings.cache),
        broker,
        settings,
        reclaimed_at: Instant::now(),
        pace: Duration::from_millis(1),
    };
    let mut unreachable_since: Option<Instant> = None;
    loop {
        match worker.serve_some().await {
            Ok(()) => unreachable_since = None,
            Err(error) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(10) {
                    return Err(error);
                }
                eprintln!("delayed worker {}: {error}; trying again", worker.me);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// A worker's state between tasks.
struct Worker {
    broker: Broker,
    /// Its consumer name in the group.
    me: String,
    settings: Settings,
    cache: Cache,
    /// When it last looked for lost tasks and found none.
    reclaimed_at: Instant,
    /// How long a task took, on average of the last few.
    pace: Duration,
}

/// How long the tasks of one read should take together, at the worker's
/// pace: short tasks are read many at a time (one round trip for all),
/// long ones one by one, so that an idle worker finds them in the stream.
const BATCH_TIME: Duration = Duration::from_millis(2);

impl Worker {
    /// Takes tasks and runs them: a lost one, looked for every quarter of
    /// a lease while there are none (so that a new task costs no extra
    /// round trip), else new ones, waiting a moment for them.
    async fn serve_some(&mut self) -> Result<(), Error> {
        let mut connection = self.broker.connection.clone();
        let every = (self.settings.lease / 4).max(Duration::from_millis(10));
        if self.reclaimed_at.elapsed() >= every {
            let lease_ms = self.settings.lease.as_millis().max(1) as usize;
            let reclaimed: StreamAutoClaimReply = connection
                .xautoclaim_options(
                    TASKS,
                    GROUP,
                    &self.me,
                    lease_ms,
                    "0-0",
                    StreamAutoClaimOptions::default().count(1),
                )
                .await
                .map_err(self.broker.failed("could not reclaim tasks from"))?;
            match reclaimed.claimed.into_iter().next() {
                Some(entry) => {
                    let pending: StreamPendingCountReply = connection
                        .xpending_consumer_count(TASKS, GROUP, &entry.id, &entry.id, 1, &self.me)
                        .await
                        .map_err(self.broker.failed("could not read a task's deliveries from"))?;
                    let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered);
                    return self.run_all(vec![(entry, deliveries)]).await;
                }
                None => self.reclaimed_at = Instant::now(),
            }
        }
        let count = (BATCH_TIME.as_nanos() / self.pace.as_nanos().max(1)).clamp(1, 64) as usize;
        let options = StreamReadOptions::default()
            .group(GROUP, &self.me)
            .count(count)
            .block(every.min(Duration::from_millis(500)).as_millis() as usize);
        let read: Option<StreamReadReply> = connection
            .xread_options(&[TASKS], &[">"], &options)
            .await
            .map_err(self.broker.failed("could not read tasks from"))?;
        let entries = read
            .and_then(|r| r.keys.into_iter().next())
            .map(|key| key.ids)
            .unwrap_or_default();
        self.run_all(entries.into_iter().map(|entry| (entry, 1)).collect())
            .await
    }

    /// Runs `entries` (each with how many times it was delivered) one after
    /// the other, each recorded while the next runs.
    async fn run_all(&mut self, entries: Vec<(StreamId, usize)>) -> Result<(), Error> {
        // The tasks this worker holds, whose leases it renews.
        let mut held: VecDeque<String> = entries.iter().map(|(entry, _)| entry.id.clone()).collect();
        let mut finishing = Vec::with_capacity(entries.len());
        for (entry, deliveries) in entries {
            let started = Instant::now();
            if let Some(finish) = self.run(entry, deliveries, &held).await? {
                finishing.push(tokio::spawn(finish));
            }
            held.pop_front();
            self.pace = (self.pace * 3 + started.elapsed()) / 4;
        }
        for finish in finishing {
            finish
                .await
                .map_err(|e| Error::remote(format!("recording a result failed: {e}"), None))??;
        }
        Ok(())
    }

    /// Runs one entry; returns what records its outcome.
    async fn run(
        &mut self,
        entry: StreamId,
        deliveries: usize,
        held: &VecDeque<String>,
    ) -> Result<Option<impl Future<Output = Result<(), Error>> + use<>>, Error> {
        let id = entry.id.clone();
        let task = entry
            .get::<Vec<u8>>("task")
            .ok_or_else(|| "it has no `task` field".to_string())
            .and_then(|bytes| super::decode::<TaskMessage>(&bytes).map_err(|e| format!("{e:?}")));
        let task = match task {
            Ok(task) => task,
            Err(reason) => {
                self.reject(&id, &reason).await?;
                return Ok(None);
            }
        };
        let outcome = if deliveries > self.settings.retries as usize + 1 {
            Err(format!(
                "task `{}` was delivered {deliveries} times and its workers were lost each time \
                 (killed, or stopped past their lease of {:?}): given up after {} retries",
                task.key, self.settings.lease, self.settings.retries
            ))
        } else {
            self.execute(&task, held).await?
        };
        // The key holds the value only when it does not travel in the reply.
        let (kept, field, told) = match outcome {
            Ok(bytes) if bytes.len() <= INLINE => (Vec::new(), "value", bytes),
            Ok(bytes) => {
                let bytes = Arc::new(bytes);
                if task.uses > 0 {
                    self.cache.insert(&task.result, bytes.clone(), task.uses);
                }
                (Arc::unwrap_or_clone(bytes), "stored", Vec::new())
            }
            Err(report) => (Vec::new(), "failed", report.into_bytes()),
        };
        let mut finish = FINISH.prepare_invoke();
        finish
            .key(&task.result)
            .key(&task.reply)
            .key(TASKS)
            .arg(kept)
            .arg(self.settings.ttl.as_millis().max(1) as u64)
            .arg(GROUP)
            .arg(&id)
            .arg(&task.key)
            .arg(field)
            .arg(told);
        let mut connection = self.broker.connection.clone();
        let failed = self.broker.failed_owned("could not record a result on");
        Ok(Some(async move {
            let _: i64 = finish.invoke_async(&mut connection).await.map_err(failed)?;
            Ok(())
        }))
    }

    /// Acknowledges an entry that is not a task, and reports it.
    async fn reject(&self, id: &str, reason: &str) -> Result<(), Error> {
        eprintln!("delayed worker {}: rejected entry {id} of {TASKS}: {reason}", self.me);
        let mut reject = redis::pipe();
        reject
            .xadd(REJECTED, "*", &[("id", id), ("reason", reason)])
            .ignore()
            .xack(TASKS, GROUP, &[id])
            .ignore();
        reject
            .query_async(&mut self.broker.connection.clone())
            .await
            .map_err(self.broker.failed("could not report a rejected entry to"))
    }

    /// Runs the task's function on a blocking thread, renewing the leases
    /// of the tasks held while it runs: its result as MessagePack, or its
    /// failure's report. An error is the broker's.
    async fn execute(
        &mut self,
        task: &TaskMessage,
        held: &VecDeque<String>,
    ) -> Result<Result<Vec<u8>, String>, Error> {
        let Some(function) = super::function(&task.function) else {
            return Ok(Err(format!(
                "no task function `{}` in this worker's build: a worker runs only the \
                 `#[delayed]` functions compiled into it",
                task.function
            )));
        };
        let args = match self.arguments(task).await? {
            Ok(args) => args,
            Err(report) => return Ok(Err(report)),
        };
        let mut running = tokio::task::spawn_blocking(move || function.call(&args));
        let renew_every = (self.settings.lease / 3).max(Duration::from_millis(1));
        let result = loop {
            match tokio::time::timeout(renew_every, &mut running).await {
                Ok(finished) => break finished,
                Err(_) => {
                    // XCLAIM by the owner resets the entries' idle time.
                    let ids: Vec<&str> = held.iter().map(String::as_str).collect();
                    let renewed: redis::RedisResult<redis::Value> = self
                        .broker
                        .connection
                        .clone()
                        .xclaim_options(
                            TASKS,
                            GROUP,
                            &self.me,
                            0,
                            &ids,
                            StreamClaimOptions::default().with_justid(),
                        )
                        .await;
                    if let Err(error) = renewed {
                        eprintln!(
                            "delayed worker {}: could not renew the lease of `{}`: {error}",
                            self.me, task.key
                        );
                    }
                }
            }
        };
        let max = self.settings.max_payload;
        Ok(match result {
            Ok(Ok(bytes)) if bytes.len() > max => Err(format!(
                "the result of task `{}` is {} bytes, over the limit of {max} \
                 (`DELAYED_MAX_PAYLOAD`)",
                task.key,
                bytes.len(),
            )),
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(error)) => Err(format!("{error:?}")),
            Err(join) => Err(format!("task `{}` could not run: {join}", task.key)),
        })
    }

    /// The task's arguments as one MessagePack tuple: those that travelled
    /// with it, and those on the broker, from this worker's cache or
    /// fetched in one round trip.
    async fn arguments(&mut self, task: &TaskMessage) -> Result<Result<Vec<u8>, String>, Error> {
        let mut cached: HashMap<&str, Arc<Vec<u8>>> = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        for argument in &task.args {
            if let Argument::Stored(key) = argument {
                match self.cache.take(key) {
                    Some(bytes) => {
                        cached.insert(key, bytes);
                    }
                    None => missing.push(key),
                }
            }
        }
        if !missing.is_empty() {
            let fetched: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&missing)
                .query_async(&mut self.broker.connection.clone())
                .await
                .map_err(self.broker.failed("could not read a task's inputs from"))?;
            for (key, bytes) in missing.into_iter().zip(fetched) {
                match bytes {
                    Some(bytes) if !bytes.is_empty() => {
                        cached.insert(key, Arc::new(bytes));
                    }
                    _ => {
                        return Ok(Err(format!(
                            "an input of task `{}`, the result under `{key}`, is no longer on \
                             the broker: it expired, or its client released it",
                            task.key
                        )));
                    }
                }
            }
        }
        Ok(Ok(tuple(task.args.iter().map(|argument| match argument {
            Argument::Value(bytes) => bytes.as_slice(),
            Argument::Stored(key) => cached[key.as_str()].as_slice(),
        }))))
    }
}

/// Encoded values as one MessagePack array, as [`encode`](super::encode)
/// writes the tuple of them; no values at all are `()`, written as nil.
fn tuple<'a>(values: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<u8> {
    let count: usize = values.len();
    let mut bytes: Vec<u8> = Vec::new();
    if count == 0 {
        bytes.push(0xc0);
    } else if let Ok(small @ 0..16) = u8::try_from(count) {
        bytes.push(0x90_u8.wrapping_add(small));
    } else if let Ok(count) = u16::try_from(count) {
        bytes.push(0xdc);
        bytes.extend_from_slice(&count.to_be_bytes());
    } else {
        bytes.push(0xdd);
        bytes.extend_from_slice(&(count as u32).to_be_bytes());
    }
    for value in values {
        bytes.extend_from_slice(value);
    }
    bytes
}

/// The large results a worker wrote, kept for the tasks that read them:
/// each until it was read as many times as it has readers, or until newer
/// ones need its room.
struct Cache {
    entries: HashMap<String, (Arc<Vec<u8>>, u32)>,
    /// Keys, oldest first; some may have left already.
    order: VecDeque<String>,
    bytes: usize,
    budget: usize,
}

impl Cache {
    fn new(budget: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    fn insert(&mut self, key: &str, value: Arc<Vec<u8>>, uses: u32) {
        if value.len() > self.budget {
            return;
        }
        while self.bytes + value.len() > self.budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((evicted, _)) = self.entries.remove(&oldest) {
                self.bytes -= evicted.len();
            }
        }
        if self.order.len() > 2 * self.entries.len() + 64 {
            self.order.retain(|key| self.entries.contains_key(key));
        }
        self.bytes += value.len();
        self.order.push_back(key.to_string());
        if let Some((replaced, _)) = self.entries.insert(key.to_string(), (value, uses)) {
            self.bytes -= replaced.len();
        }
    }

    /// The value under `key`, read once more.
    fn take(&mut self, key: &str) -> Option<Arc<Vec<u8>>> {
        let (value, uses) = self.entries.get_mut(key)?;
        let value = value.clone();
        *uses = uses.saturating_sub(1);
        if *uses == 0 {
            self.entries.remove(key);
            self.bytes -= value.len();
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_assembled_as_the_tuple_of_them_is() {
        let encoded = |value: &dyn erased::Encode| value.bytes();
        let none: Vec<&[u8]> = Vec::new();
        assert_eq!(tuple(none.into_iter()), encoded(&()));
        let two = [encoded(&"a"), encoded(&5_u16)];
        assert_eq!(
            tuple(two.iter().map(Vec::as_slice)),
            encoded(&("a", 5_u16))
        );
        let many: Vec<Vec<u8>> = (0..20_u16).map(|i| encoded(&i)).collect();
        let numbers: Vec<u16> = (0..20).collect();
        assert_eq!(tuple(many.iter().map(Vec::as_slice)), encoded(&numbers));
        let lots = vec![encoded(&true); 70_000];
        assert_eq!(
            tuple(lots.iter().map(Vec::as_slice)),
            encoded(&vec![true; 70_000])
        );
    }

    /// Values of any type, encoded, for the test above.
    mod erased {
        pub trait Encode {
            fn bytes(&self) -> Vec<u8>;
        }

        impl<T: serde::Serialize> Encode for T {
            fn bytes(&self) -> Vec<u8> {
                crate::distributed::encode(self).unwrap()
            }
        }
    }

    #[test]
    fn a_worker_keeps_a_result_until_its_readers_took_it_or_newer_ones_need_room() {
        let mut cache = Cache::new(100);
        cache.insert("a", Arc::new(vec![1; 40]), 2);
        cache.insert("b", Arc::new(vec![2; 40]), 1);
        assert_eq!(cache.take("a").unwrap()[0], 1);
        assert_eq!(cache.take("a").unwrap()[0], 1, "read by both readers");
        assert!(cache.take("a").is_none(), "gone after its last reader");
        cache.insert("c", Arc::new(vec![3; 40]), 1);
        cache.insert("d", Arc::new(vec![4; 40]), 1);
        assert!(cache.take("b").is_none(), "the oldest made room");
        assert_eq!(cache.take("c").unwrap()[0], 3);
        assert_eq!(cache.take("d").unwrap()[0], 4);
        assert_eq!(cache.bytes, 0);
        cache.insert("huge", Arc::new(vec![0; 101]), 1);
        assert!(cache.take("huge").is_none(), "over the budget, not kept");
    }

    #[test]
    fn reply_streams_are_trimmed_after_the_last_entry_read() {
        assert_eq!(next_id("1700000000000-41").as_deref(), Some("1700000000000-42"));
        assert_eq!(next_id("0"), None);
        assert_eq!(next_id("1-x"), None);
    }
    #[test]
    fn addresses_in_messages_keep_no_password() {
        assert_eq!(
            redact("redis://app:s3cret@db:6379/0"),
            "redis://app:***@db:6379/0"
        );
        assert_eq!(redact("redis://db:6379"), "redis://db:6379");
        assert_eq!(redact("redis://token@db"), "redis://token@db");
    }
}
