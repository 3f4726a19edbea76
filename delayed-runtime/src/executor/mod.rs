//! Running one compute: the state both schedulers share.
//!
//! See `README.md` beside this file for the protocol and its invariants.

pub(crate) mod admission;
#[cfg(feature = "cache")]
pub(crate) mod cache;
pub(crate) mod delivery;
pub(crate) mod gate;
pub(crate) mod offload;
pub(crate) mod ready;
pub(crate) mod sequential;
pub(crate) mod slots;
pub(crate) mod threaded;

use std::collections::HashMap;
use std::future::{Future, poll_fn};
#[cfg(feature = "cache")]
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::diagnostics::{Callback, ComputeFinish, ComputeStart, TaskFinish, TaskGraph, TaskStart};

use crate::error::{Error, Failure, Fault, panic_message};
use crate::graph::Graph;
use crate::node::{Body, Inputs, ResultSlot};
use crate::resources::Resources;
use crate::scratch;
use crate::sync::Mutex;
pub(crate) use crate::sync::lock;
use crate::value::Value;
use offload::{Offload, Plan, RanOn};

/// What a compute delivers: the outputs' values in request order, or the
/// first failure.
pub(crate) type ComputeOutcome = Result<Vec<Value>, Error>;

/// Called once with the outcome, from whichever thread finishes the compute.
pub(crate) type OnDone = Box<dyn FnOnce(ComputeOutcome) + Send>;

/// What a client lends each of its computes beyond its threads: a backend
/// that runs tasks elsewhere, a cache, and how a failed task is replayed.
#[derive(Clone, Default)]
pub(crate) struct Services {
    pub(crate) offload: Option<Arc<dyn Offload>>,
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<crate::cache::Cache>,
    /// Runs a graph in the calling thread, with these services (less the
    /// offload): what [`Error::replay`] does with a failed task's graph.
    /// `None` leaves errors without a replay.
    pub(crate) replay: Option<RunHere>,
    /// What the client's own tasks may hold at once: a task that needs
    /// more than this, and runs here, can never run.
    pub(crate) resources: Arc<crate::resources::Resources>,
}

/// Runs a graph to its end in the calling thread.
pub(crate) type RunHere = fn(Graph, Services) -> ComputeOutcome;

/// The state of one compute over one [`Graph`].
pub(crate) struct Run {
    pub(crate) graph: Graph,
    /// Per node: how many of its dependency edges have no value yet.
    pending: Vec<AtomicU32>,
    /// Per node: its value, from when it is computed until its last
    /// consumer takes it (or, for outputs, until the compute delivers it).
    results: Vec<Mutex<ResultSlot>>,
    /// Tasks not finished yet; the one that brings it to zero delivers.
    remaining: AtomicUsize,
    /// Set by the first failure or by cancellation: start no more tasks.
    stopped: AtomicBool,
    done: Mutex<Option<OnDone>>,
    /// Set once every task has finished: the outputs are delivered when
    /// the run is dropped, straight from their result slots, so that when
    /// a compute returns nothing of its graph is held any more.
    outputs_ready: AtomicBool,
    /// The compute's callbacks; `None` (the common case) costs each task
    /// one branch.
    callbacks: Option<Callbacks>,
    /// Whether a callback reads tasks' times: otherwise the clock is not
    /// read for them.
    timed: bool,
    started: Instant,
    /// The compute's number, for its callbacks.
    id: u64,
    /// Shared with a running compute's handle (`Client::submit`).
    control: Option<Arc<Control>>,
    /// Where the tasks that run elsewhere go, and how (a client with
    /// workers); `None`, the common case, costs each task one branch.
    plan: Option<Box<dyn Plan>>,
    /// The client's cache, when it has one and a task of this graph is
    /// cached; `None` costs each task one branch.
    #[cfg(feature = "cache")]
    cache: Option<cache::CacheRun>,
    /// What a failed task is replayed with ([`Error::replay`]): the
    /// client's cache, and no workers, so that it runs here.
    replay: Services,
    /// A task that needs resources no client or worker has: the compute
    /// fails with this when it starts, before any task runs.
    unfit: Mutex<Option<Error>>,
}

/// What the handle of a running compute sees of it: how many tasks are
/// done, a flag that cancels a synchronous run, and for `as_completed` each
/// output as it is computed.
#[derive(Default)]
pub(crate) struct Control {
    pub(crate) total: AtomicUsize,
    /// The run's count of tasks not done, kept here when there is a
    /// control so that the handle reads it: one counter for both.
    pub(crate) remaining: AtomicUsize,
    pub(crate) cancelled: AtomicBool,
    /// Set for a streaming compute: called with each output node's value
    /// or error as soon as it has one. A failure then fails only the tasks
    /// that need it, and the compute goes on.
    pub(crate) on_output: Option<OnOutput>,
    /// In a streaming compute, the failed tasks and the error that failed
    /// each (for one that did not run, its failed input's).
    failed: Mutex<HashMap<u32, Arc<Error>>>,
    /// A streaming compute stops after this many tasks failed (skips and
    /// tasks whose input failed do not count).
    max_failures: Option<usize>,
    failures: AtomicUsize,
}

