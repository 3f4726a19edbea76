//! The default scheduler: tasks run in parallel on a tokio multi-threaded
//! runtime, at most `threads` at once.
//!
//! Ready tasks wait in the run's queue; a bounded number of drivers (tokio
//! tasks) claim them. A driver runs consecutive synchronous tasks inside a
//! single `block_in_place`, so that blocking bodies never starve the
//! runtime while trivial ones do not pay a hand-off each.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::Run;
use crate::error::Error;
use crate::node::Body;

/// The runtime tasks are spawned on and the bound on how many run at once.
pub(crate) struct Pool {
    pub(crate) handle: Handle,
    permits: Semaphore,
    /// How many tasks may run at once: the semaphore's size.
    pub(crate) threads: usize,
}

impl Pool {
    pub(crate) fn new(handle: Handle, threads: usize) -> Pool {
        Pool {
            handle,
            permits: Semaphore::new(threads),
            threads,
        }
    }
}

/// Starts `run`: queues the tasks with no unmet dependency and spawns
/// drivers for them.
pub(crate) fn spawn(run: &Arc<Run>, pool: &Arc<Pool>) {
    *super::lock(&run.keeper) = Some(run.clone());
    let ready = run.start();
    if ready.is_empty() {
        return;
    }
    let queued = run.push_ready(ready);
    wake(run, pool, queued);
}

/// Spawns drivers for `queued` waiting tasks, up to the pool's bound.
fn wake(run: &Arc<Run>, pool: &Arc<Pool>, queued: usize) {
    for _ in 0..queued {
        // Claim a driver's place before spawning it.
        let claimed = run
            .drivers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |active| {
                (active < pool.threads).then_some(active + 1)
            });
        if claimed.is_err() {
            return;
        }
        pool.handle.spawn(drive(Arc::downgrade(run), pool.clone()));
    }
}

/// Retires a driver that found the queue empty. Returns whether it should
/// go on after all: a task queued between its last look and its
/// retirement would otherwise wait for a driver that never comes.
fn retire(run: &Run, pool: &Pool) -> bool {
    run.drivers.fetch_sub(1, Ordering::SeqCst);
    // Either this sees a task queued before the decrement, or the one who
    // queued it sees the decrement and spawns a driver.
    if !run.has_queued() {
        return false;
    }
    run.drivers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |active| {
            (active < pool.threads).then_some(active + 1)
        })
        .is_ok()
}

/// Claims queued tasks and runs them, keeping on the same thread with one
/// of the tasks each finished task makes ready (a chain costs no hand-off
/// per link), until the queue is empty.
async fn drive(run: Weak<Run>, pool: Arc<Pool>) {
    // The semaphore is never closed, so acquiring only waits.
    let Ok(_permit) = pool.permits.acquire().await else {
        return;
    };
    // While waiting, the run may have completed or stopped and gone.
    let Some(run) = run.upgrade() else {
        return;
    };
    let unfinished = Unfinished {
        run: &run,
        task: Cell::new(None),
    };
    let mut ready = Vec::new();
    loop {
        let mut next = run.pop_ready();
        while let Some(task) = next {
            unfinished.task.set(Some(task));
            if run.is_stopped() {
                unfinished.task.set(None);
                run.drivers.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            next = match run.graph.node(task).body {
                // Synchronous bodies may block (sleep, file I/O): let tokio
                // hand this worker's other tasks to another thread while
                // they run.
                Body::Sync(_) => tokio::task::block_in_place(|| {
                    run_sync_tasks(&run, &pool, task, &mut ready, &unfinished)
                }),
                Body::Async(_) => {
                    let outcome = run.run_async(task).await;
                    run.finish(task, outcome, &mut ready);
                    dispatch(&run, &pool, &mut ready).or_else(|| run.pop_ready())
                }
                Body::Ready(_) => unreachable!("values are results from the start, never queued"),
            };
        }
        unfinished.task.set(None);
        if !retire(&run, &pool) {
            return;
        }
    }
}

/// Runs synchronous tasks one after another, the successors they make
/// ready first, then queued ones; returns the next task if it is async.
fn run_sync_tasks(
    run: &Arc<Run>,
    pool: &Arc<Pool>,
    mut task: u32,
    ready: &mut Vec<u32>,
    unfinished: &Unfinished<'_>,
) -> Option<u32> {
    let _in_task = InTask::enter(pool);
    loop {
        unfinished.task.set(Some(task));
        let outcome = run.run_sync(task);
        run.finish(task, outcome, ready);
        let next = dispatch(run, pool, ready).or_else(|| run.pop_ready());
        match next {
            Some(next)
                if matches!(run.graph.node(next).body, Body::Sync(_)) && !run.is_stopped() =>
            {
                task = next;
            }
            other => return other,
        }
    }
}

/// Keeps one ready task to run here and queues the others, waking drivers
/// for them.
fn dispatch(run: &Arc<Run>, pool: &Arc<Pool>, ready: &mut Vec<u32>) -> Option<u32> {
    if run.is_stopped() {
        ready.clear();
        return None;
    }
    let next = ready.pop();
    if !ready.is_empty() {
        let queued = run.push_ready(ready.drain(..));
        wake(run, pool, queued);
    }
    next
}

thread_local! {
    /// The address of the pool whose permit this thread's running
    /// synchronous task holds; 0 when it runs none.
    static RUNNING_IN: Cell<usize> = const { Cell::new(0) };
}

fn address(pool: &Pool) -> usize {
    std::ptr::from_ref(pool).addr()
}

/// Marks this thread as running tasks of `pool` while it lives.
struct InTask(usize);

impl InTask {
    fn enter(pool: &Pool) -> InTask {
        InTask(RUNNING_IN.replace(address(pool)))
    }
}

impl Drop for InTask {
    fn drop(&mut self) {
        RUNNING_IN.set(self.0);
    }
}

/// Lends a task's permit back to its pool while the task waits for a
/// nested compute on the same pool, as Dask's `secede`/`rejoin` do.
/// Without it a task computing on its own `threads(1)` client would wait
/// forever for the permit it holds itself.
pub(crate) struct Seceded<'a> {
    pool: &'a Pool,
    previous: usize,
}

/// Secedes if this thread runs a task of `pool`; `None` otherwise.
pub(crate) fn secede(pool: &Pool) -> Option<Seceded<'_>> {
    if RUNNING_IN.get() != address(pool) {
        return None;
    }
    pool.permits.add_permits(1);
    Some(Seceded {
        pool,
        previous: RUNNING_IN.replace(0),
    })
}

impl Drop for Seceded<'_> {
    /// Takes a permit again before the task goes on, so the bound holds.
    fn drop(&mut self) {
        // Synchronous tasks run inside `block_in_place`, where blocking on
        // the runtime is allowed. The semaphore is never closed.
        if let Ok(permit) = self.pool.handle.block_on(self.pool.permits.acquire()) {
            permit.forget();
        }
        RUNNING_IN.set(self.previous);
    }
}

/// Fails the compute if a driver ends without finishing its task: the
/// runtime dropped it at shutdown, or a bug of ours panicked outside the
/// task's own `catch_unwind`. Without it the caller would wait forever.
struct Unfinished<'a> {
    run: &'a Run,
    task: Cell<Option<u32>>,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if self.task.get().is_some() {
            self.run.stop();
            self.run.deliver(Err(Error::stopped()));
        }
    }
}
