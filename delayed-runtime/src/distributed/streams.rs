//! Redis Streams as the broker between a client and its workers: the
//! [`Queue`] and [`Deliveries`] of `redis://` and `rediss://` addresses.
//!
//! - Tasks go to one stream, `delayed:tasks`, read by the consumer group
//!   `workers`: each entry reaches one worker. A task that needs
//!   resources goes to a stream named by them, `delayed:tasks:gpu` or
//!   `delayed:tasks:gpu+memory`, read only by workers that have each of
//!   them; one that finds a worker with too little of one is passed on.
//! - Each worker process says what it has in the sorted set
//!   `delayed:workers` (`<name>|gpu=2`, scored by when it expires), renewed
//!   by its heartbeat: a client sends a task that needs resources only if
//!   a worker serving has enough. Its one field, `task`, is a
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
//! - A message may carry a chain: tasks that each read only the one
//!   before them, run one after another by the worker that took it. A
//!   result passed on so is recorded as `passed`, without its value, and
//!   the entry is acknowledged with the last link. A worker lost on the
//!   way leaves the entry to be reclaimed, and the chain runs again from
//!   its first task; the links recorded already are not recorded twice.
//! - What records a finished task waits for the worker's next round trip,
//!   the read of its next tasks, and goes out ahead of it: a task sent
//!   alone costs the worker one round trip, and the short tasks of one
//!   read, or of one chain, are recorded together.
//! - A heartbeat thread, with a connection of its own, renews the leases of
//!   the tasks a worker holds while it is busy running them.
//! - An entry that does not decode is acknowledged, so that it is not
//!   delivered again, and reported on `delayed:rejected` with the reason
//!   (the last 10,000 or so reports are kept).
//! - An entry acknowledged is deleted: the task stream holds the tasks
//!   waiting or running, and no more, however long the workers serve.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamClaimOptions, StreamId, StreamMaxlen,
    StreamPendingCountReply, StreamReadOptions, StreamReadReply,
};
use redis::{AsyncCommands, FromRedisValue, Pipeline};
use tokio::runtime::Runtime;

use super::broker::{
    Deliveries, Delivery, Done, Finish, Outcome, Pending, Queue, Settings, TaskMessage,
};
use crate::error::Error;
use crate::resources::Resources;
use crate::sync::lock;

/// The stream of tasks, read by the workers' consumer group.
pub const TASKS: &str = "delayed:tasks";
/// The workers serving now and what each has: members `<name>|<resources>`,
/// scored by the time (ms since the epoch) each expires unless renewed.
pub const WORKERS: &str = "delayed:workers";
/// The most resource names one worker lists: it reads a stream for each
/// combination of them.
const MAX_RESOURCE_NAMES: usize = 6;
const GROUP: &str = "workers";
/// Where entries that are not tasks are reported: the last ten thousand
/// or so of them.
pub const REJECTED: &str = "delayed:rejected";
/// How many reports of rejected entries [`REJECTED`] keeps, at least: a
/// stream of garbage does not fill the broker's memory.
const REJECTED_KEPT: usize = 10_000;

fn broker_error(what: &str, url: &str, source: redis::RedisError) -> Error {
    Error::broker(
        format!("{what} the broker at `{}`", redact(url)),
        Some(source.into()),
    )
}

/// The error of a broker that did not take the address's credentials, or
/// wanted some.
fn refused(url: &str, source: redis::RedisError) -> Error {
    Error::broker(
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

/// The stream of the tasks that need `resources` (as they print, names
/// in order): [`TASKS`] for none, `delayed:tasks:gpu+memory` for some.
pub fn stream_for(resources: &str) -> String {
    let names: Vec<&str> = resources
        .split(',')
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim()))
        .collect();
    match names.is_empty() {
        true => TASKS.to_string(),
        false => format!("{TASKS}:{}", names.join("+")),
    }
}