/// Receives each output of a streaming compute, by node index.
pub(crate) type OnOutput = Box<dyn Fn(u32, Result<Value, Arc<Error>>) + Send + Sync>;

impl Control {
    /// A control for a streaming compute.
    pub(crate) fn streaming(on_output: OnOutput) -> Control {
        Control {
            on_output: Some(on_output),
            ..Control::default()
        }
    }

    /// A control for a streaming compute that stops after `max_failures`
    /// failed tasks, if given.
    pub(crate) fn keep_going(on_output: OnOutput, max_failures: Option<usize>) -> Control {
        Control {
            max_failures,
            ..Control::streaming(on_output)
        }
    }

    /// Counts a failed task; returns the limit when this failure reaches
    /// it, and the compute stops.
    fn count_failure(&self) -> Option<usize> {
        let limit = self.max_failures?;
        (self.failures.fetch_add(1, Ordering::AcqRel) + 1 == limit).then_some(limit)
    }
}

type Callbacks = Arc<[Arc<dyn Callback>]>;

/// Enforces a synchronous task's timeout while it runs, where the
/// scheduler can: the threaded one fails the compute when the time is up.
pub(crate) trait Watchdog {
    /// Starts timing an attempt at task `task`; `None` when this scheduler
    /// cannot (the attempt is then checked when it returns).
    fn arm(&self, task: u32, timeout: Duration) -> Option<Disarm>;
}

/// Stops the timing of an attempt when dropped.
pub(crate) struct Disarm(pub(crate) Arc<AtomicBool>);

impl Drop for Disarm {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The synchronous scheduler's: it runs on the caller's thread, which is
/// busy with the task.
pub(crate) struct Unwatched;

impl Watchdog for Unwatched {
    fn arm(&self, _task: u32, _timeout: Duration) -> Option<Disarm> {
        None
    }
}

impl Run {
    /// A run of `graph`; with an offload among `services`, the tasks its
    /// plan chooses run through it, and with a cache, cached tasks are
    /// looked up first.
    pub(crate) fn new(
        graph: Graph,
        done: OnDone,
        callbacks: Option<Callbacks>,
        control: Option<Arc<Control>>,
        services: &Services,
    ) -> Run {
        let plan = services
            .offload
            .as_ref()
            .and_then(|offload| offload.plan(&graph));
        #[cfg(feature = "cache")]
        let cache = services
            .cache
            .as_ref()
            .and_then(|cache| cache::CacheRun::new(cache, &graph));
        let len = graph.len();
        let is_ready = |i: u32| graph.is_value(i);
        // Taken from the last large compute, and given back in `drop`.
        let mut pending = scratch::take(len);
        let mut results = scratch::take(len);
        let mut remaining = 0;
        for i in 0..len as u32 {
            let unmet = graph.deps(i).iter().filter(|&&d| !is_ready(d)).count();
            pending.push(AtomicU32::new(unmet as u32));
            // Values known at build time are results from the start.
            let value = match graph.is_value(i).then(|| graph.node(i).body()) {
                Some(Body::Ready(value)) => Some(value.clone()),
                _ => {
                    remaining += 1;
                    None
                }
            };
            results.push(Mutex::new(ResultSlot::new(
                value,
                graph.dependents(i).len() as u32,
            )));
        }
        for &root in &graph.roots {
            lock(&results[root as usize]).output = true;
        }
        if let Some(control) = &control {
            control.total.store(remaining, Ordering::Release);
            control.remaining.store(remaining, Ordering::Release);
        }
        let timed = callbacks
            .as_deref()
            .is_some_and(|callbacks| callbacks.iter().any(|c| c.times_tasks()));
        let unfit = unfit(&graph, plan.as_deref(), services);
        Run {
            unfit: Mutex::new(unfit),
            timed,
            graph,
            pending,
            results,
            remaining: AtomicUsize::new(remaining),
            stopped: AtomicBool::new(false),
            done: Mutex::new(Some(done)),
            outputs_ready: AtomicBool::new(false),
            callbacks,
            started: Instant::now(),
            id: {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                NEXT.fetch_add(1, Ordering::Relaxed)
            },
            control,
            plan,
            #[cfg(feature = "cache")]
            cache,
            replay: Services {
                offload: None,
                ..services.clone()
            },
        }
    }

    /// Whether task `i` runs elsewhere, through the run's plan.
    fn offloads(&self, i: u32) -> bool {
        self.plan.as_ref().is_some_and(|plan| plan.offloads(i))
    }

