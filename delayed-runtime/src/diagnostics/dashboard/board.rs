//! What the dashboard knows, and the frames it sends.
//!
//! Tasks update the board from the threads that run them: each thread
//! counts into a shard of its own (a lock nobody else takes but the frame
//! builder), found through a thread-local cache, so a task pays a few
//! uncontended operations. A few times a second the server takes a frame:
//! it sums the shards and drains the task bars recorded since the last one.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::ThreadId;
use std::time::Instant;

use serde::Serialize;

use crate::diagnostics::{ComputeFinish, ComputeStart, TaskFinish, TaskStart};
use crate::sync::lock;
use crate::visualize::{DEFAULT_MAX_NODES, Kinds, colour, svg_of};

/// Shards of counts and bars; threads are spread over them round-robin.
const SHARDS: usize = 8;
/// The most bars one shard records between two frames: above it, tasks
/// are counted but not drawn, so that a million tiny tasks cost neither
/// memory nor bandwidth.
const BARS_PER_FRAME: usize = 1_000;
/// How many recent bars a page that opens is sent first.
const HISTORY: usize = 5_000;
/// How many finished computes and failures the page lists.
const PAST: usize = 50;
const FAILURES: usize = 100;

/// How many tasks whose events came home the board shows, the last ones.
const LOGGED: usize = 50;

/// A node's state, for graphs small enough to draw task by task.
const WAITING: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const FAILED: u8 = 3;
const VALUE: u8 = 4;

/// Everything one dashboard shows.
pub(crate) struct Board {
    /// Times on the page are seconds since this instant.
    origin: Instant,
    /// Computes running now, newest last.
    live: RwLock<Vec<Arc<Live>>>,
    /// The compute that finished last, shown until another starts.
    last: Mutex<Option<Arc<Live>>>,
    past: Mutex<VecDeque<PastCompute>>,
    failures: Mutex<VecDeque<FailedTask>>,
    logs: Mutex<VecDeque<LoggedTask>>,
    /// One row of the task stream per thread that ran a task.
    rows: Mutex<HashMap<ThreadId, usize>>,
    /// The newest bars, for a page that opens after they were drawn.
    history: Mutex<VecDeque<Bar>>,
    /// Bumped when a compute starts or ends, or a task fails: a frame is
    /// worth sending even if no compute runs now.
    changes: AtomicU64,
}

/// One compute as it runs.
pub(crate) struct Live {
    id: u64,
    started: Instant,
    /// Function rows in the order their first task appears.
    functions: Vec<&'static str>,
    /// Per function, its tasks' annotations, when they have any.
    annotations: Vec<Option<String>>,
    totals: Vec<u64>,
    /// Each node's function row (`u32::MAX` for plain values and for
    /// junctions, which gather a collection: tasks the user never wrote).
    function_of: Box<[u32]>,
    shards: Box<[Shard]>,
    /// Per node, for graphs of at most [`DEFAULT_MAX_NODES`] nodes: its
    /// state, and the nodes it waits for.
    states: Option<Box<[AtomicU8]>>,
    deps: Vec<Vec<u32>>,
    /// Per node, when it started if it is drawn on the task stream: in
    /// microseconds since the compute started, plus one (0: not drawn).
    starts: Box<[AtomicU32]>,
    /// The picture of the graph, served at `/graph/<id>.svg`.
    pub(crate) svg: String,
    /// Set when the compute has ended.
    ended: Mutex<Option<PastCompute>>,
    /// Tasks finished as of the last frame: those finished since and not
    /// drawn are what the frame says it left out.
    reported: AtomicU64,
}

/// What one thread counted. Aligned apart so that two threads' counters
/// never share a cache line.
#[repr(align(128))]
struct Shard {
    /// Per function: tasks started, succeeded, failed ([`Shard::STARTED`]
    /// and so on). Atomic, but each is written by one thread at a time in
    /// practice, so uncontended; one allocation, padded at both ends, so
    /// that no other shard's counters share its cache lines.
    counters: Box<[AtomicU64]>,
    /// How many functions the counters are for.
    functions: usize,
    /// How many more bars this frame may record: past it, a task costs no
    /// lock at all.
    budget: AtomicUsize,
    bars: Mutex<Vec<Bar>>,
}

impl Shard {
    const STARTED: usize = 0;
    const DONE: usize = 1;
    const FAILED: usize = 2;
    /// Done, and read from the cache rather than run (also counted done).
    const CACHED: usize = 3;
    /// Counters of padding before and after: 128 bytes.
    const PAD: usize = 16;