/// The streams a worker with `capacity` reads: one for each combination of
/// its resources, then [`TASKS`].
fn streams_of(capacity: &Resources) -> Result<Vec<String>, Error> {
    let names: Vec<&str> = capacity.iter().map(|(name, _)| name).collect();
    if names.len() > MAX_RESOURCE_NAMES {
        return Err(Error::config(format!(
            "a worker lists at most {MAX_RESOURCE_NAMES} resources, and this one lists {} \
             (`{capacity}`): it reads a stream for each combination of them",
            names.len()
        )));
    }
    let mut streams: Vec<String> = (1..1_usize << names.len())
        .map(|mask| {
            let chosen: Vec<&str> = (0..names.len())
                .filter(|bit| mask & (1 << bit) != 0)
                .map(|bit| names[bit])
                .collect();
            format!("{TASKS}:{}", chosen.join("+"))
        })
        .collect();
    streams.push(TASKS.to_string());
    Ok(streams)
}

/// This worker process's name in [`WORKERS`], the same for its threads:
/// `DELAYED_WORKER_NAME` when set, a unique one otherwise.
fn process_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| match std::env::var(NAME_VARIABLE) {
        Ok(name) if !name.is_empty() => name,
        _ => format!("worker-{}", super::build::unique_name()),
    })
}

/// The variable that names a worker process in [`WORKERS`].
pub(crate) const NAME_VARIABLE: &str = "DELAYED_WORKER_NAME";

/// Milliseconds since the epoch: the scores of [`WORKERS`].
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A connection to the broker, for a client or a worker.
#[derive(Clone)]
pub struct RedisBroker {
    url: String,
    /// Reconnects by itself: a command after the broker came back finds
    /// it again.
    connection: ConnectionManager,
    /// The streams of tasks needing resources whose group this connection
    /// made sure of.
    ensured: Arc<Mutex<HashSet<String>>>,
}

impl RedisBroker {
    /// Connects to the broker at `url` (`redis://host:port`,
    /// `redis://user:password@host`), giving up after `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<RedisBroker, Error> {
        // One message for every way of not getting there, saying what to do.
        let unreachable = |source: Option<redis::RedisError>| {
            Error::broker(
                format!(
                    "could not reach the broker at `{}` within {timeout:?}: start Redis 6.2 or \
                     newer there (`redis-server`), or give the address of one that runs",
                    redact(url)
                ),
                source.map(Into::into),
            )
        };
        if url.starts_with("rediss://") && !cfg!(feature = "tls") {
            return Err(Error::config(format!(
                "the broker at `{}` is reached over TLS (`rediss://`), which needs the `tls` \
                     feature of delayed: `features = [\"distributed\", \"tls\"]`",
                redact(url)
            )));
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
        let broker = RedisBroker {
            url: url.to_string(),
            connection,
            ensured: Arc::default(),
        };
        broker.ensure_group(TASKS).await?;
        Ok(broker)
    }

