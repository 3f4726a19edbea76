//! A worker: the loop that takes tasks from the broker and runs them.
//!
//! - Tasks run in place, one after another, on the worker's one thread: a
//!   hop to another thread and back cost more than a trivial task. Async
//!   tasks run on the worker's current-thread runtime, which also drives
//!   its connection to the broker.
//! - What records a finished task (the finish script) waits for the
//!   worker's next round trip, the read of its next tasks, and goes out
//!   ahead of it: a chain's link costs the worker one round trip, and the
//!   short tasks of one read are recorded together.
//! - A task from another build of the program (another executable) fails,
//!   saying so, rather than run a function of the same name.
//! - A worker reads as many tasks at once as take about 2 ms at its pace,
//!   so that long tasks are read one by one and stay in the stream for
//!   idle workers.
//! - A heartbeat thread, with a connection of its own, renews the leases of
//!   the tasks the worker holds while it is busy running them.
//! - When the broker is lost, the worker tries again every 200 ms, for 10
//!   seconds, and gives up. What it had not sent is lost with it; the
//!   tasks it held are reclaimed after their lease, and run again.
//! - The large results a worker wrote for tasks on workers stay in its
//!   cache, up to a budget, so that a consumer it runs itself does not
//!   fetch them from the broker.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamPendingCountReply,
    StreamReadOptions, StreamReadReply,
};
use redis::{FromRedisValue, Pipeline};
use tokio::runtime::Runtime;

use super::broker::{Argument, Broker, GROUP, INLINE, REJECTED, Settings, TASKS, TaskMessage};
use crate::error::{Error, Failure};
use crate::sync::lock;

/// Records a task's result once, tells its client, and acknowledges the
/// task, in one round trip. Sent with `EVAL`: Redis keeps the compiled
/// script by its hash, and the text finds it again after a restart.
///
/// A result that travels in the reply leaves an empty marker under the
/// result key. A large one was written beforehand under a key of this run
/// of the task alone (a plain `SET`: a megabyte through Lua costs three
/// times as much), and is renamed to the result key if that is free.
/// Either way the first run to finish wins, and only it tells the client.
///
/// KEYS: the result, the reply stream, the task stream, and the key the
/// value was written under, if it was. ARGV: the time to live in
/// milliseconds, the group, the entry's id, the task's key, the reply's
/// field (`value`, `stored` or `failed`) with its text, and the worker's
/// name.
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
return redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
";

/// How long the tasks of one read should take together, at the worker's
/// pace.
const BATCH_TIME: Duration = Duration::from_millis(2);

/// Serves tasks from the broker at `url` with `settings`, until the broker
/// stays unreachable for 10 seconds; see
/// [`serve_if_worker`](super::serve_if_worker).
pub(crate) fn serve(url: &str, settings: Settings) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::start)?;
    let broker = runtime.block_on(Broker::connect(url, Duration::from_secs(10)))?;
    let me = format!("worker-{}", super::unique_name());
    super::build();
    let held = Arc::new(Mutex::new(Vec::new()));
    heartbeat(url, &me, settings.lease, Arc::downgrade(&held))?;
    let mut worker = Worker {
        runtime,
        broker,
        cache: Cache::new(settings.cache),
        settings,
        held,
        unsent: redis::pipe(),
        finished: Vec::new(),
        reclaimed_at: Instant::now(),
        pace: Duration::from_millis(1),
        runs: 0,
        me,
    };
    let mut unreachable_since: Option<Instant> = None;
    loop {
        match worker.serve_some() {
            Ok(()) => unreachable_since = None,
            Err(error) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(10) {
                    return Err(error);
                }
                eprintln!("delayed worker {}: {error}; trying again", worker.me);
                std::thread::sleep(Duration::from_millis(200));
                // A Redis restarted without persistence lost the group.
                let _ = worker.runtime.block_on(worker.broker.ensure_group());
            }
        }
    }
}

/// Renews the leases of the tasks a worker holds every third of a lease,
/// on a thread and a connection of its own, for as long as the worker
/// lives.
fn heartbeat(
    url: &str,
    me: &str,
    lease: Duration,
    held: Weak<Mutex<Vec<String>>>,
) -> Result<(), Error> {
    let (url, me) = (url.to_string(), me.to_string());
    let every = (lease / 3).max(Duration::from_millis(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::start)?;
    std::thread::Builder::new()
        .name("delayed-worker-heartbeat".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut broker: Option<Broker> = None;
                loop {
                    tokio::time::sleep(every).await;
                    let Some(held) = held.upgrade() else {
                        return;
                    };
                    let ids = lock(&held).clone();
                    drop(held);
                    if ids.is_empty() {
                        continue;
                    }
                    if broker.is_none() {
                        broker = Broker::connect(&url, every).await.ok();
                    }
                    let renewed = match &broker {
                        Some(broker) => broker.renew(&me, &ids).await,
                        None => continue,
                    };
                    if let Err(error) = renewed {
                        eprintln!("delayed worker {me}: {error}");
                        broker = None;
                    }
                }
            });
        })
        .map_err(Error::start)?;
    Ok(())
}