    /// Whether task `i` is a synchronous task run here, on a slot. One
    /// that runs elsewhere is awaited as an async task, holding none.
    pub(crate) fn is_sync(&self, i: u32) -> bool {
        self.graph.is_sync(i) && !self.offloads(i)
    }

    /// The resources task `i` needs to run here: none for a task that
    /// runs elsewhere, whose place holds them.
    pub(crate) fn resources_here(&self, i: u32) -> Option<&Resources> {
        if !self.graph.has_resources() || self.offloads(i) {
            return None;
        }
        self.graph.node(i).resources().map(|r| &**r)
    }

    /// Tasks not finished yet: the control's counter when a handle watches
    /// the compute, the run's own otherwise.
    fn remaining(&self) -> &AtomicUsize {
        self.control
            .as_deref()
            .map_or(&self.remaining, |control| &control.remaining)
    }

    /// Whether a handle watches this compute's progress: then each task
    /// is counted as done at once.
    pub(crate) fn is_watched(&self) -> bool {
        self.control.is_some()
    }

    /// The control of a streaming compute, if this is one.
    fn streaming(&self) -> Option<&Control> {
        self.control.as_deref().filter(|c| c.on_output.is_some())
    }

    /// In a streaming compute, the error of a failed input of task `i`:
    /// the task does not run, and fails with it.
    fn failed_input(&self, i: u32) -> Option<Arc<Error>> {
        let control = self.streaming()?;
        let failed = lock(&control.failed);
        if failed.is_empty() {
            return None;
        }
        self.graph
            .deps(i)
            .iter()
            .find_map(|dep| failed.get(dep).cloned())
    }

    /// Fails task `i` without running it, because `input` failed: gives up
    /// its inputs.
    fn skipped(&self, i: u32, input: Arc<Error>) -> Result<Value, Failure> {
        self.inputs(i).release();
        Err(Failure::Upstream(input))
    }