    /// Creates the task stream `stream` and the workers' group on it,
    /// unless they exist: also after a Redis without persistence restarted.
    async fn ensure_group(&self, stream: &str) -> Result<(), Error> {
        let created: redis::RedisResult<()> = self
            .connection
            .clone()
            .xgroup_create_mkstream(stream, GROUP, "0")
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

    fn failed<'a>(&'a self, what: &'a str) -> impl FnOnce(redis::RedisError) -> Error + 'a {
        move |e| broker_error(what, &self.url, e)
    }

    /// Sends a task to the workers: to those that have its resources.
    pub async fn submit(&self, task: &TaskMessage) -> Result<(), Error> {
        let stream = stream_for(&task.resources);
        if stream != TASKS && !lock(&self.ensured).contains(&stream) {
            // The group first, so that the workers that come for this
            // stream later read from its start.
            self.ensure_group(&stream).await?;
            lock(&self.ensured).insert(stream.clone());
        }
        let mut submit = redis::pipe();
        submit
            .xadd(&stream, "*", &[("task", crate::wire::encode(task)?)])
            .ignore();
        self.again_if_dropped(&submit)
            .await
            .map_err(self.failed("could not send a task to"))
    }

    /// Renews the leases of the tasks that consumer `me` holds, each
    /// named by its stream and id.
    async fn renew(&self, me: &str, held: &[(String, String)]) -> Result<(), Error> {
        let mut streams: Vec<&str> = held.iter().map(|(stream, _)| stream.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut renew = redis::pipe();
        for stream in streams {
            let ids: Vec<&str> = (held.iter())
                .filter(|(s, _)| s == stream)
                .map(|(_, id)| id.as_str())
                .collect();
            // XCLAIM by the owner resets an entry's idle time, and with
            // JUSTID leaves its count of deliveries as it was.
            renew
                .xclaim_options(
                    stream,
                    GROUP,
                    me,
                    0,
                    &ids,
                    StreamClaimOptions::default().with_justid(),
                )
                .ignore();
        }
        renew
            .query_async::<()>(&mut self.connection.clone())
            .await
            .map_err(self.failed("could not renew leases on"))
    }

    /// Says that worker process `name` serves, with `resources`, for the
    /// next `lease`.
    async fn register(
        &self,
        name: &str,
        resources: &Resources,
        lease: Duration,
    ) -> Result<(), Error> {
        let member = format!("{name}|{resources}");
        let expires = now_ms() + lease.as_millis() as u64;
        let _: () = self
            .connection
            .clone()
            .zadd(WORKERS, member, expires)
            .await
            .map_err(self.failed("could not register a worker on"))?;
        Ok(())
    }

    /// What each worker process serving now has, as resources print; the
    /// entries of those gone are removed on the way.
    pub async fn workers(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .serving()
            .await?
            .into_iter()
            .map(|(_, resources)| resources)
            .collect())
    }

    /// The worker processes serving now: each one's name and resources.
    pub async fn serving(&self) -> Result<Vec<(String, String)>, Error> {
        let now = now_ms();
        let mut read = redis::pipe();
        read.zrembyscore(WORKERS, "-inf", now).ignore();
        read.zrangebyscore(WORKERS, now, "+inf");
        let (members,): (Vec<String>,) = read
            .query_async(&mut self.connection.clone())
            .await
            .map_err(self.failed("could not read the workers from"))?;
        Ok(members
            .into_iter()
            .filter_map(|member| {
                let (name, resources) = member.split_once('|')?;
                Some((name.to_string(), resources.to_string()))
            })
            .collect())
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
        let mut after = after.to_string();
        let mut done = loop {
            let Some(done) = self.completions(reply, &after, wait, 1).await?.pop() else {
                return Ok(None);
            };
            match done.outcome {
                // Log lines, not a completion.
                Outcome::Logged(_) => after = done.id,
                _ => break done,
            }
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
        let values: Vec<Option<Vec<u8>>> = self
            .again_if_dropped(&take)
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
        self.again_if_dropped(&release)
            .await
            .map_err(self.failed("could not release results on"))
    }

    /// Sends `pipe`, a second time if the connection it found had dropped
    /// (the broker restarted since it was last used): the failure made the
    /// connection manager reconnect, and the second attempt waits for that.
    /// A pipeline sent twice is one that never reached Redis the first time.
    async fn again_if_dropped<T: FromRedisValue>(&self, pipe: &Pipeline) -> redis::RedisResult<T> {
        match pipe.query_async(&mut self.connection.clone()).await {
            Err(e) if e.is_connection_dropped() => {
                pipe.query_async(&mut self.connection.clone()).await
            }
            done => done,
        }
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
    } else if let Some(report) = field("lost") {
        Outcome::Lost(text(report))
    } else if let Some(reason) = field("skipped") {
        Outcome::Skipped(text(reason))
    } else if let Some(batch) = field("log") {
        Outcome::Logged(batch)
    } else if field("stored").is_some() {
        Outcome::Stored
    } else if field("passed").is_some() {
        Outcome::Passed
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

impl Queue for RedisBroker {
    fn submit<'a>(&'a self, task: &'a TaskMessage) -> Pending<'a, ()> {
        Box::pin(RedisBroker::submit(self, task))
    }

    fn completions<'a>(
        &'a self,
        reply: &'a str,
        after: &'a str,
        wait: Duration,
        count: usize,
    ) -> Pending<'a, Vec<Done>> {
        Box::pin(RedisBroker::completions(self, reply, after, wait, count))
    }

    fn take<'a>(&'a self, done: &'a [Done]) -> Pending<'a, Vec<Outcome>> {
        Box::pin(RedisBroker::take(self, done))
    }

    fn release<'a>(&'a self, results: &'a [String]) -> Pending<'a, ()> {
        Box::pin(RedisBroker::release(self, results))
    }

    fn workers(&self) -> Pending<'_, Vec<String>> {
        Box::pin(RedisBroker::workers(self))
    }
}

/// Records a task's result once, tells its client, and acknowledges the
/// task and deletes its entry (the stream keeps only the tasks not done),
/// in one round trip. Sent with `EVAL`: Redis keeps the compiled
/// script by its hash, and the text finds it again after a restart.
///
/// A result that travels in the reply leaves an empty marker under the
/// result key. A large one was written beforehand under a key of this run
/// of the task alone (a plain `SET`: a megabyte through Lua costs three
/// times as much), and is renamed to the result key if that is free.
/// Either way the first run to finish wins, and only it tells the client.
///
/// A result passed to the next task of its message (field `passed`) is
/// recorded the same way, and the entry stays unacknowledged: the
/// delivery goes on with that task.
///
/// KEYS: the result, the reply stream, the task's stream, and the key the
/// value was written under, if it was. ARGV: the time to live in
/// milliseconds, the group, the entry's id, the task's key, the reply's
/// field (`value`, `stored`, `passed`, `failed` or `lost`) with its text, and the
/// worker's name.
const FINISH: &str = r"
local first
if KEYS[4] then
    first = redis.call('RENAMENX', KEYS[4], KEYS[1]) == 1
    if not first then
        redis.call('DEL', KEYS[4])
    end
else
    first = redis.call('SET', KEYS[1], '', 'NX', 'PX', ARGV[1])
end
if first then
    redis.call('XADD', KEYS[2], '*', 'key', ARGV[4], 'result', KEYS[1], ARGV[5], ARGV[6],
        'worker', ARGV[7])
    redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
if ARGV[5] == 'passed' then
    return 0
end
redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
return redis.call('XDEL', KEYS[3], ARGV[3])
";

/// Renews the leases of the tasks a worker thread holds, and the worker's
/// entry in [`WORKERS`], every third of a lease, on a thread and a
/// connection of its own, for as long as the worker thread lives.
fn heartbeat(
    url: &str,
    me: &str,
    settings: &Settings,
    held: Weak<Mutex<Vec<(String, String)>>>,
) -> Result<(), Error> {
    let (url, me) = (url.to_string(), me.to_string());
    let (lease, resources) = (settings.lease, settings.resources.clone());
    let every = (lease / 3).max(Duration::from_millis(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::start)?;
    std::thread::Builder::new()
        .name("delayed-worker-heartbeat".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut broker: Option<RedisBroker> = None;
                loop {
                    tokio::time::sleep(every).await;
                    let Some(held) = held.upgrade() else {
                        return;
                    };
                    let ids = lock(&held).clone();
                    drop(held);
                    if broker.is_none() {
                        broker = RedisBroker::connect(&url, every).await.ok();
                    }
                    let Some(connected) = &broker else {
                        continue;
                    };
                    let mut renewed = connected.register(process_name(), &resources, lease).await;
                    if renewed.is_ok() && !ids.is_empty() {
                        renewed = connected.renew(&me, &ids).await;
                    }
                    if let Err(error) = renewed {
                        tracing::warn!(target: "delayed::worker", worker = %me, "{error}");
                        broker = None;
                    }
                }
            });
        })
        .map_err(Error::start)?;
    Ok(())
}

