//! A worker: the loop that takes tasks from the broker and runs them.
//!
//! - A worker runs as many tasks at once as it has threads
//!   (`DELAYED_WORKER_THREADS`, by default one per core), like a Dask
//!   worker's `nthreads`. Each thread is a consumer of the workers' group
//!   of its own, with its own connection and name, and runs its tasks in
//!   place, one after another: a hop to another thread and back cost more
//!   than a trivial task. Async tasks run on the thread's current-thread
//!   runtime, which also drives its connection between tasks. The threads
//!   share one cache of results.
//! - A task from another build of the program (another executable) fails,
//!   saying so, rather than run a function of the same name.
//! - A worker asks for as many tasks at once as take about 2 ms at its
//!   pace, so that long tasks are taken one by one and stay with the broker
//!   for idle workers.
//! - A message may carry a chain of tasks, each reading only the one
//!   before it: the worker runs them one after another, passing each
//!   result to the next in memory, and stops at the first that fails.
//! - A small result travels inside the completion; a large one stays on
//!   the broker, and in the worker's cache, up to a budget, so that a
//!   reader it runs itself does not fetch it.
//! - When the broker is lost, the worker tries again every 200 ms, for 10
//!   seconds, and gives up. The tasks it held are taken up again after
//!   their lease, and a second run of one changes nothing.
//!
//! What it asks of the broker is [`Deliveries`]: the loop knows no Redis.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use super::broker::{Argument, Deliveries, Delivery, Finish, INLINE, Settings, TaskMessage};
use super::build::build;
use super::logs::{self, Capture};
use super::registry::function;
use crate::error::{Error, panic_message};
use crate::executor::Services;
use crate::executor::sequential;
use crate::graph::Graph;
use crate::node::NodeRef;
use crate::resources::Resources;
use crate::sync::lock;
use crate::value::Value;

/// How long the tasks of one read should take together, at the worker's
/// pace.
const BATCH_TIME: Duration = Duration::from_millis(2);

/// How long a worker waits before it passes on a task that needs more of
/// a resource than it has.
const PASS_ON_PAUSE: Duration = Duration::from_millis(50);

/// How a worker thread reaches the broker at an address, its connection
/// driven by the thread's runtime.
pub(crate) type Connect = fn(&str, &Settings, &Runtime) -> Result<Box<dyn Deliveries>, Error>;

/// Serves tasks from the broker at `url` with `settings`, on
/// `settings.threads` threads, until the broker stays unreachable for 10
/// seconds; see [`serve_if_worker`](super::serve_if_worker).
pub(crate) fn serve(url: &str, settings: Settings, connect: Connect) -> Result<(), Error> {
    build();
    keep_freed_memory();
    let cache = Arc::new(Mutex::new(Cache::new(settings.cache)));
    let holdings = Arc::new(Holdings::new(settings.resources.clone()));
    let (stopped, first_to_stop) = mpsc::channel();
    for _ in 0..settings.threads.max(1) {
        let (url, settings) = (url.to_string(), settings.clone());
        let (cache, stopped) = (cache.clone(), stopped.clone());
        let holdings = holdings.clone();
        std::thread::Builder::new()
            .name("delayed-worker".into())
            // A task runs on it in place: the stack of a main thread.
            .stack_size(8 << 20)
            .spawn(move || {
                let shared = Shared { cache, holdings };
                let _ = stopped.send(serve_on_this_thread(&url, settings, shared, connect));
            })
            .map_err(Error::start)?;
    }
    drop(stopped);
    // The first thread to stop stops the worker: its broker is gone.
    first_to_stop
        .recv()
        // Every thread gone without a word: each ended by a panic, whose
        // message went to the panic hook.
        .unwrap_or_else(|_| {
            Err(Error::other(
                "every thread of this worker stopped with a panic (its message is printed \
                 above): start the worker again, and report the panic to delayed's maintainers"
                    .into(),
            ))
        })
}

/// How large a freed block glibc's malloc keeps for the next allocation,
/// in a worker process, rather than give it back to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEPT: libc::c_int = 32 << 20;

/// Sets glibc's malloc, in this worker process, to keep blocks of up to
/// [`KEPT`] bytes that its tasks free for the next ones, unless the
/// environment sets it already (`MALLOC_*_`, `GLIBC_TUNABLES`).
///
/// By default a block of a megabyte or so is mapped afresh from the
/// kernel, and a free heap top of more than twice that given back: a task
/// that makes a large value, and the next that reads it, then fault in a
/// few megabytes of new pages each time. 1,000 values of 1 MB, each made
/// and read on one worker, took 6.0 s so and 2.2 s with this.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = std::env::vars_os().any(|(name, _)| {
            let name = name.to_string_lossy();
            name == "GLIBC_TUNABLES" || (name.starts_with("MALLOC_") && name.ends_with('_'))
        });
        if !set {
            #[allow(unsafe_code)]
            // SAFETY: `mallopt` only sets two of malloc's parameters, to
            // values in their range; it takes malloc's own lock, and
            // touches no memory of ours.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, KEPT);
                libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT);
            }
        }
    }
}