/// A worker's state between tasks.
struct Worker {
    /// Drives the connection, and runs async tasks.
    runtime: Runtime,
    broker: Broker,
    /// Its consumer name in the group.
    me: String,
    settings: Settings,
    cache: Cache,
    /// The tasks it holds, whose leases the heartbeat renews.
    held: Arc<Mutex<Vec<String>>>,
    /// Commands that record finished tasks, and report rejected entries,
    /// to go out with the next round trip.
    unsent: Pipeline,
    /// The ids of the tasks those commands acknowledge.
    finished: Vec<String>,
    /// When it last looked for lost tasks and found none.
    reclaimed_at: Instant,
    /// How long a task took, on average of the last few.
    pace: Duration,
    /// How many large results it wrote, to name each run's own key.
    runs: u64,
}

impl Worker {
    /// Takes tasks and runs them: a lost one, looked for every quarter of
    /// a lease while there are none (so that a new task costs no extra
    /// round trip), else new ones, waiting a moment for them.
    fn serve_some(&mut self) -> Result<(), Error> {
        let every = (self.settings.lease / 4).max(Duration::from_millis(10));
        if self.reclaimed_at.elapsed() >= every {
            let lease_ms = self.settings.lease.as_millis().max(1) as usize;
            let mut reclaim = self.unsent();
            reclaim.xautoclaim_options(
                TASKS,
                GROUP,
                &self.me,
                lease_ms,
                "0-0",
                StreamAutoClaimOptions::default().count(1),
            );
            let reclaimed: StreamAutoClaimReply =
                self.send(reclaim, "could not reclaim tasks from")?;
            match reclaimed.claimed.into_iter().next() {
                Some(entry) => {
                    let mut count = redis::pipe();
                    count.xpending_consumer_count(TASKS, GROUP, &entry.id, &entry.id, 1, &self.me);
                    let pending: StreamPendingCountReply =
                        self.send(count, "could not read a task's deliveries from")?;
                    let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered);
                    lock(&self.held).push(entry.id.clone());
                    return self.run(entry, deliveries);
                }
                None => self.reclaimed_at = Instant::now(),
            }
        }
        let count = (BATCH_TIME.as_nanos() / self.pace.as_nanos().max(1)).clamp(1, 64) as usize;
        let options = StreamReadOptions::default()
            .group(GROUP, &self.me)
            .count(count)
            .block(every.min(Duration::from_millis(500)).as_millis() as usize);
        let mut read = self.unsent();
        read.xread_options(&[TASKS], &[">"], &options);
        let read: Option<StreamReadReply> = self.send(read, "could not read tasks from")?;
        let entries = read
            .and_then(|r| r.keys.into_iter().next())
            .map(|key| key.ids)
            .unwrap_or_default();
        lock(&self.held).extend(entries.iter().map(|entry| entry.id.clone()));
        for entry in entries {
            let started = Instant::now();
            self.run(entry, 1)?;
            self.pace = (self.pace * 3 + started.elapsed()) / 4;
        }
        Ok(())
    }

    /// The commands waiting to go out, to send with a query added.
    fn unsent(&mut self) -> Pipeline {
        std::mem::replace(&mut self.unsent, redis::pipe())
    }

    /// Sends `pipe`, whose one command not ignored is the query, and
    /// returns what the query gave. The tasks recorded on the way are no
    /// longer held; if the broker was not reached, they are reclaimed after
    /// their lease, and a second run of them changes nothing.
    fn send<T: FromRedisValue>(&mut self, pipe: Pipeline, what: &str) -> Result<T, Error> {
        let mut connection = self.broker.connection.clone();
        let sent = self
            .runtime
            .block_on(pipe.query_async::<(T,)>(&mut connection));
        let finished = std::mem::take(&mut self.finished);
        if !finished.is_empty() {
            lock(&self.held).retain(|id| !finished.contains(id));
        }
        sent.map(|(value,)| value).map_err(self.broker.failed(what))
    }

    /// Runs one entry, `deliveries` times delivered, and queues what
    /// records its outcome.
    fn run(&mut self, entry: StreamId, deliveries: usize) -> Result<(), Error> {
        let id = entry.id.clone();
        let task = entry
            .get::<Vec<u8>>("task")
            .ok_or_else(|| "it has no `task` field".to_string())
            .and_then(|bytes| super::decode::<TaskMessage>(&bytes).map_err(|e| format!("{e:?}")));
        let task = match task {
            Ok(task) => task,
            Err(reason) => {
                eprintln!(
                    "delayed worker {}: rejected entry {id} of {TASKS}: {reason}",
                    self.me
                );
                self.unsent
                    .xadd(REJECTED, "*", &[("id", id.as_str()), ("reason", &reason)])
                    .ignore()
                    .xack(TASKS, GROUP, &[&id])
                    .ignore();
                self.finished.push(id);
                return Ok(());
            }
        };
        let outcome = if task.build != super::build() {
            let report = format!(
                "task `{}` comes from another build of the program than this worker's \
                 (build {} against {}): start the workers from the client's own binary",
                task.key,
                task.build,
                super::build()
            );
            eprintln!("delayed worker {}: refused {report}", self.me);
            Err(report)
        } else if deliveries > self.settings.retries as usize + 1 {
            Err(format!(
                "task `{}` was delivered {deliveries} times and its workers were lost each time \
                 (killed, or stopped past their lease of {:?}): given up after {} retries",
                task.key, self.settings.lease, self.settings.retries
            ))
        } else {
            self.execute(&task)?
        };
        let ttl_ms = self.settings.ttl.as_millis().max(1) as u64;
        let (staged, field, told) = match outcome {
            Ok(bytes) if bytes.len() <= INLINE => (None, "value", bytes),
            Ok(bytes) => {
                self.runs += 1;
                let staged = format!("{}:{}:{}", task.result, self.me, self.runs);
                self.unsent
                    .cmd("SET")
                    .arg(&staged)
                    .arg(bytes.as_slice())
                    .arg("PX")
                    .arg(ttl_ms)
                    .ignore();
                if task.uses > 0 {
                    self.cache.insert(&task.result, Arc::new(bytes), task.uses);
                }
                (Some(staged), "stored", Vec::new())
            }
            Err(report) => (None, "failed", report.into_bytes()),
        };
        let finish = self.unsent.cmd("EVAL").arg(FINISH);
        match &staged {
            Some(staged) => finish
                .arg(4)
                .arg(&task.result)
                .arg(&task.reply)
                .arg(TASKS)
                .arg(staged),
            None => finish.arg(3).arg(&task.result).arg(&task.reply).arg(TASKS),
        };
        finish
            .arg(ttl_ms)
            .arg(GROUP)
            .arg(&id)
            .arg(&task.key)
            .arg(field)
            .arg(told)
            .arg(&self.me)
            .ignore();
        self.finished.push(id);
        Ok(())
    }

    /// Runs the task's function here: its result as MessagePack, or its
    /// failure's report. An error is the broker's.
    fn execute(&mut self, task: &TaskMessage) -> Result<Result<Vec<u8>, String>, Error> {
        let Some(function) = super::function(&task.function) else {
            return Ok(Err(format!(
                "no task function `{}` in this worker's build: a worker runs only the \
                 `#[delayed]` functions compiled into it",
                task.function
            )));
        };
        let args = match self.arguments(task)? {
            Ok(args) => args,
            Err(report) => return Ok(Err(report)),
        };
        // A task's own panic is its error already; this keeps the worker
        // alive through one of the registry's.
        let called = catch_unwind(AssertUnwindSafe(|| {
            function.call_on(&args, Some(&self.runtime))
        }));
        let max = self.settings.max_payload;
        Ok(match called {
            Ok(Ok(bytes)) if bytes.len() > max => Err(format!(
                "the result of task `{}` is {} bytes, over the limit of {max} \
                 (`DELAYED_MAX_PAYLOAD`)",
                task.key,
                bytes.len(),
            )),
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(error)) => Err(format!("{error:?}")),
            Err(payload) => match Failure::from_panic(payload) {
                Failure::Panic(message) => Err(format!(
                    "task `{}` could not run: task function `{}` panicked: {message}",
                    task.key,
                    function.path()
                )),
                _ => unreachable!("a panic's payload makes a panic's failure"),
            },
        })
    }

    /// The task's arguments as one MessagePack tuple: those that travelled
    /// with it, and those on the broker, from this worker's cache or
    /// fetched in one round trip.
    fn arguments(&mut self, task: &TaskMessage) -> Result<Result<Vec<u8>, String>, Error> {
        let mut found: HashMap<&str, Arc<Vec<u8>>> = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        for argument in &task.args {
            if let Argument::Stored(key) = argument {
                match self.cache.take(key) {
                    Some(bytes) => {
                        found.insert(key, bytes);
                    }
                    None => missing.push(key),
                }
            }
        }
        if !missing.is_empty() {
            let mut fetch = self.unsent();
            fetch.cmd("MGET").arg(&missing);
            let fetched: Vec<Option<Vec<u8>>> =
                self.send(fetch, "could not read a task's inputs from")?;
            for (key, bytes) in missing.into_iter().zip(fetched) {
                match bytes {
                    Some(bytes) if !bytes.is_empty() => {
                        found.insert(key, Arc::new(bytes));
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
            Argument::Stored(key) => found[key.as_str()].as_slice(),
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
        assert_eq!(tuple(two.iter().map(Vec::as_slice)), encoded(&("a", 5_u16)));
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
}
