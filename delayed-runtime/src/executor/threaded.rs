//! The default scheduler: synchronous tasks run on the pool's
//! threads, one per CPU slot, and async tasks run as futures on the
//! client's tokio runtime.
//!
//! A [`Job`] is one compute on a [`Pool`]: its [`Run`], the queue of its
//! ready synchronous tasks, its async tasks in flight and the scheduler's
//! own reference that keeps it alive until it is over. See `README.md`
//! beside this file for the protocol and its invariants.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::admission::Admission;
use super::delivery::{Arrival, Sender, Watch};
use super::gate::Gate;
use super::ready::Ready;
use super::slots::{Parking, Seat, Slots};
use super::{ComputeOutcome, Control, Disarm, OnDone, Run, Services, Watchdog};
use crate::diagnostics::Callback;
use crate::error::{Error, Fault};
use crate::graph::Graph;
use crate::resources::Resources;
use crate::sync::{Condvar, Mutex, lock};

/// How long an idle pool thread waits for work before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, at most, the monitor looks at the running tasks' threads.
const SAMPLE_EVERY: Duration = Duration::from_millis(1);

/// How often, at most, the monitor looks whether tasks whose slot is lent
/// run again.
const RECLAIM_EVERY: Duration = Duration::from_millis(5);

/// Consecutive samples in which a task's thread is asleep before its slot
/// is lent: one sample may catch a brief wait (a page fault, a contended
/// lock) that is not worth another thread.
const BLOCKED_SAMPLES: u32 = 2;

/// Where a thread's state cannot be read: consecutive samples a task holds
/// its slot before it is assumed blocked (see `README.md`).
const STARVED_SAMPLES: u32 = 100;

/// The threads, slots and runtime of a threaded client.
pub(crate) struct Pool {
    /// The client's runtime: async tasks, and the context sync tasks see.
    pub(crate) handle: Handle,
    /// How many tasks run at once, besides those whose slot is lent.
    pub(crate) slot_count: usize,
    /// Whether blocked tasks lend their slot (the default); `threads(n)`
    /// turns it off, so that exactly `n` tasks run at once.
    pub(crate) lending: bool,
    /// The most pool threads the pool starts.
    pub(crate) max_threads: usize,
    /// The most async tasks of one compute in flight at once.
    pub(crate) max_async: usize,
    /// The client's resources, when it has any.
    gate: Option<Gate<Job>>,
    slots: Slots,
    /// Functions whose tasks block, as last seen by the monitor.
    blocking: Blocking,
    parking: Parking<PoolState>,
    /// Wakes the monitor when a compute starts or the pool closes.
    monitor_wake: Condvar,
}

struct PoolState {
    /// Computes with tasks not started yet, oldest first.
    jobs: Vec<Arc<Job>>,
    /// Pool threads alive, and how many of them have not looked for
    /// work yet.
    threads: usize,
    starting: usize,
    /// The live pool threads, for the monitor.
    members: Vec<Arc<PoolThread>>,
    /// The client is gone: idle pool threads and the monitor exit.
    closed: bool,
}

/// The settings of a pool.
pub(crate) struct Limits {
    pub(crate) slots: usize,
    pub(crate) lending: bool,
    pub(crate) max_threads: usize,
    pub(crate) max_async: usize,
    /// What the client's tasks may hold at once.
    pub(crate) resources: Resources,
}

impl Pool {
    pub(crate) fn new(handle: Handle, limits: &Limits) -> std::io::Result<Arc<Pool>> {
        let pool = Arc::new(Pool {
            handle,
            slot_count: limits.slots,
            lending: limits.lending,
            max_threads: limits.max_threads,
            max_async: limits.max_async,
            gate: (!limits.resources.is_empty()).then(|| Gate::new(limits.resources.clone())),
            slots: Slots::new(limits.slots),
            blocking: Blocking::default(),
            parking: Parking::new(PoolState {
                jobs: Vec::new(),
                threads: 0,
                starting: 0,
                members: Vec::new(),
                closed: false,
            }),
            monitor_wake: Condvar::new(),
        });
        if pool.lending {
            let watched = Arc::downgrade(&pool);
            std::thread::Builder::new()
                .name("delayed-monitor".into())
                .spawn(move || monitor(&watched))?;
        }
        Ok(pool)
    }

    /// Stops the pool's threads once they have no work: the client is gone.
    pub(crate) fn close(&self) {
        self.parking.lock().closed = true;
        self.parking.wake_all();
        self.monitor_wake.notify_all();
    }

    /// Call after queuing tasks: wakes or starts a pool thread if a slot is free.
    fn work_queued(self: &Arc<Pool>) {
        if self.slots.any_free() && !self.parking.wake_one() {
            self.start_thread();
        }
    }