/// One thread's loop of [`serve`].
fn serve_on_this_thread(
    url: &str,
    settings: Settings,
    shared: Shared,
    connect: Connect,
) -> Result<(), Error> {
    // The events of its tasks go home; the worker's own subscriber still
    // sees everything it saw.
    let _capture = settings.log.map(|level| {
        let inner = tracing::dispatcher::get_default(|inner| inner.clone());
        tracing::dispatcher::set_default(&tracing::Dispatch::new(Capture::new(inner, level)))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::start)?;
    let deliveries = connect(url, &settings, &runtime)?;
    let mut worker = Worker {
        runtime,
        deliveries,
        cache: shared.cache,
        holdings: shared.holdings,
        settings,
        // One task at first: until its pace is known, a thread takes no
        // task that another could run.
        pace: BATCH_TIME,
        paces: HashMap::new(),
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
                tracing::warn!(
                    target: "delayed::worker",
                    worker = worker.deliveries.name(),
                    "{error}; trying again"
                );
                std::thread::sleep(Duration::from_millis(200));
                worker.deliveries.recover(&worker.runtime);
            }
        }
    }
}

/// What a worker's threads share.
struct Shared {
    cache: Arc<Mutex<Cache>>,
    holdings: Arc<Holdings>,
}

/// Why a worker runs none of the tasks of a delivery.
enum Refusal {
    /// They come from another build of the program.
    Foreign,
    /// Their message was delivered this many times, past the retries.
    Lost(usize),
}

/// A worker thread's state between tasks.
struct Worker {
    /// Drives the connection, and runs async tasks.
    runtime: Runtime,
    deliveries: Box<dyn Deliveries>,
    settings: Settings,
    /// Shared by the worker's threads.
    cache: Arc<Mutex<Cache>>,
    /// The worker's resources, shared by its threads.
    holdings: Arc<Holdings>,
    /// How long a task took, on average of the last few.
    pace: Duration,
    /// How long a task of each function took, on average of its last few,
    /// by the function's path in the registry.
    paces: HashMap<&'static str, Duration>,
}

impl Worker {
    /// Takes tasks and runs them.
    fn serve_some(&mut self) -> Result<(), Error> {
        let count = (BATCH_TIME.as_nanos() / self.pace.as_nanos().max(1)).clamp(1, 64) as usize;
        let mut batch = self.deliveries.next(&self.runtime, count)?;
        // Highest priority first; the others as they came.
        batch.sort_by_key(|delivery| {
            std::cmp::Reverse(delivery.task.as_ref().map_or(0, |task| task.priority))
        });
        for delivery in batch {
            let started = Instant::now();
            self.run(delivery)?;
            self.pace = (self.pace * 3 + started.elapsed()) / 4;
        }
        Ok(())
    }

    /// Runs one delivery, and records its outcome: a chain's links one
    /// after another, each result passed on to the next in memory, until
    /// the last or the first that fails.
    fn run(&mut self, mut delivery: Delivery) -> Result<(), Error> {
        let mut task = match std::mem::replace(&mut delivery.task, Err(String::new())) {
            Ok(task) => task,
            Err(reason) => {
                self.deliveries.reject(&delivery, &reason);
                return Ok(());
            }
        };
        let needs = match task.resources.parse::<Resources>() {
            Ok(needs) => needs,
            Err(error) => {
                self.deliveries.reject(&delivery, &error.to_string());
                return Ok(());
            }
        };
        if needs.unmet_by(&self.holdings.has).is_some() {
            // Another worker of this stream has more: it goes back to
            // them, after a pause that keeps it from coming straight back.
            std::thread::sleep(PASS_ON_PAUSE);
            return self.deliveries.pass_on(&delivery, &task);
        }
        // Held until the message is done, its chain included.
        let holdings = self.holdings.clone();
        let _held = (!needs.is_empty()).then(|| holdings.take(needs));
        let mut links = std::mem::take(&mut task.then).into_iter();
        if let Some(refusal) = self.refusal(&task, &delivery) {
            // Each task of the message fails: one recorded by an earlier
            // delivery keeps its record, and the first that was not tells
            // the client, which waits for it.
            let finish = self.report(&refusal, &task);
            self.deliveries.finish(&delivery, &task, finish);
            for link in links {
                let task = task.follow(link);
                let finish = self.report(&refusal, &task);
                self.deliveries.finish(&delivery, &task, finish);
            }
            return Ok(());
        }
        // Links recorded but not sent go out once they are a batch's time
        // old, and before a task that may be long, so that the client
        // hears of a chain's tasks as they run.
        let mut sent_at = Instant::now();
        let mut outcome = self.execute(&task, None)?;
        loop {
            let (bytes, link) = match (outcome, links.next()) {
                (Ok(bytes), Some(link)) => (bytes, link),
                (outcome, _) => {
                    self.record(&delivery, &task, outcome);
                    return Ok(());
                }
            };
            self.deliveries.finish(&delivery, &task, Finish::Passed);
            task = task.follow(link);
            // Long: its function took a batch's time, or has not run here.
            let long =
                (self.paces.get(task.function.as_str())).is_none_or(|&pace| pace >= BATCH_TIME);
            if long || sent_at.elapsed() >= BATCH_TIME {
                self.deliveries.flush(&self.runtime)?;
                sent_at = Instant::now();
            }
            outcome = self.execute(&task, Some(&bytes))?;
        }
    }

