//! Redis Streams as the broker between a client and its workers.
//!
//! - Tasks go to one stream, `delayed:tasks`, read by the consumer group
//!   `workers`: each entry reaches one worker. Its one field, `task`, is a
//!   [`TaskMessage`] in MessagePack.
//! - A delivery is a lease: a worker that holds a task past the lease
//!   without renewing it is taken for lost, and another worker reclaims
//!   the task (`XAUTOCLAIM`). A running task's lease is renewed every
//!   third of it. A task delivered more than `retries + 1` times fails,
//!   saying that its workers were lost.
//! - A result is written once, first writer wins (`SET NX`), under the key
//!   the message names, with a time to live; then the worker that wrote it
//!   adds the task's key to the client's reply stream, and acknowledges
//!   the task. A task run twice (a worker paused past its lease and
//!   resumed) changes nothing the second time. The client takes the value
//!   and leaves an empty marker in its place until the key expires, so
//!   that memory is freed at once and a late run still finds the key.
//! - An entry that does not decode is acknowledged, so that it is not
//!   delivered again, and reported on `delayed:rejected` with the reason.

use std::time::Duration;

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

/// One task as it travels to a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskMessage {
    /// The task's key, as errors show it.
    pub key: String,
    /// The registered function's path.
    pub function: String,
    /// Its arguments as one MessagePack tuple.
    pub args: Vec<u8>,
    /// The stream the client reads completions from.
    pub reply: String,
    /// The key the result is written under.
    pub result: String,
}

/// What running a task gave: its result as MessagePack, or its error's
/// report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// The result, as MessagePack.
    Done(Vec<u8>),
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
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lease: Duration::from_secs(30),
            retries: 3,
            ttl: Duration::from_secs(3600),
            max_payload: 64 << 20,
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
    /// (`"0"` for the first), waiting up to `wait`.
    pub async fn next_done(
        &self,
        reply: &str,
        after: &str,
        wait: Duration,
    ) -> Result<Option<Done>, Error> {
        Ok(self.completions(reply, after, wait, 1).await?.pop())
    }

    /// Up to `count` completions on the reply stream `reply` after `after`,
    /// waiting up to `wait` for the first, with their results taken in
    /// one round trip.
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
        let read: Option<StreamReadReply> = self
            .connection
            .clone()
            .xread_options(&[reply], &[after], &options)
            .await
            .map_err(self.failed("could not read completions from"))?;
        let entries: Vec<StreamId> = read
            .and_then(|r| r.keys.into_iter().next())
            .map(|key| key.ids)
            .unwrap_or_default();
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<(String, String)> = entries
            .iter()
            .map(|entry| {
                let key: String = entry.get("key").unwrap_or_default();
                let result: String = entry.get("result").unwrap_or_default();
                (key, result)
            })
            .collect();
        // Each value taken, and replaced by an empty marker until it
        // expires: its memory is freed at once, while the key still keeps
        // a second run of the task from writing its result again.
        let mut take = redis::pipe();
        for (_, result) in &keys {
            take.cmd("SET")
                .arg(result)
                .arg("")
                .arg("XX")
                .arg("GET")
                .arg("KEEPTTL");
        }
        let values: Vec<Option<Vec<u8>>> = take
            .query_async(&mut self.connection.clone())
            .await
            .map_err(self.failed("could not read results from"))?;
        entries
            .into_iter()
            .zip(keys)
            .zip(values)
            .map(|((entry, (key, result)), bytes)| {
                let outcome = match bytes {
                    Some(bytes) if !bytes.is_empty() => super::decode(&bytes)?,
                    Some(_) => {
                        Outcome::Failed(format!("the result of task `{key}` was taken already"))
                    }
                    None => Outcome::Failed(format!(
                        "the result of task `{key}` expired before it was read"
                    )),
                };
                Ok(Done {
                    id: entry.id,
                    key,
                    result,
                    outcome,
                })
            })
            .collect()
    }
}