    /// Starts a pool thread, unless one is starting already (it will
    /// wake the next if there is more work) or the ceiling is reached.
    fn start_thread(self: &Arc<Pool>) {
        let mut state = self.parking.lock();
        if state.closed || state.starting > 0 || state.threads >= self.max_threads {
            return;
        }
        state.threads += 1;
        state.starting += 1;
        let pool = self.clone();
        let started = std::thread::Builder::new()
            .name("delayed-pool".into())
            .spawn(move || work(pool));
        if let Err(error) = started {
            state.threads -= 1;
            state.starting -= 1;
            // With no thread at all, nothing would ever run the queued
            // tasks: fail their computes rather than let them wait.
            if state.threads == 0 {
                let jobs = std::mem::take(&mut state.jobs);
                drop(state);
                let message = error.to_string();
                for job in jobs {
                    job.fail(Error::start(std::io::Error::new(
                        error.kind(),
                        message.clone(),
                    )));
                }
            }
        }
    }

    /// Claims a queued task of any compute, oldest compute first, and
    /// wakes another pool thread if more are queued and a slot is free.
    ///
    /// With none queued, it takes the tasks other pool threads took to run
    /// next back to their queues (see [`Share`]), and claims one of those.
    fn find_task(self: &Arc<Pool>) -> Option<(Arc<Job>, u32)> {
        let state = self.parking.lock();
        let queued = |state: &PoolState| {
            state.jobs.iter().find_map(|job| {
                let mut queue = lock(&job.queue);
                let task = queue.pop()?;
                Some(((job.clone(), task), !queue.is_empty()))
            })
        };
        let mut shares = Vec::new();
        let found = queued(&state).or_else(|| {
            shares.extend(
                state
                    .members
                    .iter()
                    .filter_map(|member| member.take_share()),
            );
            for (job, tasks) in &mut shares {
                job.requeue(std::mem::take(tasks));
            }
            queued(&state)
        });
        drop(state);
        // Their computes may end with these references: not under the lock.
        drop(shares);
        let (found, more) = found?;
        if more && self.slots.any_free() {
            self.work_queued();
        }
        Some(found)
    }

    fn has_work(&self, state: &PoolState) -> bool {
        self.slots.any_free()
            && (state.jobs.iter().any(|job| job.has_queued())
                || state.members.iter().any(|member| member.has_share()))
    }
}

/// One pool thread: its seat, its thread id and the function it runs, for
/// the monitor.
pub(crate) struct PoolThread {
    seat: Seat,
    thread: Option<u32>,
    /// The name of the function of the task running, by address; 0
    /// between tasks.
    function: AtomicUsize,
    /// Consecutive samples in which the monitor saw this pool thread's task
    /// asleep; the monitor alone reads and writes it.
    asleep_samples: MonitorCount,
    /// Queued tasks it took to run next.
    share: Mutex<Share>,
}

impl PoolThread {
    /// Its task's call has returned: what it waits on until the next one
    /// starts is the scheduler's, not a task's.
    fn between_tasks(&self) {
        self.function.store(0, Ordering::Relaxed);
    }
}

/// A count only the monitor thread uses, kept with the pool thread it is about.
#[derive(Default)]
struct MonitorCount(std::sync::atomic::AtomicU32);

impl MonitorCount {
    fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, count: u32) {
        self.0.store(count, Ordering::Relaxed);
    }
}

/// The functions whose tasks were last seen blocked, by the address of
/// their name: a small direct-mapped table that only the monitor writes.
/// A task of such a function lends its slot as it starts, so that a fan of
/// blocking calls starts as fast as threads do rather than one slot per
/// detection; if it computes instead, the monitor takes the slot back and
/// forgets the function.
struct Blocking([AtomicUsize; 64]);

impl Default for Blocking {
    fn default() -> Blocking {
        Blocking(std::array::from_fn(|_| AtomicUsize::new(0)))
    }
}

impl Blocking {
    fn entry(&self, function: usize) -> &AtomicUsize {
        let hash = function.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
        &self.0[hash >> (usize::BITS - 6)]
    }

    fn contains(&self, function: usize) -> bool {
        function != 0 && self.entry(function).load(Ordering::Relaxed) == function
    }

    fn insert(&self, function: usize) {
        if function != 0 {
            self.entry(function).store(function, Ordering::Relaxed);
        }
    }