    fn new(functions: usize) -> Shard {
        Shard {
            counters: (0..4 * functions + 2 * Shard::PAD)
                .map(|_| AtomicU64::new(0))
                .collect(),
            functions,
            budget: AtomicUsize::new(BARS_PER_FRAME),
            bars: Mutex::new(Vec::new()),
        }
    }

    /// Counter `which` (started, done, failed, cached) of function `f`.
    fn counter(&self, which: usize, f: usize) -> &AtomicU64 {
        &self.counters[Shard::PAD + which * self.functions + f]
    }
}

/// A finished task on the task stream.
#[derive(Serialize, Clone)]
struct Bar(
    /// Row (thread).
    usize,
    /// Start, seconds since the dashboard started.
    f64,
    /// Duration in seconds.
    f64,
    /// Function.
    &'static str,
    /// Whether it succeeded.
    bool,
);

#[derive(Serialize, Clone)]
struct PastCompute {
    id: u64,
    tasks: usize,
    seconds: f64,
    ok: bool,
    error: Option<String>,
}

/// A task whose `tracing` events came home from its worker, with them.
#[derive(Serialize, Clone)]
struct LoggedTask {
    compute: u64,
    key: String,
    worker: String,
    /// Each as `LEVEL target: message`.
    lines: Vec<String>,
}

#[derive(Serialize, Clone)]
struct FailedTask {
    compute: u64,
    key: String,
    function: &'static str,
    error: String,
    /// The error's sources, outermost first.
    causes: Vec<String>,
}

/// What the page receives, a few times a second.
#[derive(Serialize)]
pub(crate) struct Frame {
    /// Seconds since the dashboard started.
    now: f64,
    /// The computes running now, then the last finished one.
    computes: Vec<ComputeFrame>,
    /// Rows of the task stream.
    threads: usize,
    bars: Vec<Bar>,
    /// Tasks finished since the last frame and not drawn.
    dropped: u64,
    failures: Vec<FailedTask>,
    /// The last tasks whose events came home from workers.
    logs: Vec<LoggedTask>,
    past: Vec<PastCompute>,
}

#[derive(Serialize)]
struct ComputeFrame {
    id: u64,
    tasks: usize,
    /// Seconds since it started, or how long it took.
    seconds: f64,
    running: bool,
    ok: Option<bool>,
    error: Option<String>,
    functions: Vec<FunctionFrame>,
    /// One letter per node (`w`aiting, `q` ready, `r`unning, `d`one,
    /// `f`ailed, `v`alue), for graphs drawn task by task.
    states: Option<String>,
}

#[derive(Serialize)]
struct FunctionFrame {
    name: &'static str,
    colour: &'static str,
    total: u64,
    waiting: u64,
    running: u64,
    done: u64,
    failed: u64,
    /// Of those done, read from the cache.
    cached: u64,
    /// Its tasks' priority and resources, as its first annotated task has
    /// them (`priority 10, gpu=1`).
    annotations: Option<String>,
}