    /// The tasks that can run at once. When there is nothing to run (every
    /// output is a plain value), the outputs are ready straight away.
    pub(crate) fn start(&self) -> Vec<u32> {
        if let Some(error) = lock(&self.unfit).take() {
            self.stop();
            self.deliver(Err(error));
            return Vec::new();
        }
        if let Some(callbacks) = &self.callbacks {
            let start = ComputeStart {
                tasks: self.remaining().load(Ordering::Acquire),
                at: self.started,
                id: self.id,
                graph: TaskGraph { graph: &self.graph },
            };
            if let Err(failure) = hooks(callbacks, |c| c.start(&start)) {
                self.stop();
                self.deliver(Err(Error::callback("start", failure)));
                return Vec::new();
            }
        }
        // Outputs known before anything runs go out at once.
        if let Some(on_output) = self.streaming().and_then(|c| c.on_output.as_ref()) {
            for &root in &self.graph.roots {
                let slot = lock(&self.results[root as usize]);
                if let (true, Some(value)) = (self.graph.is_value(root), slot.value()) {
                    on_output(root, Ok(value.clone()));
                }
            }
        }
        if self.remaining().load(Ordering::Acquire) == 0 {
            self.mark_outputs_ready();
            return Vec::new();
        }
        (0..self.graph.len() as u32)
            .filter(|&i| {
                !self.graph.is_value(i) && self.pending[i as usize].load(Ordering::Relaxed) == 0
            })
            .collect()
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Cancels the compute: no task starts after this; running ones finish
    /// and their results are dropped.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Runs a synchronous task on the current thread, catching a panic and
    /// telling the callbacks; with a policy, retries it and times it, a
    /// timeout being enforced by `watchdog` where it can.
    pub(crate) fn run_sync(&self, i: u32, watchdog: &dyn Watchdog) -> Result<Value, Failure> {
        #[cfg(feature = "tracing")]
        let _span = task_span(&self.graph.node(i).key).entered();
        if let Some(input) = self.failed_input(i) {
            return self.skipped(i, input);
        }
        #[cfg(feature = "cache")]
        let pending = match self.settle(i, self.cache_lookup(i)) {
            ControlFlow::Break(read) => return read,
            ControlFlow::Continue(pending) => pending,
        };
        let outcome = self.run_sync_here(i, watchdog);
        #[cfg(feature = "cache")]
        self.cache_write(i, pending, &outcome);
        outcome
    }

    /// Runs a synchronous task here, as [`run_sync`](Self::run_sync) says.
    fn run_sync_here(&self, i: u32, watchdog: &dyn Watchdog) -> Result<Value, Failure> {
        let Some(policy) = self.graph.node(i).reruns() else {
            return self.attempt_sync(i, self.inputs(i), None);
        };
        let inputs = || self.kept_inputs(i);
        let outcome = match &policy.invalid {
            Some(message) => Err(Failure::Config(message.clone())),
            None => {
                let mut attempt = 1;
                loop {
                    let armed = policy
                        .timeout
                        .map(|timeout| (timeout, watchdog.arm(i, timeout)));
                    let outcome = self.attempt_sync(i, inputs(), armed);
                    match outcome {
                        // A synchronous attempt that timed out may still run:
                        // it is never run again; nor is a task that skips.
                        Err(failure)
                            if attempt <= policy.retries
                                && !failure.is_timeout()
                                && !failure.is_skip() =>
                        {
                            std::thread::sleep(policy.delay(attempt));
                            attempt += 1;
                        }
                        outcome => break outcome.map_err(|failure| failure.after(attempt)),
                    }
                }
            }
        };
        self.release(i, outcome)
    }

    /// The error of task `i`, which failed so: it names the task, and can
    /// run it again here ([`Error::replay`]).
    fn task_error(&self, i: u32, failure: Failure) -> Error {
        let node = self.graph.nodes[i as usize].clone();
        let error = Error::task(node.key.clone(), failure);
        let Some(run_here) = self.replay.replay else {
            return error;
        };
        let services = self.replay.clone();
        error.replayable(Arc::new(move || {
            let graph = Graph::collect(&[&node]);
            let mut values = run_here(graph, services.clone())?;
            Ok(values.pop().expect("one value for the one root"))
        }))
    }

    /// Runs an `async` task to completion, telling the callbacks; with a
    /// policy, retries it and drops an attempt that runs out of time.
    pub(crate) async fn run_async(&self, i: u32) -> Result<Value, Failure> {
        let run = async {
            if let Some(input) = self.failed_input(i) {
                return self.skipped(i, input);
            }
            // The store is read and written by blocking calls, which may
            // wait for another process's claim: off the runtime's workers,
            // and only for a task the cache concerns (handing a worker's
            // tasks over is not free).
            #[cfg(feature = "cache")]
            let pending = {
                let concerned = self
                    .cache
                    .as_ref()
                    .is_some_and(|c| c.concerns(&self.graph, i));
                let looked = concerned.then(|| cache::blocking(|| self.cache_lookup(i)));
                match self.settle(i, looked.flatten()) {
                    ControlFlow::Break(read) => return read,
                    ControlFlow::Continue(pending) => pending,
                }
            };
            let outcome = self.run_async_here(i).await;
            #[cfg(feature = "cache")]
            if pending.is_some() {
                cache::blocking(|| self.cache_write(i, pending, &outcome));
            }
            outcome
        };
        #[cfg(feature = "tracing")]
        let run = tracing::Instrument::instrument(run, task_span(&self.graph.node(i).key));
        run.await
    }

    /// Runs an `async` task here, as [`run_async`](Self::run_async) says.
    async fn run_async_here(&self, i: u32) -> Result<Value, Failure> {
        let Some(policy) = self.graph.node(i).reruns() else {
            return self.attempt_async(i, self.inputs(i), None).await;
        };
        let outcome = match &policy.invalid {
            Some(message) => Err(Failure::Config(message.clone())),
            None => {
                let mut attempt = 1;
                loop {
                    let inputs = self.kept_inputs(i);
                    match self.attempt_async(i, inputs, policy.timeout).await {
                        Err(failure) if attempt <= policy.retries && !failure.is_skip() => {
                            tokio::time::sleep(policy.delay(attempt)).await;
                            attempt += 1;
                        }
                        outcome => break outcome.map_err(|failure| failure.after(attempt)),
                    }
                }
            }
        };
        self.release(i, outcome)
    }

    /// Looks cached task `i` up, if the compute has a cache.
    #[cfg(feature = "cache")]
    fn cache_lookup(&self, i: u32) -> Option<cache::Lookup> {
        self.cache.as_ref()?.lookup(&self.graph, &self.results, i)
    }

    /// What a lookup means for task `i`: its value, read (a hit, or a
    /// junction of hits), and it is done; or it runs, and after a miss its
    /// value is written as the `Pending` says.
    #[cfg(feature = "cache")]
    fn settle(
        &self,
        i: u32,
        looked: Option<cache::Lookup>,
    ) -> ControlFlow<Result<Value, Failure>, Option<cache::Pending>> {
        match looked {
            Some(cache::Lookup::Hit(value)) => ControlFlow::Break(self.hit(i, value)),
            Some(cache::Lookup::Gathered) => ControlFlow::Break(self.gathered(i)),
            Some(cache::Lookup::Miss(pending)) => ControlFlow::Continue(Some(pending)),
            None => ControlFlow::Continue(None),
        }
    }

    /// Writes task `i`'s value to the cache after a miss.
    #[cfg(feature = "cache")]
    fn cache_write(
        &self,
        i: u32,
        pending: Option<cache::Pending>,
        outcome: &Result<Value, Failure>,
    ) {
        if let (Some(cache), Some(pending), Ok(value)) = (&self.cache, pending, outcome) {
            cache.write(&self.graph, i, pending, value);
        }
    }

    /// Task `i`'s value read from the cache: it gives up its inputs
    /// unread, and the callbacks see a task that was cached.
    #[cfg(feature = "cache")]
    fn hit(&self, i: u32, value: Value) -> Result<Value, Failure> {
        let outcome = self.release(i, Ok(value));
        self.report_cached(i, outcome)
    }

    /// A junction gathering values that were all read from the cache: it
    /// gathers them, and is reported as read from the cache too.
    #[cfg(feature = "cache")]
    fn gathered(&self, i: u32) -> Result<Value, Failure> {
        let outcome = self.call_sync(i, self.inputs(i));
        self.report_cached(i, outcome)
    }

    /// Tells the callbacks of task `i`, whose value came from the cache.
    #[cfg(feature = "cache")]
    fn report_cached(&self, i: u32, outcome: Result<Value, Failure>) -> Result<Value, Failure> {
        let Some(callbacks) = &self.callbacks else {
            return outcome;
        };
        let started = self.task_started(callbacks, i)?;
        let ran = Ran {
            cached: true,
            ..Ran::HERE
        };
        self.task_finished(callbacks, i, started, outcome, ran)
    }

    /// Task `i`'s inputs, one per dependency edge, read from the result
    /// slots as the call asks for them: the last consumer of a value that
    /// is not an output takes it, so memory follows the frontier.
    fn inputs(&self, i: u32) -> Inputs<'_> {
        Inputs::new(&self.results, self.graph.deps(i))
    }