    fn remove(&self, function: usize) {
        let _ = self.entry(function).compare_exchange(
            function,
            0,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

thread_local! {
    /// The pool this thread works for, and its seat.
    static CURRENT: RefCell<Option<(usize, Arc<PoolThread>)>> = const { RefCell::new(None) };
    /// Whether this thread belongs to a client's tokio runtime.
    static RUNTIME_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn address(pool: &Pool) -> usize {
    std::ptr::from_ref(pool).addr()
}

/// This thread's seat, if it is a pool thread of `pool` running a task.
fn current_pool_thread(pool: &Pool) -> Option<Arc<PoolThread>> {
    CURRENT.with_borrow(|current| {
        current
            .as_ref()
            .filter(|(owner, member)| *owner == address(pool) && member.seat.is_busy())
            .map(|(_, member)| member.clone())
    })
}

/// Marks the calling thread as one of a client's runtime threads; called
/// by the runtime as each thread starts.
pub(crate) fn runtime_thread_started() {
    RUNTIME_THREAD.set(true);
}

/// A pool thread: takes a slot and a task, runs the task and the chain
/// behind it, gives the slot back; sleeps when there is nothing to do and
/// exits after [`IDLE_TIMEOUT`] idle or when the client is gone.
fn work(pool: Arc<Pool>) {
    let me = Arc::new(PoolThread {
        seat: Seat::new(),
        thread: thread_id(),
        function: AtomicUsize::new(0),
        asleep_samples: MonitorCount::default(),
        share: Mutex::default(),
    });
    {
        let mut state = pool.parking.lock();
        state.starting -= 1;
        state.members.push(me.clone());
    }
    let _exit = Exit {
        pool: &pool,
        me: &me,
    };
    // Synchronous tasks may use tokio (spawn, `Handle::current`).
    let _runtime = pool.handle.enter();
    CURRENT.set(Some((address(&pool), me.clone())));
    while let Some((job, task)) = claim(&pool, &me) {
        job.run_tasks(task, &me);
        drop(job);
        if me.seat.release(&pool.slots) {
            pool.work_queued();
        }
    }
}

/// Takes a slot and a queued task, sleeping until both are there; `None`
/// when the pool thread should exit.
fn claim(pool: &Arc<Pool>, me: &PoolThread) -> Option<(Arc<Job>, u32)> {
    loop {
        if pool.slots.try_take() {
            me.seat.hold();
            if let Some(found) = pool.find_task() {
                return Some(found);
            }
            me.seat.release(&pool.slots);
        }
        let woke = pool.parking.park(
            Some(IDLE_TIMEOUT),
            |state| pool.has_work(state),
            |state, timed_out| state.closed || timed_out,
        );
        drop(woke?);
    }
}

/// Unregisters a pool thread as its thread ends, also by a panic of ours.
struct Exit<'a> {
    pool: &'a Arc<Pool>,
    me: &'a Arc<PoolThread>,
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        CURRENT.set(None);
        // Normally empty: run_tasks puts its share back, unless a panic
        // of ours ended it.
        self.me.put_back_share();
        let gave = self.me.seat.release(&self.pool.slots);
        let mut state = self.pool.parking.lock();
        state.threads -= 1;
        state.members.retain(|member| !Arc::ptr_eq(member, self.me));
        drop(state);
        if gave {
            self.pool.work_queued();
        }
    }
}

/// One compute on a pool.
pub(crate) struct Job {
    pub(crate) run: Run,
    pool: Arc<Pool>,
    /// Ready synchronous tasks no pool thread has claimed yet.
    queue: Mutex<Ready>,
    asyncs: Mutex<AsyncTasks>,
    /// The thread that waits for this compute and helps run it, woken when
    /// a task is queued.
    helper: Mutex<Option<Thread>>,
    /// The scheduler's own reference, from start until the job is over:
    /// the job is dropped, and its outputs delivered, as soon as the last
    /// task is done, whatever else holds a weak reference.
    keeper: Mutex<Option<Arc<Job>>>,
}

struct AsyncTasks {
    in_flight: usize,
    /// Ready async tasks waiting for one in flight to finish.
    waiting: Ready,
    /// When the compute has many root tasks: which of them start when
    /// (`admission.rs`).
    admission: Option<Admission>,
}

impl AsyncTasks {
    /// Takes a place in flight for `task`, or queues it for the next free
    /// one: whether it starts now.
    fn take_place(&mut self, task: u32, priority: i32, max_async: usize) -> bool {
        if self.in_flight >= max_async {
            self.waiting.push(task, priority);
            return false;
        }
        self.in_flight += 1;
        true
    }
}

/// Starts a compute of `graph` on `pool`, with the client's `services`;
/// `done` gets the outcome.
pub(crate) fn start(
    pool: &Arc<Pool>,
    graph: Graph,
    callbacks: Option<Arc<[Arc<dyn Callback>]>>,
    done: OnDone,
    control: Option<Arc<Control>>,
    services: &Services,
) -> Arc<Job> {
    let run = Run::new(graph, done, callbacks, control, services);
    let ranked = run.graph.has_priorities();
    let job = Arc::new(Job {
        run,
        pool: pool.clone(),
        queue: Mutex::new(Ready::new(ranked)),
        asyncs: Mutex::new(AsyncTasks {
            in_flight: 0,
            waiting: Ready::new(ranked),
            admission: None,
        }),
        helper: Mutex::new(None),
        keeper: Mutex::new(None),
    });
    let mut ready = job.run.start();
    if ready.is_empty() {
        // Nothing to run, or a callback failed the compute already.
        return job;
    }
    lock(&job.asyncs).admission = Admission::new(&job.run, &ready, pool.slot_count, pool.max_async);
    *lock(&job.keeper) = Some(job.clone());
    pool.parking.lock().jobs.push(job.clone());
    pool.monitor_wake.notify_one();
    // The first tasks go to the queue for the pool threads, none kept here.
    job.dispatch(&mut ready, false);
    job
}

impl Job {
    fn pop(&self) -> Option<u32> {
        lock(&self.queue).pop()
    }

    fn has_queued(&self) -> bool {
        !lock(&self.queue).is_empty()
    }

    /// Ends the job: no pool thread looks for its tasks any more, and the
    /// scheduler lets go of it.
    fn end(&self) {
        self.pool
            .parking
            .lock()
            .jobs
            .retain(|job| !std::ptr::eq(&**job, self));
        let keeper = lock(&self.keeper).take();
        drop(keeper);
    }

    /// Cancels the compute: no task starts after this, and whoever waits
    /// for it gets [`Error::cancelled`].
    pub(crate) fn cancel(&self) {
        self.fail(Error::cancelled());
    }

    fn fail(&self, error: Error) {
        self.run.stop();
        self.run.deliver(Err(error));
        self.end();
    }

    /// Sends the tasks a finished task made ready on their way: async ones
    /// are spawned, synchronous ones queued, except one kept to run next
    /// on this thread when `keep` is set (a chain costs no hand-off).
    fn dispatch(self: &Arc<Job>, ready: &mut Vec<u32>, keep: bool) -> Option<u32> {
        if ready.is_empty() {
            return None;
        }
        let graph = &self.run.graph;
        let ranked = graph.has_priorities();
        // The common case of a chain: one synchronous successor, run next
        // (with priorities, unless a queued task comes before it).
        if keep && ready.len() == 1 && self.run.is_sync(ready[0]) {
            let first = !ranked
                || lock(&self.queue)
                    .top_priority()
                    .is_none_or(|top| top <= graph.priority(ready[0]));
            if first {
                return ready.pop().filter(|_| !self.run.is_stopped());
            }
        }
        if self.run.is_stopped() {
            ready.clear();
            return None;
        }
        if ranked {
            // Sent to workers and spawned highest first.
            ready.sort_by_key(|&task| std::cmp::Reverse(graph.priority(task)));
        }
        ready.retain(|&task| {
            let sync = self.run.is_sync(task);
            if !sync {
                self.spawn_async(task);
            }
            sync
        });
        if !ranked {
            let next = if keep { ready.pop() } else { None };
            if !ready.is_empty() {
                lock(&self.queue).extend(ready, |_| 0);
                self.queued();
            }
            return next;
        }
        if ready.is_empty() {
            return None;
        }
        // With priorities, the thread goes on with the first of the queue.
        let mut queue = lock(&self.queue);
        queue.extend(ready, |task| graph.priority(task));
        let next = if keep { queue.pop() } else { None };
        let more = !queue.is_empty();
        drop(queue);
        if more {
            self.queued();
        }
        next
    }

    /// Takes the resources task `task` needs to run here, if it needs
    /// any. When they are held by others it waits for them, holding
    /// nothing, and is sent back to this compute when they are given back:
    /// false then, and the caller runs something else.
    fn hold(self: &Arc<Job>, task: u32) -> bool {
        match (self.run.resources_here(task), &self.pool.gate) {
            (Some(needs), Some(gate)) => {
                let priority = self.run.graph.priority(task);
                gate.take(needs, Arc::downgrade(self), task, priority)
            }
            _ => true,
        }
    }

    /// Gives back the resources task `task` held, and sends the tasks
    /// waiting for them that now fit back to their computes.
    fn give_back(&self, task: u32) {
        let (Some(held), Some(gate)) = (self.run.resources_here(task), &self.pool.gate) else {
            return;
        };
        for (job, task) in gate.give_back(held) {
            if let Some(job) = job.upgrade() {
                job.dispatch(&mut vec![task], false);
            }
        }
    }

    /// Tells whoever may run a queued task that there is one.
    fn queued(&self) {
        self.pool.work_queued();
        if let Some(helper) = &*lock(&self.helper) {
            helper.unpark();
        }
    }

    /// Claims the next queued task for a pool thread that just finished one,
    /// waking another pool thread if more are queued and a slot is free.
    ///
    /// After a fast task it also takes a share of a long queue for `me`
    /// (see [`Share`]).
    fn pop_next(self: &Arc<Job>, me: &PoolThread, share: bool) -> Option<u32> {
        let mut queue = lock(&self.queue);
        let next = queue.pop();
        let mut taken = Vec::new();
        if share && let Ready::Fifo(fifo) = &mut *queue {
            let size = (fifo.len() / (2 * self.pool.slot_count)).min(Share::MOST);
            taken.extend(fifo.drain(..size));
        }
        let more = !queue.is_empty() || !taken.is_empty();
        drop(queue);
        if !taken.is_empty() {
            me.keep_share(self, taken);
        }
        if more && self.pool.slots.any_free() {
            self.pool.work_queued();
        }
        next
    }

    /// Puts `tasks`, taken from this job's queue and not started, back in
    /// front of it, in their order. (A share is never taken in a compute
    /// with priorities, so each one's is 0.)
    fn requeue(&self, tasks: VecDeque<u32>) {
        let mut queue = lock(&self.queue);
        for task in tasks.into_iter().rev() {
            queue.push_front(task, 0);
        }
    }

    /// Runs synchronous task `task` on this pool thread, then the tasks it makes
    /// ready and the queued ones, while the pool thread may go on.
    fn run_tasks(self: &Arc<Job>, mut task: u32, me: &PoolThread) {
        let unfinished = Unfinished::new(&**self, task);
        let mut ready = Vec::new();
        // A task of another compute running here waits for this one (a
        // nested compute): its share goes back for other pool threads.
        me.put_back_share();
        let mut pace = Pace::new(&self.run.graph);
        // Tasks finished here and not yet counted as done.
        let mut finished = 0;
        loop {
            if self.run.is_stopped() {
                break;
            }
            if !self.hold(task) {
                // It waits for its resources: on with another.
                match self.pop_next(me, false) {
                    Some(next) => {
                        task = next;
                        continue;
                    }
                    None => break,
                }
            }
            unfinished.task.set(Some(task));
            self.starting(task, me);
            let outcome = self.run.run_sync(task, self);
            me.between_tasks();
            self.give_back(task);
            let succeeded = self.run.finish(task, outcome, &mut ready);
            unfinished.task.set(None);
            if !succeeded {
                self.end();
                break;
            }
            finished += 1;
            // Counted in batches: the count is shared by every thread, and
            // the progress of a compute is read from it.
            if (finished == 256 || self.run.is_watched())
                && self.run.complete(std::mem::take(&mut finished))
            {
                self.end();
            }
            pace.finished();
            let next = match self.dispatch(&mut ready, true) {
                Some(next) => Some(pace.untimed(next)),
                None => pace.timed(
                    me.next_shared()
                        .or_else(|| self.pop_next(me, pace.takes_share())),
                ),
            };
            let Some(next) = next else {
                break;
            };
            if !me.seat.go_on(&self.pool.slots) {
                // No slot for it now: back to the front of the queue.
                me.put_back_share();
                let priority = self.run.graph.priority(next);
                lock(&self.queue).push_front(next, priority);
                self.queued();
                break;
            }
            task = next;
        }
        me.put_back_share();
        unfinished.task.set(None);
        if self.run.complete(finished) {
            self.end();
        }
    }

    /// Tells the monitor which function `me` runs now; lends the slot at
    /// once if that function's tasks block.
    fn starting(&self, task: u32, me: &PoolThread) {
        let pool = &self.pool;
        let function = self.run.graph.node(task).key.name().as_ptr().addr();
        me.function.store(function, Ordering::Relaxed);
        if pool.lending && pool.blocking.contains(function) && me.seat.lend(&pool.slots) {
            pool.work_queued();
        }
    }

    /// Spawns async task `task` on the runtime, or queues it behind the
    /// compute's bound on async tasks in flight; a root task waits for
    /// its admission first.
    fn spawn_async(self: &Arc<Job>, task: u32) {
        let start = {
            let mut asyncs = lock(&self.asyncs);
            let priority = self.run.graph.priority(task);
            let held = match &mut asyncs.admission {
                Some(admission) if admission.paces(&self.run, task) => {
                    !admission.admit(task, priority, self.queued_len())
                }
                _ => false,
            };
            !held && asyncs.take_place(task, priority, self.pool.max_async)
        };
        if start {
            self.spawn_future(task);
        }
    }

    /// Async task `task` is done: if it was a root waiting for its
    /// admission, the roots admitted now start.
    fn admission_done(self: &Arc<Job>, task: u32) {
        let mut asyncs = lock(&self.asyncs);
        let admitted = match &mut asyncs.admission {
            Some(admission) if admission.paces(&self.run, task) => {
                let admitted = admission.done(self.queued_len());
                if admission.is_open() {
                    // Every root held starts now, and later ones at once:
                    // no async task of this compute is looked at again.
                    asyncs.admission = None;
                }
                admitted
            }
            _ => return,
        };
        let graph = &self.run.graph;
        let start: Vec<u32> = admitted
            .into_iter()
            .filter(|&root| asyncs.take_place(root, graph.priority(root), self.pool.max_async))
            .collect();
        drop(asyncs);
        for root in start {
            self.spawn_future(root);
        }
    }

    /// Runs async task `task`, and the async tasks waiting after it, in a
    /// future on the runtime.
    fn spawn_future(self: &Arc<Job>, task: u32) {
        // Owned by the future, so that a runtime that drops it unpolled
        // (a shutdown) still fails the compute.
        let unfinished = Unfinished::new(self.clone(), task);
        drop(self.pool.handle.spawn(run_async_tasks(unfinished)));
    }

    /// How many synchronous tasks wait for a slot.
    fn queued_len(&self) -> usize {
        lock(&self.queue).len()
    }
}

impl Watchdog for Arc<Job> {
    /// A timer on the client's runtime that fails the compute if the
    /// attempt has not returned when the time is up.
    fn arm(&self, task: u32, timeout: Duration) -> Option<Disarm> {
        let returned = Arc::new(AtomicBool::new(false));
        let watched = returned.clone();
        let job = Arc::downgrade(self);
        drop(self.pool.handle.spawn(async move {
            tokio::time::sleep(timeout).await;
            if watched.load(Ordering::Acquire) {
                return;
            }
            if let Some(job) = job.upgrade() {
                let key = job.run.graph.node(task).key.clone();
                job.fail(Error::task(key, Fault::Timeout(timeout).into()));
            }
        }));
        Some(Disarm(returned))
    }
}

/// Runs an async task, then the compute's async tasks waiting for a place
/// in flight, one after another.
async fn run_async_tasks(unfinished: Unfinished<Arc<Job>>) {
    let job = unfinished.job.clone();
    let mut ready = Vec::new();
    while let Some(task) = unfinished.task.get() {
        if job.run.is_stopped() {
            break;
        }
        // One that waits for its resources gives its place in flight to
        // the next.
        if job.hold(task) {
            let outcome = job.run.run_async(task).await;
            job.give_back(task);
            let succeeded = job.run.finish(task, outcome, &mut ready);
            unfinished.task.set(None);
            if !succeeded || job.run.complete(1) {
                job.end();
            }
            job.dispatch(&mut ready, false);
            job.admission_done(task);
        } else {
            unfinished.task.set(None);
        }
        let mut asyncs = lock(&job.asyncs);
        match asyncs.waiting.pop() {
            Some(next) => unfinished.task.set(Some(next)),
            None => asyncs.in_flight -= 1,
        }
    }
    unfinished.task.set(None);
}

/// The queued tasks one pool thread took at once, to run one after the
/// other without the queue's lock: a wide fan of tiny tasks would
/// otherwise pass that lock between the pool threads for each task, which
/// costs more than such a task (at 10^7 tasks, `pop_next` was the largest
/// item of a compute's profile).
///
/// A share is taken only right after a task that ran fast ([`Pace`]), and
/// run in order, so that tasks that feed each other (the two inputs of a
/// reduction's step) stay on one pool thread. While a task runs, a pool
/// thread that finds no queued task takes the share of the running one
/// back to the queue and runs it ([`Pool::find_task`]): tasks taken by a
/// pool thread never wait for its task while another pool thread is
/// idle.
#[derive(Default)]
struct Share {
    /// The compute the tasks are of; `None` when there are none.
    job: Option<Arc<Job>>,
    tasks: VecDeque<u32>,
}

impl Share {
    /// The most tasks taken at once, besides the one to run next.
    const MOST: usize = 31;
}

impl PoolThread {
    /// Keeps `tasks` of `job` to run next.
    fn keep_share(&self, job: &Arc<Job>, tasks: Vec<u32>) {
        let mut share = lock(&self.share);
        share.job.get_or_insert_with(|| job.clone());
        share.tasks.extend(tasks);
    }

    /// The next task of this pool thread's share, if any.
    fn next_shared(&self) -> Option<u32> {
        let mut share = lock(&self.share);
        let next = share.tasks.pop_front();
        if share.tasks.is_empty() {
            // The pool thread runs a task of the job: not its last reference.
            share.job = None;
        }
        next
    }

    /// Whether it holds tasks it took and has not started.
    fn has_share(&self) -> bool {
        !lock(&self.share).tasks.is_empty()
    }

    /// Takes its share away: the tasks and their compute.
    fn take_share(&self) -> Option<(Arc<Job>, VecDeque<u32>)> {
        let mut share = lock(&self.share);
        let job = share.job.take()?;
        Some((job, std::mem::take(&mut share.tasks)))
    }

    /// Puts its share back in front of its compute's queue, for any pool
    /// thread to run.
    fn put_back_share(&self) {
        if let Some((job, tasks)) = self.take_share() {
            job.requeue(tasks);
            job.queued();
        }
    }
}

/// Whether a pool thread's tasks run fast enough to take a share of the
/// queue ([`Share`]): tasks taken from the queue are timed, a chain's next
/// link (made ready here) is not.
struct Pace {
    /// Whether this compute's queue is shared out at all: not with
    /// priorities (each task is taken in its turn) or resources (a task
    /// that waits for them is put aside).
    shares: bool,
    /// Whether the last task timed ran fast.
    fast: bool,
    /// When the task running now was taken; `None` when it is not timed.
    started: Option<Instant>,
    /// When the last timed task finished: the next one starts then.
    finished: Option<Instant>,
}

impl Pace {
    /// A task quicker than this lets its pool thread take a share.
    const FAST: Duration = Duration::from_micros(50);

    fn new(graph: &Graph) -> Pace {
        Pace {
            shares: !graph.has_priorities() && !graph.has_resources(),
            fast: false,
            started: None,
            finished: None,
        }
    }

    /// Times the task that just finished, if it is timed.
    fn finished(&mut self) {
        if let Some(started) = self.started.take() {
            let now = Instant::now();
            self.fast = now.duration_since(started) < Pace::FAST;
            self.finished = Some(now);
        }
    }

    /// Whether to take a share of the queue with the next task.
    fn takes_share(&self) -> bool {
        self.shares && self.fast
    }

    /// `next`, a task made ready here: not timed.
    fn untimed(&mut self, next: u32) -> u32 {
        self.finished = None;
        next
    }

    /// `next`, taken from the queue or the share: timed.
    fn timed(&mut self, next: Option<u32>) -> Option<u32> {
        if self.shares && next.is_some() {
            self.started = Some(self.finished.take().unwrap_or_else(Instant::now));
        }
        next
    }
}

/// Fails the compute if the task it names is never finished: the runtime
/// dropped its future at shutdown, or a bug of ours panicked outside the
/// task's own `catch_unwind`. Without it the caller would wait forever.
struct Unfinished<J: Deref<Target = Job>> {
    job: J,
    task: Cell<Option<u32>>,
}

impl<J: Deref<Target = Job>> Unfinished<J> {
    fn new(job: J, task: u32) -> Unfinished<J> {
        Unfinished {
            job,
            task: Cell::new(Some(task)),
        }
    }
}

impl<J: Deref<Target = Job>> Drop for Unfinished<J> {
    fn drop(&mut self) {
        if self.task.get().is_some() {
            self.job.fail(Error::stopped());
        }
    }
}

/// Computes `graph` on `pool`, blocking the calling thread until done.
///
/// A pool thread of this pool that calls it from inside a task helps: it runs
/// the compute's tasks itself while it waits, so nesting costs no thread
/// and cannot deadlock. Any other thread just waits; on a client runtime's
/// own thread it first lets tokio move its other work elsewhere.
pub(crate) fn compute(
    pool: &Arc<Pool>,
    graph: Graph,
    callbacks: Option<Arc<[Arc<dyn Callback>]>>,
    control: Option<Arc<Control>>,
    services: &Services,
) -> ComputeOutcome {
    let watch = Arc::new(Watch::default());
    let sender = Sender(watch.clone());
    let done: OnDone = Box::new(move |result| sender.send(result));
    let job = Arc::downgrade(&start(pool, graph, callbacks, done, control, services));
    wait(pool, &job, || match watch.take(None) {
        Arrival::Here(outcome) => Some(outcome),
        Arrival::Taken => Some(Err(Error::taken())),
        Arrival::NotYet => None,
    })
}

/// Blocks until `outcome` has it, helping with `job` if this thread is a
/// pool thread of `pool` running a task; whoever delivers unparks this thread.
pub(crate) fn wait<T>(pool: &Pool, job: &Weak<Job>, mut outcome: impl FnMut() -> Option<T>) -> T {
    if let Some(me) = current_pool_thread(pool) {
        return help(pool, job, outcome, &me);
    }
    let mut parked = move || loop {
        if let Some(outcome) = outcome() {
            return outcome;
        }
        std::thread::park();
    };
    // On a runtime thread of one of our clients, blocking without telling
    // tokio could stall the async tasks this compute needs.
    if RUNTIME_THREAD.get() {
        tokio::task::block_in_place(parked)
    } else {
        parked()
    }
}

/// Waits for `job` on a pool thread that runs one of the pool's tasks: runs the
/// job's queued tasks itself, and lends its slot while there are none.
fn help<T>(
    pool: &Pool,
    job: &Weak<Job>,
    mut outcome: impl FnMut() -> Option<T>,
    me: &PoolThread,
) -> T {
    if let Some(job) = job.upgrade() {
        *lock(&job.helper) = Some(std::thread::current());
    }
    loop {
        if let Some(outcome) = outcome() {
            // The waiting task goes on: it needs its slot back.
            me.seat.rejoin(&pool.slots);
            return outcome;
        }
        if let Some(job) = job.upgrade()
            && let Some(task) = job.pop()
        {
            if me.seat.go_on(&pool.slots) {
                job.run_tasks(task, me);
                continue;
            }
            let priority = job.run.graph.priority(task);
            lock(&job.queue).push_front(task, priority);
            job.queued();
        }
        // Blocked until the job queues a task or ends: like any blocked
        // task, lend the slot meanwhile.
        if pool.lending
            && me.seat.lend(&pool.slots)
            && let Some(job) = job.upgrade()
        {
            job.pool.work_queued();
        }
        std::thread::park();
    }
}

/// What the monitor makes of one sample of a busy pool thread, `asleep`
/// as the kernel says (`None` where it does not): lends its slot once its
/// task was seen asleep in enough consecutive samples, takes it back once
/// the task runs again.
fn sample(pool: &Arc<Pool>, member: &PoolThread, asleep: Option<bool>) {
    let lent = member.seat.is_lent();
    let (asleep, needed) = match asleep {
        Some(asleep) => (asleep, BLOCKED_SAMPLES),
        // Cannot tell: a task that keeps its slot for long is
        // assumed blocked, and keeps the lent slot until it ends.
        None => (!lent, STARVED_SAMPLES),
    };
    let function = member.function.load(Ordering::Relaxed);
    if asleep && function == 0 {
        // Waiting on the scheduler's own bookkeeping between two tasks
        // (a lock another pool thread holds), not blocked in a task: a
        // pool busy with tiny tasks would otherwise lend its slots over
        // and over, one more thread each time.
        member.asleep_samples.set(0);
        return;
    }
    if !asleep {
        member.asleep_samples.set(0);
        if member.thread.is_some() && member.seat.reclaim(&pool.slots) {
            pool.blocking.remove(function);
        }
        return;
    }
    let count = member.asleep_samples.get() + 1;
    member.asleep_samples.set(count);
    if count >= needed && member.seat.lend(&pool.slots) {
        pool.blocking.insert(function);
        pool.work_queued();
    }
}

/// This thread's kernel id, where the kernel says (Linux).
fn thread_id() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Whether thread `id` of this process is asleep (waiting for a timer,
/// I/O, a lock or a child) rather than running or ready to run; `None`
/// where the kernel does not say.
fn is_asleep(id: u32) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{id}/stat")).ok()?;
    // The state follows the command name, which may itself hold `)`.
    let state = stat[stat.rfind(')')? + 1..].trim_start().chars().next()?;
    Some(matches!(state, 'S' | 'D'))
}

/// Watches the threads of running tasks and lends the slot of each task
/// that is blocked, taking it back when the task runs again (Go's sysmon
/// retaking a processor from a thread stuck in a system call). Sleeps
/// while the pool has no compute; exits when the client is gone.
fn monitor(pool: &Weak<Pool>) {
    let mut last_reclaim_sweep = Instant::now();
    loop {
        let Some(pool) = pool.upgrade() else {
            return;
        };
        let members = {
            let mut state = pool.parking.lock();
            while state.jobs.is_empty() && !state.closed {
                state = pool
                    .monitor_wake
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if state.closed {
                return;
            }
            state.members.clone()
        };
        let sweep = Instant::now();
        // Slots held by running tasks are looked at every sweep; lent ones,
        // possibly hundreds of sleeping tasks, less often.
        let reclaim = sweep.duration_since(last_reclaim_sweep) >= RECLAIM_EVERY;
        if reclaim {
            last_reclaim_sweep = sweep;
        }
        for member in &members {
            let lent = member.seat.is_lent();
            if !member.seat.is_busy() || (lent && !reclaim) {
                continue;
            }
            sample(&pool, member, member.thread.and_then(is_asleep));
        }
        // Reading the kernel's view costs; keep it to a fifth of a core.
        let interval = SAMPLE_EVERY.max(sweep.elapsed() * 4);
        drop(pool);
        std::thread::sleep(interval);
    }
}

#[cfg(all(test, not(delayed_loom)))]
mod tests {
    use super::*;

    fn pool() -> (tokio::runtime::Runtime, Arc<Pool>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let limits = Limits {
            slots: 1,
            lending: false,
            max_threads: 4,
            max_async: 1,
            resources: Resources::default(),
        };
        let pool = Pool::new(runtime.handle().clone(), &limits).unwrap();
        (runtime, pool)
    }

    fn busy_member(pool: &Pool) -> PoolThread {
        let member = PoolThread {
            seat: Seat::new(),
            thread: Some(0),
            function: AtomicUsize::new(0),
            asleep_samples: MonitorCount::default(),
            share: Mutex::default(),
        };
        assert!(pool.slots.try_take());
        member.seat.hold();
        member
    }

    #[test]
    fn a_pool_thread_asleep_between_tasks_keeps_its_slot() {
        let (_runtime, pool) = pool();
        let member = busy_member(&pool);
        // Between two tasks: asleep on a lock of the scheduler's own.
        for _ in 0..5 {
            sample(&pool, &member, Some(true));
        }
        assert!(
            !member.seat.is_lent(),
            "waiting between tasks is not blocking"
        );
        // In a task's call: two samples asleep lend the slot.
        let function = 0x1000;
        member.function.store(function, Ordering::Relaxed);
        sample(&pool, &member, Some(true));
        assert!(!member.seat.is_lent(), "one sample is not enough");
        sample(&pool, &member, Some(true));
        assert!(member.seat.is_lent(), "asleep in its task twice: lent");
        assert!(pool.blocking.contains(function));
        // Seen running again: the slot comes back, the function is forgotten.
        sample(&pool, &member, Some(false));
        assert!(!member.seat.is_lent());
        assert!(!pool.blocking.contains(function));
        pool.close();
    }
}