thread_local! {
    /// The shard and compute this thread counted into last: the board's
    /// address, the compute's number, its state, the shard and the row.
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

struct Cached {
    board: usize,
    compute: u64,
    live: Arc<Live>,
    shard: usize,
    row: usize,
}

impl Board {
    pub(crate) fn new() -> Board {
        Board {
            origin: Instant::now(),
            live: RwLock::new(Vec::new()),
            last: Mutex::new(None),
            past: Mutex::new(VecDeque::new()),
            failures: Mutex::new(VecDeque::new()),
            logs: Mutex::new(VecDeque::new()),
            rows: Mutex::new(HashMap::new()),
            history: Mutex::new(VecDeque::new()),
            changes: AtomicU64::new(0),
        }
    }

    /// How many times a compute started or ended, or a task failed.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Whether a compute is running now.
    pub(crate) fn is_busy(&self) -> bool {
        !read(&self.live).is_empty()
    }

    /// The picture of compute `id`'s graph, while the board remembers it.
    pub(crate) fn svg(&self, id: u64) -> Option<String> {
        let found = read(&self.live).iter().find(|l| l.id == id).cloned();
        found
            .or_else(|| lock(&self.last).clone().filter(|l| l.id == id))
            .map(|live| live.svg.clone())
    }

    pub(crate) fn start(&self, compute: &ComputeStart<'_>) {
        let graph = compute.graph;
        // The only pass over the nodes themselves: the summary picture
        // shares it.
        let kinds = Kinds::of(graph.graph);
        // A row per function the user wrote: plain values and junctions
        // (`u32::MAX`) are no tasks of theirs. A function is one kind, or
        // two when some of its tasks run on workers and some here.
        let mut functions: Vec<&'static str> = Vec::new();
        let rows: Vec<u32> = kinds
            .table
            .iter()
            .map(|&(name, value, junction, ..)| {
                if value || junction {
                    return u32::MAX;
                }
                let row = functions.iter().position(|&f| f == name);
                row.unwrap_or_else(|| {
                    functions.push(name);
                    functions.len() - 1
                }) as u32
            })
            .collect();
        let mut totals = vec![0_u64; functions.len()];
        let function_of: Vec<u32> = kinds
            .of
            .iter()
            .map(|&k| {
                let row = rows[k as usize];
                if row != u32::MAX {
                    totals[row as usize] += 1;
                }
                row
            })
            .collect();
        // Read only when the graph has annotations: a second pass over
        // the nodes for them alone.
        let mut annotations: Vec<Option<String>> = vec![None; functions.len()];
        if graph.graph.has_priorities() || graph.graph.has_resources() {
            for (i, &row) in function_of.iter().enumerate() {
                if row == u32::MAX || annotations[row as usize].is_some() {
                    continue;
                }
                annotations[row as usize] = graph.graph.node(i as u32).annotations();
            }
        }
        let small = graph.len() <= DEFAULT_MAX_NODES;
        let states = small.then(|| {
            kinds
                .of
                .iter()
                .map(|&k| {
                    AtomicU8::new(if kinds.table[k as usize].1 {
                        VALUE
                    } else {
                        WAITING
                    })
                })
                .collect()
        });
        let deps = if small {
            (0..graph.len()).map(|i| graph.deps(i).to_vec()).collect()
        } else {
            Vec::new()
        };
        let live = Arc::new(Live {
            id: compute.id,
            started: compute.at,
            totals,
            function_of: function_of.into(),
            shards: (0..SHARDS).map(|_| Shard::new(functions.len())).collect(),
            functions,
            annotations,
            states,
            deps,
            starts: (0..graph.len()).map(|_| AtomicU32::new(0)).collect(),
            svg: svg_of(graph.graph, &kinds),
            ended: Mutex::new(None),
            reported: AtomicU64::new(0),
        });
        write(&self.live).push(live);
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn task_start(&self, task: &TaskStart<'_>) {
        self.with_shard(task.compute, |live, shard, _| {
            if let Some(states) = &live.states {
                states[task.index].store(RUNNING, Ordering::Relaxed);
            }
            let function = live.function_of[task.index];
            if function != u32::MAX {
                shard
                    .counter(Shard::STARTED, function as usize)
                    .fetch_add(1, Ordering::Relaxed);
                // The clock is read only for the tasks drawn on the task
                // stream: at most a frame's budget of them.
                if shard.budget.load(Ordering::Relaxed) > 0 {
                    live.starts[task.index].store(live.micros(), Ordering::Relaxed);
                }
            }
        });
    }

    pub(crate) fn task_finish(&self, task: &TaskFinish<'_>) {
        let origin = self.origin;
        self.with_shard(task.compute, |live, shard, row| {
            if let Some(states) = &live.states {
                let state = if task.ok { DONE } else { FAILED };
                states[task.index].store(state, Ordering::Relaxed);
            }
            let function = live.function_of[task.index];
            if function == u32::MAX {
                return;
            }
            let function = function as usize;
            let which = if task.ok { Shard::DONE } else { Shard::FAILED };
            // Release: a frame that sees this count sees the start's too.
            if task.cached {
                shard
                    .counter(Shard::CACHED, function)
                    .fetch_add(1, Ordering::Relaxed);
            }
            shard
                .counter(which, function)
                .fetch_add(1, Ordering::Release);
            // Most tasks of a big compute are not drawn: a load tells, and
            // only a drawn one pays for taking its start.
            if live.starts[task.index].load(Ordering::Relaxed) == 0 {
                return;
            }
            let started = live.starts[task.index].swap(0, Ordering::Relaxed);
            if started == 0 || shard.budget.load(Ordering::Relaxed) == 0 {
                return;
            }
            shard.budget.fetch_sub(1, Ordering::Relaxed);
            let offset = live.started.saturating_duration_since(origin).as_secs_f64();
            let start = f64::from(started - 1) / 1e6;
            let end = f64::from(live.micros() - 1) / 1e6;
            lock(&shard.bars).push(Bar(
                row,
                offset + start,
                (end - start).max(0.0),
                live.functions[function],
                task.ok,
            ));
        });
        if !task.logs.is_empty() {
            let logged = LoggedTask {
                compute: task.compute,
                key: task.key.to_string(),
                worker: task.worker.unwrap_or("this process").to_string(),
                lines: task.logs.iter().map(ToString::to_string).collect(),
            };
            self.remember(&self.logs, LOGGED, logged);
        }
        if let Some(error) = task.error {
            let causes = std::iter::successors(error.source(), |e| e.source())
                .map(ToString::to_string)
                .collect();
            let failure = FailedTask {
                compute: task.compute,
                key: task.key.to_string(),
                function: task.name,
                error: error.to_string(),
                causes,
            };
            self.remember(&self.failures, FAILURES, failure);
        }
    }

    /// Keeps `item` among the last `kept` of `list`, and tells the page.
    fn remember<T>(&self, list: &Mutex<VecDeque<T>>, kept: usize, item: T) {
        let mut list = lock(list);
        if list.len() == kept {
            list.pop_front();
        }
        list.push_back(item);
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn finish(&self, compute: &ComputeFinish<'_>) {
        let mut live = write(&self.live);
        let Some(at) = live.iter().position(|l| l.id == compute.id) else {
            return;
        };
        let ended = live.remove(at);
        drop(live);
        let outcome = PastCompute {
            id: compute.id,
            tasks: ended.tasks(),
            seconds: compute.elapsed.as_secs_f64(),
            ok: compute.ok,
            error: compute.error.map(ToString::to_string),
        };
        *lock(&ended.ended) = Some(outcome.clone());
        let mut past = lock(&self.past);
        if past.len() == PAST {
            past.pop_front();
        }
        past.push_back(outcome);
        drop(past);
        *lock(&self.last) = Some(ended);
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Runs `count` on this thread's shard of compute `id`, with the
    /// thread's task-stream row.
    fn with_shard(&self, id: u64, count: impl FnOnce(&Live, &Shard, usize)) {
        let board = self as *const Board as usize;
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let hit = cache
                .as_ref()
                .is_some_and(|c| c.board == board && c.compute == id);
            if !hit {
                let Some(live) = read(&self.live).iter().find(|l| l.id == id).cloned() else {
                    // The compute ended (it failed while this task ran).
                    return;
                };
                let row = self.row();
                let shard = row % SHARDS;
                *cache = Some(Cached {
                    board,
                    compute: id,
                    live,
                    shard,
                    row,
                });
            }
            let cached = cache.as_ref().expect("filled above");
            count(&cached.live, &cached.live.shards[cached.shard], cached.row);
        });
    }

    /// This thread's row in the task stream.
    fn row(&self) -> usize {
        let mut rows = lock(&self.rows);
        let next = rows.len();
        *rows.entry(std::thread::current().id()).or_insert(next)
    }

    /// The newest bars, oldest first: what a page that opens now missed.
    /// Includes the bars not yet sent in a frame, without taking them.
    pub(crate) fn history_json(&self) -> String {
        let mut bars: Vec<Bar> = lock(&self.history).iter().cloned().collect();
        let mut computes: Vec<Arc<Live>> = read(&self.live).clone();
        computes.extend(lock(&self.last).clone());
        for live in computes {
            for shard in &live.shards {
                bars.extend(lock(&shard.bars).iter().cloned());
            }
        }
        serde_json::to_string(&bars).expect("bars are plain data")
    }

    /// Takes a frame: sums every shard and drains the bars since the last.
    pub(crate) fn frame(&self) -> Frame {
        let now = self.origin.elapsed().as_secs_f64();
        let mut computes: Vec<Arc<Live>> = read(&self.live).clone();
        if computes.is_empty() {
            computes.extend(lock(&self.last).clone());
        }
        let mut bars = Vec::new();
        let mut dropped = 0;
        let computes = computes
            .iter()
            .map(|live| live.frame(&mut bars, &mut dropped))
            .collect();
        let mut history = lock(&self.history);
        history.extend(bars.iter().cloned());
        let excess = history.len().saturating_sub(HISTORY);
        history.drain(..excess);
        drop(history);
        Frame {
            now,
            computes,
            threads: lock(&self.rows).len(),
            bars,
            dropped,
            failures: lock(&self.failures).iter().cloned().collect(),
            logs: lock(&self.logs).iter().cloned().collect(),
            past: lock(&self.past).iter().rev().cloned().collect(),
        }
    }
}

impl Live {
    /// The tasks the user wrote: every function's.
    fn tasks(&self) -> usize {
        self.totals.iter().sum::<u64>() as usize
    }

    /// Now, in microseconds since the compute started, plus one; at most
    /// about 71 minutes, after which tasks are counted but not drawn.
    fn micros(&self) -> u32 {
        let micros = self.started.elapsed().as_micros();
        u32::try_from(micros + 1).unwrap_or(0)
    }

    fn frame(&self, bars: &mut Vec<Bar>, dropped: &mut u64) -> ComputeFrame {
        let n = self.functions.len();
        let (mut started, mut done, mut failed) = (vec![0; n], vec![0; n], vec![0; n]);
        let mut cached = vec![0; n];
        let mut drawn = 0;
        for shard in &self.shards {
            // Finished before started: a task counted as finished here was
            // counted as started already, so `running` is never too low.
            for f in 0..n {
                done[f] += shard.counter(Shard::DONE, f).load(Ordering::Acquire);
                failed[f] += shard.counter(Shard::FAILED, f).load(Ordering::Acquire);
                started[f] += shard.counter(Shard::STARTED, f).load(Ordering::Acquire);
                cached[f] += shard.counter(Shard::CACHED, f).load(Ordering::Relaxed);
            }
            let mut drained = lock(&shard.bars);
            drawn += drained.len() as u64;
            bars.append(&mut drained);
            shard.budget.store(BARS_PER_FRAME, Ordering::Relaxed);
        }
        let finished: u64 = done.iter().chain(&failed).sum();
        let since = finished.saturating_sub(self.reported.swap(finished, Ordering::Relaxed));
        *dropped += since.saturating_sub(drawn);
        let functions = (0..n)
            .map(|f| {
                let finished = done[f] + failed[f];
                let running = started[f].saturating_sub(finished);
                FunctionFrame {
                    name: self.functions[f],
                    colour: colour(self.functions[f]),
                    total: self.totals[f],
                    waiting: self.totals[f].saturating_sub(finished + running),
                    running,
                    done: done[f],
                    failed: failed[f],
                    cached: cached[f],
                    annotations: self.annotations[f].clone(),
                }
            })
            .collect();
        let ended = lock(&self.ended).clone();
        ComputeFrame {
            id: self.id,
            tasks: self.tasks(),
            seconds: ended
                .as_ref()
                .map_or_else(|| self.started.elapsed().as_secs_f64(), |e| e.seconds),
            running: ended.is_none(),
            ok: ended.as_ref().map(|e| e.ok),
            error: ended.and_then(|e| e.error),
            functions,
            states: self.states(),
        }
    }

    /// One letter per node; a waiting task whose inputs are all there is
    /// ready (`q`, queued).
    fn states(&self) -> Option<String> {
        let states: Vec<u8> = self
            .states
            .as_ref()?
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .collect();
        let letters = states
            .iter()
            .enumerate()
            .map(|(i, &state)| match state {
                WAITING
                    if self.deps[i]
                        .iter()
                        .all(|&d| matches!(states[d as usize], DONE | VALUE)) =>
                {
                    'q'
                }
                WAITING => 'w',
                RUNNING => 'r',
                DONE => 'd',
                FAILED => 'f',
                _ => 'v',
            })
            .collect();
        Some(letters)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{LogLevel, LogLine, TaskGraph};

    #[test]
    fn a_task_s_annotations_and_the_lines_it_logged_on_a_worker_are_shown() {
        let task = crate::value(2)
            .map(|x: i32| x + 1)
            .with_priority(5)
            .with_resources([("gpu", 1)]);
        let graph = crate::computable::graph_of(&task);
        let board = Board::new();
        board.start(&ComputeStart {
            tasks: 1,
            at: Instant::now(),
            id: 7,
            graph: TaskGraph { graph: &graph },
        });
        let lines = [LogLine {
            level: LogLevel::Info,
            target: "etl".into(),
            message: "loaded rows=3".into(),
        }];
        board.task_finish(&TaskFinish {
            key: &graph.node(1).key,
            compute: 7,
            index: 1,
            name: "map",
            thread: std::thread::current().id(),
            started: Instant::now(),
            duration: std::time::Duration::ZERO,
            ok: true,
            error: None,
            worker: Some("worker-1"),
            cached: false,
            logs: &lines,
        });
        let frame = serde_json::to_value(board.frame()).unwrap();
        let function = &frame["computes"][0]["functions"][0];
        assert_eq!(function["name"], "map");
        assert_eq!(function["annotations"], "priority 5, gpu=1");
        let logged = &frame["logs"][0];
        assert_eq!(logged["key"], graph.node(1).key.to_string());
        assert_eq!(logged["worker"], "worker-1");
        assert_eq!(logged["lines"][0], "INFO etl: loaded rows=3");
    }
}