    /// Task `i`'s inputs for one attempt of several: read, never taken,
    /// until [`release`](Self::release) gives them up.
    fn kept_inputs(&self, i: u32) -> Inputs<'_> {
        Inputs::kept(&self.results, self.graph.deps(i))
    }

    /// Gives up the inputs a task with a policy kept for its attempts; a
    /// value whose `Drop` panics fails the task.
    fn release(&self, i: u32, outcome: Result<Value, Failure>) -> Result<Value, Failure> {
        let inputs = self.inputs(i);
        match catch_unwind(AssertUnwindSafe(|| inputs.release())) {
            Ok(()) => outcome,
            Err(payload) => outcome.and(Err(Failure::from_panic(payload))),
        }
    }

    /// One attempt at a synchronous task: its call between the callbacks'
    /// hooks. `timed` is the attempt's timeout and, if the scheduler can
    /// enforce it while the task runs, the guard that does; otherwise an
    /// attempt that returns late is a timeout.
    fn attempt_sync(
        &self,
        i: u32,
        inputs: Inputs<'_>,
        timed: Option<(Duration, Option<Disarm>)>,
    ) -> Result<Value, Failure> {
        let attempt = || match timed {
            // Only a timeout no watchdog enforces needs the clock here.
            Some((timeout, None)) => {
                let started = Instant::now();
                let outcome = self.call_sync(i, inputs);
                if started.elapsed() > timeout {
                    Err(Fault::Timeout(timeout).into())
                } else {
                    outcome
                }
            }
            _ => self.call_sync(i, inputs),
        };
        let Some(callbacks) = &self.callbacks else {
            return attempt();
        };
        let started = self.task_started(callbacks, i)?;
        let outcome = attempt();
        self.task_finished(callbacks, i, started, outcome, Ran::HERE)
    }

    /// One attempt at an async task, dropped after `timeout`.
    async fn attempt_async(
        &self,
        i: u32,
        inputs: Inputs<'_>,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        // Where the task ran, told to the callbacks: asked only of a task
        // that runs elsewhere, and only for callbacks.
        let ran_on = (self.callbacks.is_some() && self.offloads(i)).then(RanOn::default);
        let attempt = async {
            let call = self.call_async(i, inputs, ran_on.clone());
            match timeout {
                Some(timeout) => tokio::time::timeout(timeout, call)
                    .await
                    .unwrap_or(Err(Fault::Timeout(timeout).into())),
                None => call.await,
            }
        };
        let Some(callbacks) = &self.callbacks else {
            return attempt.await;
        };
        let started = self.task_started(callbacks, i)?;
        let outcome = attempt.await;
        let (worker, logs) = match ran_on {
            Some(ran_on) => (ran_on.get(), ran_on.logs()),
            None => (None, Vec::new()),
        };
        let ran = Ran {
            worker: worker.as_deref(),
            logs: &logs,
            cached: false,
        };
        self.task_finished(callbacks, i, started, outcome, ran)
    }