    /// Why this worker runs none of the tasks of a delivery whose first
    /// task is `task`, if it does not.
    fn refusal(&self, task: &TaskMessage, delivery: &Delivery) -> Option<Refusal> {
        if task.build != build() {
            tracing::warn!(
                target: "delayed::worker",
                worker = self.deliveries.name(),
                "refused the tasks of build {} from `{}` on: this worker is build {}",
                task.build,
                task.key,
                build()
            );
            Some(Refusal::Foreign)
        } else if delivery.deliveries > self.settings.retries as usize + 1 {
            Some(Refusal::Lost(delivery.deliveries))
        } else {
            None
        }
    }

    /// What `task`, of a delivery refused so, fails with.
    fn report(&self, refusal: &Refusal, task: &TaskMessage) -> Finish<'static> {
        match refusal {
            Refusal::Foreign => Finish::Failed(format!(
                "task `{}` comes from another build of the program than this worker's (build \
                 {} against {}): start the workers from the client's own binary",
                task.key,
                task.build,
                build()
            )),
            Refusal::Lost(deliveries) => Finish::Lost(format!(
                "task `{}` was delivered {deliveries} times and its workers were lost each \
                 time (killed, or stopped past their lease of {:?}): given up after {} retries",
                task.key, self.settings.lease, self.settings.retries
            )),
        }
    }

    /// Records how a task ended that ends its delivery: the last of its
    /// message, or one that failed.
    fn record(
        &mut self,
        delivery: &Delivery,
        task: &TaskMessage,
        outcome: Result<Vec<u8>, Finish<'static>>,
    ) {
        match outcome {
            Ok(bytes) if bytes.len() <= INLINE => {
                self.deliveries
                    .finish(delivery, task, Finish::Inline(bytes));
            }
            Ok(bytes) => {
                self.deliveries
                    .finish(delivery, task, Finish::Stored(&bytes));
                if task.uses > 0 {
                    lock(&self.cache).insert(&task.result, Arc::new(bytes), task.uses);
                }
            }
            Err(failed) => self.deliveries.finish(delivery, task, failed),
        }
    }

    /// Runs the task's function here: its result as MessagePack, or its
    /// failure's report. An error is the broker's.
    /// `previous` is the result of the task before it in its message.
    fn execute(
        &mut self,
        task: &TaskMessage,
        previous: Option<&[u8]>,
    ) -> Result<Result<Vec<u8>, Finish<'static>>, Error> {
        let Some(function) = function(&task.function) else {
            return Ok(Err(Finish::Failed(format!(
                "no task function `{}` in this worker's build: a worker runs only the \
                 `#[delayed]` functions compiled into it",
                task.function
            ))));
        };
        let args = match self.arguments(task, previous)? {
            Ok(args) => args,
            Err(report) => return Ok(Err(Finish::Failed(report))),
        };
        // A task's own panic is its error already; this keeps the worker
        // alive through one of the registry's.
        let started = Instant::now();
        logs::start_task();
        let called = catch_unwind(AssertUnwindSafe(|| {
            function.build(&args).and_then(|built| {
                let value = compute_on(&self.runtime, &built.node)?;
                built.encode(function.path(), &value)
            })
        }));
        // Sent ahead of the task's completion, with the same round trip.
        if let Some(batch) = logs::end_task()
            && let Ok(bytes) = crate::wire::encode(&batch)
        {
            self.deliveries.log(task, &bytes);
        }
        let took = started.elapsed();
        self.paces
            .entry(function.path())
            .and_modify(|pace| *pace = (*pace * 3 + took) / 4)
            .or_insert(took);
        let max = self.settings.max_payload;
        Ok(match called {
            Ok(Ok(bytes)) if bytes.len() > max => Err(Finish::Failed(format!(
                "the result of task `{}` is {} bytes, over the limit of {max} \
                 (`DELAYED_MAX_PAYLOAD`)",
                task.key,
                bytes.len(),
            ))),
            Ok(Ok(bytes)) => Ok(bytes),
            // A task that skips tells the client so, with its reason.
            Ok(Err(error)) => match error.skip_reason() {
                Some(reason) => Err(Finish::Skipped(reason.unwrap_or_default().to_owned())),
                None => Err(Finish::Failed(format!("{error:?}"))),
            },
            Err(payload) => Err(Finish::Failed(format!(
                "task `{}` could not run: task function `{}` panicked: {}",
                task.key,
                function.path(),
                panic_message(payload)
            ))),
        })
    }

    /// The task's arguments as one MessagePack tuple: those that travelled
    /// with it, and those on the broker, from this worker's cache or
    /// fetched in one round trip.
    fn arguments(
        &mut self,
        task: &TaskMessage,
        previous: Option<&[u8]>,
    ) -> Result<Result<Vec<u8>, String>, Error> {
        let previous = match previous {
            Some(bytes) => bytes,
            None if task.args.iter().any(|a| matches!(a, Argument::Previous)) => {
                return Ok(Err(format!(
                    "task `{}` reads the result of the task before it in its message, and \
                     none came before it: send it as a `Link` in the `then` of the message of \
                     the task it reads",
                    task.key
                )));
            }
            None => &[],
        };
        let mut found: HashMap<&str, Arc<Vec<u8>>> = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        for argument in &task.args {
            if let Argument::Stored(key) = argument {
                match lock(&self.cache).take(key) {
                    Some(bytes) => {
                        found.insert(key, bytes);
                    }
                    None => missing.push(key),
                }
            }
        }
        if !missing.is_empty() {
            let fetched = self.deliveries.fetch(&self.runtime, &missing)?;
            for (key, bytes) in missing.into_iter().zip(fetched) {
                match bytes {
                    Some(bytes) => {
                        found.insert(key, Arc::new(bytes));
                    }
                    None => {
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
            Argument::Previous => previous,
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

/// Computes a task in this thread on `runtime`, as the synchronous
/// client does but without a runtime of its own for each task: how a
/// worker runs the tasks it is sent, one after another on one runtime.
///
/// The resources its message asked for are held already; the task as
/// rebuilt here has its function's, which its caller may have changed
/// (`with_resources`): it is given what it says it needs, so that only
/// the message's decide where and when it runs.
fn compute_on(runtime: &Runtime, node: &NodeRef) -> Result<Value, Error> {
    let graph = Graph::collect(&[node]);
    let services = Services {
        resources: node.resources().cloned().unwrap_or_default(),
        ..Services::default()
    };
    let mut values = runtime.block_on(sequential::run(graph, None, None, services))?;
    Ok(values.pop().expect("one value for the one root"))
}

/// A worker process's resources, shared by its threads: a task that needs
/// some takes them before it runs, waiting while other threads hold them,
/// and gives them back when its message is done.
pub(crate) struct Holdings {
    has: Arc<Resources>,
    free: Mutex<Resources>,
    given_back: Condvar,
}

impl Holdings {
    fn new(has: Resources) -> Holdings {
        Holdings {
            free: Mutex::new(has.clone()),
            has: Arc::new(has),
            given_back: Condvar::new(),
        }
    }

    /// Takes `needs`, waiting until other threads give enough back; the
    /// guard gives them back. `needs` must fit what the worker has.
    fn take(&self, needs: Resources) -> Held<'_> {
        let mut free = lock(&self.free);
        while needs.unmet_by(&free).is_some() {
            free = self
                .given_back
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        for (name, amount) in needs.iter() {
            let left = free.get(name) - amount;
            *free = std::mem::take(&mut *free).with(name, left);
        }
        Held {
            holdings: self,
            needs,
        }
    }
}

/// Resources a task holds, given back when dropped.
struct Held<'a> {
    holdings: &'a Holdings,
    needs: Resources,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut free = lock(&self.holdings.free);
        for (name, amount) in self.needs.iter() {
            let back = free.get(name) + amount;
            *free = std::mem::take(&mut *free).with(name, back);
        }
        drop(free);
        self.holdings.given_back.notify_all();
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