/// A worker's side of the task stream: its consumer in the group, the
/// tasks it holds (whose leases the heartbeat renews), and the commands
/// that record finished tasks, waiting for its next round trip.
pub(crate) struct RedisStream {
    broker: RedisBroker,
    /// Its consumer name in the group.
    me: String,
    lease: Duration,
    ttl: Duration,
    /// The streams it reads, those of its resources first.
    streams: Vec<String>,
    /// Which of them it looks for lost tasks in next.
    reclaim_next: usize,
    /// The tasks it holds, by stream and id.
    held: Arc<Mutex<Vec<(String, String)>>>,
    /// Commands that record finished tasks, and report rejected entries,
    /// to go out with the next round trip.
    unsent: Pipeline,
    /// The ids of the tasks those commands acknowledge.
    finished: Vec<String>,
    /// When it last looked for lost tasks and found none.
    reclaimed_at: Instant,
    /// How many large results it wrote, to name each run's own key.
    runs: u64,
}

impl RedisStream {
    /// Joins the workers' group at `url`, with a heartbeat for the leases.
    pub(crate) fn connect(
        url: &str,
        settings: &Settings,
        on: &Runtime,
    ) -> Result<RedisStream, Error> {
        let streams = streams_of(&settings.resources)?;
        let broker = on.block_on(RedisBroker::connect(url, Duration::from_secs(10)))?;
        on.block_on(async {
            for stream in &streams {
                broker.ensure_group(stream).await?;
            }
            // Said at once, so that clients send it what it can run.
            broker
                .register(process_name(), &settings.resources, settings.lease)
                .await
        })?;
        let me = format!("worker-{}", super::build::unique_name());
        let held = Arc::new(Mutex::new(Vec::new()));
        heartbeat(url, &me, settings, Arc::downgrade(&held))?;
        Ok(RedisStream {
            broker,
            me,
            lease: settings.lease,
            ttl: settings.ttl,
            streams,
            reclaim_next: 0,
            held,
            unsent: redis::pipe(),
            finished: Vec::new(),
            reclaimed_at: Instant::now(),
            runs: 0,
        })
    }