    /// Tells the callbacks that task `i` starts; a hook that panics fails
    /// the task.
    fn task_started(&self, callbacks: &Callbacks, i: u32) -> Result<Instant, Failure> {
        let key = &self.graph.node(i).key;
        let start = TaskStart {
            key,
            compute: self.id,
            index: i as usize,
            name: key.name(),
            thread: current_thread(),
            at: if self.timed {
                Instant::now()
            } else {
                self.started
            },
        };
        hooks(callbacks, |c| c.task_start(&start))
            .map_err(|message| Failure::from(Fault::Panic(message)))?;
        Ok(start.at)
    }

    /// Tells the callbacks how task `i` ended, and where it ran; a hook
    /// that panics fails the task (unless it failed already).
    fn task_finished(
        &self,
        callbacks: &Callbacks,
        i: u32,
        started: Instant,
        outcome: Result<Value, Failure>,
        ran: Ran<'_>,
    ) -> Result<Value, Failure> {
        let key = &self.graph.node(i).key;
        let finish = TaskFinish {
            key,
            compute: self.id,
            index: i as usize,
            name: key.name(),
            thread: current_thread(),
            started,
            duration: if self.timed {
                started.elapsed()
            } else {
                Duration::ZERO
            },
            ok: outcome.is_ok(),
            error: outcome.as_ref().err().map(|failure| failure as _),
            worker: ran.worker,
            cached: ran.cached,
            logs: ran.logs,
        };
        let told = hooks(callbacks, |c| c.task_finish(&finish));
        match (outcome, told) {
            (Ok(_), Err(message)) => Err(Fault::Panic(message).into()),
            (outcome, _) => outcome,
        }
    }

    /// Calls a synchronous task's body, catching a panic, also one in the
    /// `Drop` of an input the task was the last to hold.
    fn call_sync(&self, i: u32, mut inputs: Inputs<'_>) -> Result<Value, Failure> {
        let Some((call, word)) = self.graph.node(i).body().sync_call() else {
            unreachable!("run_sync is only called for synchronous tasks")
        };
        inputs.word = word;
        // What the call reads and does not keep is dropped inside the
        // guard: a panicking `Drop` fails this task.
        let called = catch_unwind(AssertUnwindSafe(move || call(&mut inputs)));
        match called {
            Ok(result) => result.map_err(|error| Fault::Error(error).into()),
            Err(payload) => Err(Failure::from_panic(payload)),
        }
    }

    /// The future of async task `i`: its body's, or that of its run
    /// elsewhere (through the plan), whose place goes to `ran_on`.
    fn future(
        &self,
        i: u32,
        inputs: &mut Inputs<'_>,
        ran_on: Option<RanOn>,
    ) -> crate::node::BoxFuture {
        if let Some(plan) = self.plan.as_deref().filter(|plan| plan.offloads(i)) {
            return plan.start(&self.graph, i, inputs, ran_on);
        }
        let Some((call, word)) = self.graph.node(i).body().async_call() else {
            unreachable!("run_async is only called for async tasks and offloaded ones")
        };
        inputs.word = word;
        call(inputs)
    }

