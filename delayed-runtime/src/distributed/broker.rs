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
//!   to a budget, so that a consumer it runs itself does not fetch them
//!   (see the worker's module).
//! - An entry that does not decode is acknowledged, so that it is not
//!   delivered again, and reported on `delayed:rejected` with the reason.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamClaimOptions, StreamId, StreamReadOptions, StreamReadReply};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The stream of tasks, read by the workers' consumer group.
pub const TASKS: &str = "delayed:tasks";
pub(super) const GROUP: &str = "workers";
/// Where entries that are not tasks are reported.
pub const REJECTED: &str = "delayed:rejected";
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
    /// The name of the worker that ran it.
    pub worker: String,
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
    /// The defaults, with `DELAYED_LEASE_MS`, `DELAYED_RETRIES`,
    /// `DELAYED_RESULT_TTL_MS`, `DELAYED_MAX_PAYLOAD` (bytes) and
    /// `DELAYED_WORKER_CACHE` (bytes) from the environment when set.
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
        if let Some(ms) = number("DELAYED_RESULT_TTL_MS")? {
            settings.ttl = Duration::from_millis(ms.max(1));
        }
        if let Some(bytes) = number("DELAYED_MAX_PAYLOAD")? {
            settings.max_payload = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(bytes) = number("DELAYED_WORKER_CACHE")? {
            settings.cache = usize::try_from(bytes).unwrap_or(usize::MAX);
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

/// The error of a broker that did not take the address's credentials, or
/// wanted some.
fn refused(url: &str, source: redis::RedisError) -> Error {
    Error::remote(
        format!(
            "the broker at `{}` refused the credentials: give the user and password Redis \
             knows, as in `redis://user:password@host:6379`",
            redact(url)
        ),
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
    /// Reconnects by itself: a command after the broker came back finds
    /// it again.
    pub(super) connection: ConnectionManager,
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
        if url.starts_with("rediss://") && !cfg!(feature = "tls") {
            return Err(Error::remote(
                format!(
                    "the broker at `{}` is reached over TLS (`rediss://`), which needs the `tls` \
                     feature of delayed: `features = [\"distributed\", \"tls\"]`",
                    redact(url)
                ),
                None,
            ));
        }
        let client = redis::Client::open(url).map_err(|e| unreachable(Some(e)))?;
        // One attempt at a time: whoever uses the broker tries again at its
        // own pace, and knows how long it has waited.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(timeout);
        let connecting = ConnectionManager::new_with_config(client, config);
        let connection = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) if e.kind() == redis::ErrorKind::AuthenticationFailed => {
                return Err(refused(url, e));
            }
            Ok(Err(e)) => return Err(unreachable(Some(e))),
            Err(_) => return Err(unreachable(None)),
        };
        let mut broker = Broker {
            url: url.to_string(),
            connection,
        };
        broker.ensure_group().await?;
        Ok(broker)
    }

    /// Creates the task stream and the workers' group, unless they exist:
    /// also after a Redis without persistence restarted.
    pub(super) async fn ensure_group(&mut self) -> Result<(), Error> {
        let created: redis::RedisResult<()> = self
            .connection
            .xgroup_create_mkstream(TASKS, GROUP, "0")
            .await;
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) if e.code() == Some("NOAUTH") => Err(refused(&self.url, e)),
            Err(e) => Err(broker_error(
                "could not set up the task stream on",
                &self.url,
                e,
            )),
        }
    }

    pub(super) fn failed<'a>(
        &'a self,
        what: &'a str,
    ) -> impl FnOnce(redis::RedisError) -> Error + 'a {
        move |e| broker_error(what, &self.url, e)
    }

    /// Sends a task to the workers.
    pub async fn submit(&self, task: &TaskMessage) -> Result<(), Error> {
        let bytes = super::encode(task)?;
        let _: String = again_if_dropped(|| {
            let mut connection = self.connection.clone();
            let bytes = &bytes;
            async move { connection.xadd(TASKS, "*", &[("task", bytes)]).await }
        })
        .await
        .map_err(self.failed("could not send a task to"))?;
        Ok(())
    }

    /// Renews the leases of the tasks `ids` that consumer `me` holds.
    pub(super) async fn renew(&self, me: &str, ids: &[String]) -> Result<(), Error> {
        // XCLAIM by the owner resets an entry's idle time, and with JUSTID
        // leaves its count of deliveries as it was.
        let _: redis::Value = self
            .connection
            .clone()
            .xclaim_options(
                TASKS,
                GROUP,
                me,
                0,
                ids,
                StreamClaimOptions::default().with_justid(),
            )
            .await
            .map_err(self.failed("could not renew leases on"))?;
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
            read.cmd("XTRIM").arg(reply).arg("MINID").arg(next).ignore();
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
        let values: Vec<Option<Vec<u8>>> = again_if_dropped(|| {
            let mut connection = self.connection.clone();
            let take = &take;
            async move { take.query_async(&mut connection).await }
        })
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
        again_if_dropped(|| {
            let mut connection = self.connection.clone();
            let release = &release;
            async move { release.query_async(&mut connection).await }
        })
        .await
        .map_err(self.failed("could not release results on"))
    }
}

/// Runs `command` a second time if the connection it found had dropped
/// (the broker restarted since it was last used): the failure made the
/// connection manager reconnect, and the second attempt waits for that.
/// A command sent twice is one that never reached Redis the first time.
async fn again_if_dropped<T, F>(mut command: impl FnMut() -> F) -> redis::RedisResult<T>
where
    F: Future<Output = redis::RedisResult<T>>,
{
    match command().await {
        Err(e) if e.is_connection_dropped() => command().await,
        done => done,
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
    let worker = field("worker").map(text).unwrap_or_default();
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
        worker,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_streams_are_trimmed_after_the_last_entry_read() {
        assert_eq!(
            next_id("1700000000000-41").as_deref(),
            Some("1700000000000-42")
        );
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