    /// The commands waiting to go out, to send with a query added.
    fn unsent(&mut self) -> Pipeline {
        std::mem::replace(&mut self.unsent, redis::pipe())
    }

    /// Sends `pipe`, whose one command not ignored is the query, and
    /// returns what the query gave. The tasks recorded on the way are no
    /// longer held; if the broker was not reached, they are reclaimed after
    /// their lease, and a second run of them changes nothing.
    fn send<T: FromRedisValue>(
        &mut self,
        on: &Runtime,
        pipe: Pipeline,
        what: &str,
    ) -> Result<T, Error> {
        let mut connection = self.broker.connection.clone();
        let sent = on.block_on(pipe.query_async::<(T,)>(&mut connection));
        let finished = std::mem::take(&mut self.finished);
        if !finished.is_empty() {
            lock(&self.held).retain(|(_, id)| !finished.contains(id));
        }
        sent.map(|(value,)| value).map_err(self.broker.failed(what))
    }
}

/// An entry of `stream` as a delivery: its task, or why it is not one.
fn delivery(entry: StreamId, deliveries: usize, stream: &str) -> Delivery {
    let task = entry
        .get::<Vec<u8>>("task")
        .ok_or_else(|| "it has no `task` field".to_string())
        .and_then(|bytes| crate::wire::decode::<TaskMessage>(&bytes).map_err(|e| format!("{e:?}")));
    Delivery {
        id: entry.id,
        deliveries,
        queue: stream.to_string(),
        task,
    }
}