    /// Calls an `async` task's body and polls it to completion, catching a
    /// panic in any poll.
    fn call_async(
        &self,
        i: u32,
        mut inputs: Inputs<'_>,
        ran_on: Option<RanOn>,
    ) -> impl Future<Output = Result<Value, Failure>> + '_ {
        // Inputs the call did not keep, and the future once it is done,
        // are dropped inside the guard: a panicking `Drop` fails this task.
        let mut future = catch_unwind(AssertUnwindSafe(move || {
            Some(self.future(i, &mut inputs, ran_on))
        }));
        poll_fn(move |cx| {
            let running = match &mut future {
                Ok(Some(running)) => running,
                Ok(None) => unreachable!("a finished task is not polled again"),
                Err(payload) => {
                    let payload = std::mem::replace(payload, Box::new(()));
                    return Poll::Ready(Err(Failure::from_panic(payload)));
                }
            };
            let result = match catch_unwind(AssertUnwindSafe(|| running.as_mut().poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(result)) => result.map_err(|error| Fault::Error(error).into()),
                Err(payload) => Err(Failure::from_panic(payload)),
            };
            let finished = std::mem::replace(&mut future, Ok(None));
            match catch_unwind(AssertUnwindSafe(move || drop(finished))) {
                Ok(()) => Poll::Ready(result),
                Err(payload) => Poll::Ready(Err(Failure::from_panic(payload))),
            }
        })
    }

    /// Records how task `i` ended and pushes the dependents it made ready.
    /// Returns false when it failed, which ends the run. A task that
    /// succeeded counts as done only once passed to [`complete`]
    /// (Self::complete), which a pool thread does once per run of tasks
    /// rather than once per task: the count is shared by every thread.
    pub(crate) fn finish(
        &self,
        i: u32,
        outcome: Result<Value, Failure>,
        ready: &mut Vec<u32>,
    ) -> bool {
        let value = match outcome {
            Ok(value) => value,
            Err(failure) => {
                let Some(control) = self.streaming() else {
                    self.stop();
                    self.deliver(Err(self.task_error(i, failure)));
                    return false;
                };
                // The compute goes on: the tasks that need this one fail
                // when they are reached, with the error that failed it.
                let (cause, shown, counts) = match failure {
                    Failure::Upstream(input) => {
                        let key = self.graph.node(i).key.clone();
                        let shown = Arc::new(Error::upstream(key, input.clone()));
                        (input, shown, false)
                    }
                    failure => {
                        let counts = !failure.is_skip();
                        let error = Arc::new(self.task_error(i, failure));
                        (error.clone(), error, counts)
                    }
                };
                lock(&control.failed).insert(i, cause);
                let output = lock(&self.results[i as usize]).output;
                if let (Some(on_output), true) = (&control.on_output, output) {
                    on_output(i, Err(shown));
                }
                if let Some(limit) = counts.then(|| control.count_failure()).flatten() {
                    self.stop();
                    self.deliver(Err(Error::max_failures(limit)));
                    return false;
                }
                self.ready_dependents(i, ready);
                return true;
            }
        };
        let mut slot = lock(&self.results[i as usize]);
        if let Some(on_output) = self.streaming().and_then(|c| c.on_output.as_ref())
            && slot.output
        {
            on_output(i, Ok(value.clone()));
        }
        slot.put(value);
        drop(slot);
        self.ready_dependents(i, ready);
        true
    }

    /// Counts task `i`'s value as arrived at each dependent edge and pushes
    /// the dependents it made ready.
    fn ready_dependents(&self, i: u32, ready: &mut Vec<u32>) {
        for &dependent in self.graph.dependents(i) {
            // A node's counter reaches zero exactly once, on the release of
            // its last input, so it is made ready exactly once.
            if self.pending[dependent as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                ready.push(dependent);
            }
        }
    }

    /// Counts `tasks` finished tasks as done; returns true when they were
    /// the last ones, after collecting the outputs for delivery.
    pub(crate) fn complete(&self, tasks: usize) -> bool {
        let last = tasks > 0 && self.remaining().fetch_sub(tasks, Ordering::AcqRel) == tasks;
        if last {
            self.mark_outputs_ready();
        }
        last
    }

    /// Marks the outputs ready: they are delivered when the run is
    /// dropped, which follows at once (see `Drop for Run`).
    fn mark_outputs_ready(&self) {
        self.outputs_ready.store(true, Ordering::Release);
    }

    /// Delivers the outcome; only the first call has any effect. A
    /// `finish` hook that panics turns a success into that failure.
    pub(crate) fn deliver(&self, mut outcome: ComputeOutcome) {
        let done = lock(&self.done).take();
        if let Some(done) = done {
            if let Some(callbacks) = &self.callbacks {
                let finish = ComputeFinish {
                    ok: outcome.is_ok(),
                    elapsed: self.started.elapsed(),
                    id: self.id,
                    error: outcome.as_ref().err(),
                };
                if let Err(failure) = hooks(callbacks, |c| c.finish(&finish))
                    && outcome.is_ok()
                {
                    outcome = Err(Error::callback("finish", failure));
                }
            }
            done(outcome);
        }
    }
}

impl Drop for Run {
    /// Delivers the outputs, if every task finished: the last reference to
    /// the run goes when the last driver ends, right after the last task.
    fn drop(&mut self) {
        // Fields are dropped only after this returns, and the caller may
        // go on as soon as it has the outputs: release the graph first.
        // A value or captured argument whose `Drop` panics here fails the
        // compute in the name of the task that held it.
        let mut panicked = None;
        // Output values stay in their slots until the graph is released,
        // then move out: they are never held twice, and the graph's
        // bookkeeping is gone before the list of outputs is made.
        let deliver = *self.outputs_ready.get_mut() && self.streaming().is_none();
        let back = scratch::Return::after(self.results.capacity() * size_of::<Mutex<ResultSlot>>());
        let (mut nodes, roots) = self.graph.release(back);
        back.give(std::mem::take(&mut self.pending));
        let results = std::mem::take(&mut self.results);
        for (node, slot) in nodes.drain(..).zip(&results) {
            let key = node.key.clone();
            let mut slot = lock(slot);
            let value = if deliver && slot.output {
                None
            } else {
                slot.take()
            };
            drop(slot);
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop((value, node)))) {
                panicked.get_or_insert_with(|| Error::task(key, Failure::from_panic(payload)));
            }
        }
        back.give(nodes);
        let outputs = self.outputs_ready.get_mut().then(|| match deliver {
            true => roots
                .iter()
                .map(|&root| {
                    lock(&results[root as usize])
                        .value()
                        .cloned()
                        .expect("every task has finished, so every output has its value")
                })
                .collect(),
            // Each output went out as it was computed.
            false => Vec::new(),
        });
        // The slots' references go, so that each output is held once and
        // can be moved to the caller instead of cloned.
        back.give(results);
        back.give(roots);
        let Some(values) = outputs else { return };
        match panicked {
            Some(error) => self.deliver(Err(error)),
            None => self.deliver(Ok(values)),
        }
    }
}