/// Serves tasks from the broker at `url` with `settings`, until the broker
/// stays unreachable; see [`serve_if_worker`](super::serve_if_worker).
pub(crate) async fn serve(url: &str, settings: Settings) -> Result<(), Error> {
    let broker = Broker::connect(url, Duration::from_secs(10)).await?;
    let me = format!("worker-{}", super::unique_name());
    let mut unreachable_since: Option<std::time::Instant> = None;
    let mut reclaimed_at = std::time::Instant::now();
    loop {
        match serve_one(&broker, &me, &settings, &mut reclaimed_at).await {
            Ok(()) => unreachable_since = None,
            Err(error) => {
                let since = *unreachable_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > Duration::from_secs(10) {
                    return Err(error);
                }
                eprintln!("delayed worker {me}: {error}; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Takes one task and runs it: a lost one, looked for every quarter of a
/// lease while there are none (so that a new task costs no extra round
/// trip), else a new one, waiting a moment.
async fn serve_one(
    broker: &Broker,
    me: &str,
    settings: &Settings,
    reclaimed_at: &mut std::time::Instant,
) -> Result<(), Error> {
    let mut connection = broker.connection.clone();
    let every = (settings.lease / 4).max(Duration::from_millis(10));
    if reclaimed_at.elapsed() >= every {
        let lease_ms = settings.lease.as_millis().max(1) as usize;
        let reclaimed: StreamAutoClaimReply = connection
            .xautoclaim_options(
                TASKS,
                GROUP,
                me,
                lease_ms,
                "0-0",
                StreamAutoClaimOptions::default().count(1),
            )
            .await
            .map_err(broker.failed("could not reclaim tasks from"))?;
        match reclaimed.claimed.into_iter().next() {
            Some(entry) => {
                let pending: StreamPendingCountReply = connection
                    .xpending_consumer_count(TASKS, GROUP, &entry.id, &entry.id, 1, me)
                    .await
                    .map_err(broker.failed("could not read a task's deliveries from"))?;
                let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered);
                return run(broker, me, settings, entry, deliveries).await;
            }
            None => *reclaimed_at = std::time::Instant::now(),
        }
    }
    let options = StreamReadOptions::default()
        .group(GROUP, me)
        .count(1)
        .block(every.min(Duration::from_millis(500)).as_millis() as usize);
    let read: Option<StreamReadReply> = connection
        .xread_options(&[TASKS], &[">"], &options)
        .await
        .map_err(broker.failed("could not read tasks from"))?;
    match read.and_then(|r| r.keys.into_iter().next()?.ids.into_iter().next()) {
        Some(entry) => run(broker, me, settings, entry, 1).await,
        None => Ok(()),
    }
}

async fn run(
    broker: &Broker,
    me: &str,
    settings: &Settings,
    entry: StreamId,
    deliveries: usize,
) -> Result<(), Error> {
    let mut connection = broker.connection.clone();
    let id = entry.id.clone();
    let task = entry
        .get::<Vec<u8>>("task")
        .ok_or_else(|| "it has no `task` field".to_string())
        .and_then(|bytes| super::decode::<TaskMessage>(&bytes).map_err(|e| format!("{e:?}")));
    let mut task = match task {
        Ok(task) => task,
        Err(reason) => {
            eprintln!("delayed worker {me}: rejected entry {id} of {TASKS}: {reason}");
            let _: String = connection
                .xadd(REJECTED, "*", &[("id", id.as_str()), ("reason", &reason)])
                .await
                .map_err(broker.failed("could not report a rejected entry to"))?;
            return ack(broker, &id).await;
        }
    };
    let outcome = if deliveries > settings.retries as usize + 1 {
        Outcome::Failed(format!(
            "task `{}` was delivered {deliveries} times and its workers were lost each time \
             (killed, or stopped past their lease of {:?}): given up after {} retries",
            task.key, settings.lease, settings.retries
        ))
    } else {
        let args = std::mem::take(&mut task.args);
        execute(broker, me, settings, &id, &task, args).await
    };
    let bytes = super::encode(&outcome)?;
    let ttl_ms = settings.ttl.as_millis().max(1) as u64;
    // First writer wins: a task run twice records its first result, and
    // only that run tells the client.
    let first: Option<String> = redis::cmd("SET")
        .arg(&task.result)
        .arg(bytes)
        .arg("NX")
        .arg("PX")
        .arg(ttl_ms)
        .query_async(&mut connection)
        .await
        .map_err(broker.failed("could not write a result to"))?;
    // Told and acknowledged in one round trip.
    let mut finish = redis::pipe();
    if first.is_some() {
        finish
            .xadd(
                &task.reply,
                "*",
                &[("key", task.key.as_str()), ("result", task.result.as_str())],
            )
            .ignore()
            .pexpire(&task.reply, ttl_ms as i64)
            .ignore();
    }
    finish.xack(TASKS, GROUP, &[&id]).ignore();
    let () = finish
        .query_async(&mut connection)
        .await
        .map_err(broker.failed("could not report a completion to"))?;
    Ok(())
}

/// Runs the task's function on a blocking thread, renewing the lease
/// while it runs.
async fn execute(
    broker: &Broker,
    me: &str,
    settings: &Settings,
    id: &str,
    task: &TaskMessage,
    args: Vec<u8>,
) -> Outcome {
    let Some(function) = super::function(&task.function) else {
        return Outcome::Failed(format!(
            "no task function `{}` in this worker's build: a worker runs only the \
             `#[delayed]` functions compiled into it",
            task.function
        ));
    };
    let mut running = tokio::task::spawn_blocking(move || function.call(&args));
    let renew_every = (settings.lease / 3).max(Duration::from_millis(1));
    let result = loop {
        match tokio::time::timeout(renew_every, &mut running).await {
            Ok(finished) => break finished,
            Err(_) => {
                // XCLAIM by the owner resets the entry's idle time.
                let renewed: redis::RedisResult<redis::Value> = broker
                    .connection
                    .clone()
                    .xclaim_options(
                        TASKS,
                        GROUP,
                        me,
                        0,
                        &[id],
                        StreamClaimOptions::default().with_justid(),
                    )
                    .await;
                if let Err(error) = renewed {
                    eprintln!(
                        "delayed worker {me}: could not renew the lease of `{}`: {error}",
                        task.key
                    );
                }
            }
        }
    };
    match result {
        Ok(Ok(bytes)) if bytes.len() > settings.max_payload => Outcome::Failed(format!(
            "the result of task `{}` is {} bytes, over the limit of {} (`DELAYED_MAX_PAYLOAD`)",
            task.key,
            bytes.len(),
            settings.max_payload
        )),
        Ok(Ok(bytes)) => Outcome::Done(bytes),
        Ok(Err(error)) => Outcome::Failed(format!("{error:?}")),
        Err(join) => Outcome::Failed(format!("task `{}` could not run: {join}", task.key)),
    }
}

async fn ack(broker: &Broker, id: &str) -> Result<(), Error> {
    let _: i64 = broker
        .connection
        .clone()
        .xack(TASKS, GROUP, &[id])
        .await
        .map_err(broker.failed("could not acknowledge a task on"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_in_messages_keep_no_password() {
        assert_eq!(
            super::redact("redis://app:s3cret@db:6379/0"),
            "redis://app:***@db:6379/0"
        );
        assert_eq!(super::redact("redis://db:6379"), "redis://db:6379");
        assert_eq!(super::redact("redis://token@db"), "redis://token@db");
    }
}