impl Deliveries for RedisStream {
    fn name(&self) -> &str {
        &self.me
    }

    /// A lost task, looked for every quarter of a lease while there are
    /// none (so that a new task costs no extra round trip), in each of its
    /// streams in turn, else new ones, waiting up to half a second for
    /// them.
    fn next(&mut self, on: &Runtime, count: usize) -> Result<Vec<Delivery>, Error> {
        let every = (self.lease / 4).max(Duration::from_millis(10));
        if self.reclaimed_at.elapsed() >= every {
            let lease_ms = self.lease.as_millis().max(1) as usize;
            let stream = self.streams[self.reclaim_next % self.streams.len()].clone();
            self.reclaim_next += 1;
            let mut reclaim = self.unsent();
            reclaim.xautoclaim_options(
                &stream,
                GROUP,
                &self.me,
                lease_ms,
                "0-0",
                StreamAutoClaimOptions::default().count(1),
            );
            let reclaimed: StreamAutoClaimReply =
                self.send(on, reclaim, "could not reclaim tasks from")?;
            match reclaimed.claimed.into_iter().next() {
                Some(entry) => {
                    let mut count = redis::pipe();
                    count
                        .xpending_consumer_count(&stream, GROUP, &entry.id, &entry.id, 1, &self.me);
                    let pending: StreamPendingCountReply =
                        self.send(on, count, "could not read a task's deliveries from")?;
                    let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered);
                    lock(&self.held).push((stream.clone(), entry.id.clone()));
                    return Ok(vec![delivery(entry, deliveries, &stream)]);
                }
                // Every stream looked at in turn: wait a while.
                None if self.reclaim_next.is_multiple_of(self.streams.len()) => {
                    self.reclaimed_at = Instant::now()
                }
                None => {}
            }
        }
        let options = StreamReadOptions::default()
            .group(GROUP, &self.me)
            .count(count)
            .block(every.min(Duration::from_millis(500)).as_millis() as usize);
        let mut read = self.unsent();
        let from = vec![">"; self.streams.len()];
        read.xread_options(&self.streams, &from, &options);
        let read: Option<StreamReadReply> = self.send(on, read, "could not read tasks from")?;
        let mut deliveries = Vec::new();
        let mut held = lock(&self.held);
        for stream in read.map(|r| r.keys).unwrap_or_default() {
            for entry in stream.ids {
                held.push((stream.key.clone(), entry.id.clone()));
                deliveries.push(delivery(entry, 1, &stream.key));
            }
        }
        Ok(deliveries)
    }

    fn fetch(&mut self, on: &Runtime, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let mut fetch = self.unsent();
        fetch.cmd("MGET").arg(keys);
        let values: Vec<Option<Vec<u8>>> =
            self.send(on, fetch, "could not read a task's inputs from")?;
        // An empty value is the marker of one released or taken.
        Ok(values
            .into_iter()
            .map(|value| value.filter(|bytes| !bytes.is_empty()))
            .collect())
    }

    fn finish(&mut self, delivery: &Delivery, task: &TaskMessage, outcome: Finish<'_>) {
        let ttl_ms = self.ttl.as_millis().max(1) as u64;
        // A result passed on leaves the delivery going.
        let ends = !matches!(outcome, Finish::Passed);
        // The key holds the value only when it does not travel in the reply.
        let (staged, field, told) = match outcome {
            Finish::Inline(bytes) => (None, "value", bytes),
            Finish::Stored(bytes) => {
                self.runs += 1;
                let staged = format!("{}:{}:{}", task.result, self.me, self.runs);
                self.unsent
                    .cmd("SET")
                    .arg(&staged)
                    .arg(bytes)
                    .arg("PX")
                    .arg(ttl_ms)
                    .ignore();
                (Some(staged), "stored", Vec::new())
            }
            Finish::Failed(report) => (None, "failed", report.into_bytes()),
            Finish::Lost(report) => (None, "lost", report.into_bytes()),
            Finish::Skipped(reason) => (None, "skipped", reason.into_bytes()),
            Finish::Passed => (None, "passed", Vec::new()),
        };
        let finish = self.unsent.cmd("EVAL").arg(FINISH);
        match &staged {
            Some(staged) => finish
                .arg(4)
                .arg(&task.result)
                .arg(&task.reply)
                .arg(&delivery.queue)
                .arg(staged),
            None => finish
                .arg(3)
                .arg(&task.result)
                .arg(&task.reply)
                .arg(&delivery.queue),
        };
        finish
            .arg(ttl_ms)
            .arg(GROUP)
            .arg(&delivery.id)
            .arg(&task.key)
            .arg(field)
            .arg(told)
            .arg(&self.me)
            .ignore();
        if ends {
            self.finished.push(delivery.id.clone());
        }
    }

    fn flush(&mut self, on: &Runtime) -> Result<(), Error> {
        let mut flush = self.unsent();
        flush.cmd("PING");
        let _: String = self.send(on, flush, "could not record tasks on")?;
        Ok(())
    }

    fn reject(&mut self, delivery: &Delivery, reason: &str) {
        let id = delivery.id.as_str();
        tracing::warn!(
            target: "delayed::worker",
            worker = %self.me,
            "rejected entry {id} of {}: {reason}",
            delivery.queue
        );
        self.unsent
            .xadd_maxlen(
                REJECTED,
                StreamMaxlen::Approx(REJECTED_KEPT),
                "*",
                &[("id", id), ("reason", reason)],
            )
            .ignore()
            .xack(&delivery.queue, GROUP, &[id])
            .ignore()
            .xdel(&delivery.queue, &[id])
            .ignore();
        self.finished.push(delivery.id.clone());
    }

    fn log(&mut self, task: &TaskMessage, batch: &[u8]) {
        self.unsent
            .xadd(
                &task.reply,
                "*",
                &[
                    ("key", task.key.as_bytes()),
                    ("result", task.result.as_bytes()),
                    ("log", batch),
                    ("worker", self.me.as_bytes()),
                ],
            )
            .ignore();
    }

    fn pass_on(&mut self, delivery: &Delivery, task: &TaskMessage) -> Result<(), Error> {
        let stream = delivery.queue.as_str();
        self.unsent
            .xadd(stream, "*", &[("task", crate::wire::encode(task)?)])
            .ignore()
            .xack(stream, GROUP, &[&delivery.id])
            .ignore()
            .xdel(stream, &[&delivery.id])
            .ignore();
        self.finished.push(delivery.id.clone());
        Ok(())
    }

    fn recover(&mut self, on: &Runtime) {
        // A Redis restarted without persistence lost the groups.
        for stream in &self.streams {
            let _ = on.block_on(self.broker.ensure_group(stream));
        }
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
    fn tasks_needing_resources_go_to_the_streams_of_workers_that_have_them() {
        assert_eq!(stream_for(""), TASKS);
        assert_eq!(stream_for("gpu=1"), "delayed:tasks:gpu");
        assert_eq!(stream_for("gpu=1,memory=4GiB"), "delayed:tasks:gpu+memory");
        let worker: Resources = "memory=16GiB,gpu=2".parse().unwrap();
        assert_eq!(
            streams_of(&worker).unwrap(),
            [
                "delayed:tasks:gpu",
                "delayed:tasks:memory",
                "delayed:tasks:gpu+memory",
                TASKS
            ]
        );
        assert_eq!(streams_of(&Resources::new()).unwrap(), [TASKS]);
        let many: Resources = "a=1,b=1,c=1,d=1,e=1,f=1,g=1".parse().unwrap();
        assert_eq!(
            streams_of(&many).unwrap_err().kind(),
            crate::ErrorKind::Config
        );
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