/// The error of the first task of `graph` run here that needs more
/// resources than the client has: one that fits a place the `plan` sends
/// tasks to goes there instead.
fn unfit(graph: &Graph, plan: Option<&dyn Plan>, services: &Services) -> Option<Error> {
    if !graph.has_resources() {
        return None;
    }
    (0..graph.len() as u32).find_map(|i| {
        let node = graph.node(i);
        let needs = node.resources()?;
        if plan.is_some_and(|plan| plan.offloads(i)) {
            return None;
        }
        let (name, needed, has) = needs.unmet_by(&services.resources)?;
        let need = Resources::from([(name, needed)]);
        let has = match has {
            0 => format!("has no {name}"),
            has => format!("has {}", Resources::from([(name, has)])),
        };
        let elsewhere = (services.offload.as_ref()).map_or(String::new(), |offload| {
            format!(" ({})", offload.resources_elsewhere())
        });
        let message = format!(
            "needs {need}, and this client {has}{elsewhere}, so it could never run: give the \
             client more with `Client::builder().resources(\"{need}\")`, run it on workers \
             started with `DELAYED_WORKER_RESOURCES={need}`, or ask for less"
        );
        Some(Error::task_config(node.key.clone(), message))
    })
}

/// Where a task ran, as the callbacks are told: the worker, and the log
/// lines that came home from it; or whether its value was read from the
/// cache instead.
struct Ran<'a> {
    worker: Option<&'a str>,
    logs: &'a [crate::diagnostics::LogLine],
    cached: bool,
}

impl Ran<'_> {
    /// A task that ran in this process.
    const HERE: Ran<'static> = Ran {
        worker: None,
        logs: &[],
        cached: false,
    };
}

/// The current thread's id, without taking a reference to the thread.
fn current_thread() -> std::thread::ThreadId {
    thread_local! {
        static ID: std::thread::ThreadId = std::thread::current().id();
    }
    ID.with(|id| *id)
}

/// Calls `hook` on every callback, catching a panic in any of them; the
/// others are still called. The first panic's message is the error.
fn hooks(callbacks: &Callbacks, hook: impl Fn(&dyn Callback)) -> Result<(), String> {
    let mut failure = Ok(());
    for callback in callbacks.iter() {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| hook(&**callback)))
            && failure.is_ok()
        {
            failure = Err(panic_message(payload));
        }
    }
    failure
}

/// The span a task runs in: named `task`, with its function and key.
#[cfg(feature = "tracing")]
fn task_span(key: &crate::key::Key) -> tracing::Span {
    tracing::info_span!("task", function = key.name(), key = %key)
}

#[cfg(test)]
mod tests {
    use crate::{Client, Delayed, Error};

    /// Enough tasks that the arrays of a compute are kept (`scratch`).
    const N: u64 = 200_000;

    fn wide(n: u64) -> Vec<Delayed<u64>> {
        (0..n).map(|i| Delayed::value(i).map(|x| x * 2)).collect()
    }

    fn chain(n: u64) -> Delayed<u64> {
        (0..n).fold(Delayed::value(0), |tip, _| tip.map(|x| x + 1))
    }

    #[test]
    fn large_computes_take_the_arrays_of_the_last_and_compute_the_same() {
        let client = Client::builder().threads(2).build().unwrap();
        let expected: Vec<u64> = (0..N).map(|i| i * 2).collect();
        // The second of two large computes keeps its arrays.
        assert_eq!(client.compute(&wide(N)).unwrap(), expected);
        assert_eq!(client.compute(&wide(N)).unwrap(), expected);
        let reused = crate::scratch::reused();
        // Another shape, in arrays last filled by the wide graph.
        assert_eq!(client.compute(&chain(N)).unwrap(), N);
        assert!(crate::scratch::reused() > reused, "no array was kept");
        // A failed compute gives its arrays back too, emptied.
        let failing: Vec<Delayed<u64>> = (0..N)
            .map(|i| {
                Delayed::value(i).map(|x| {
                    assert!(x != N / 2, "the task in the middle fails");
                    x
                })
            })
            .collect();
        let err: Error = client.compute(&failing).unwrap_err();
        assert!(err.key().is_some());
        assert_eq!(client.compute(&wide(N)).unwrap(), expected);
        let synchronous = Client::synchronous();
        assert_eq!(synchronous.compute(&chain(N)).unwrap(), N);
        assert_eq!(synchronous.compute(&wide(N)).unwrap(), expected);
    }
}
