//! The synchronous scheduler, for debugging: every task runs on the calling
//! thread, one at a time, in a fixed topological order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::runtime::Handle;

use super::{ComputeOutcome, Control, Run, Services, Unwatched};
use crate::diagnostics::Callback;
use crate::error::Error;
use crate::graph::Graph;
use crate::sync::{Mutex, lock};

/// Runs every task of `graph` in index order (dependencies first). Async
/// tasks are awaited in place, so this future does all the work itself.
pub(crate) async fn run(
    graph: Graph,
    callbacks: Option<Arc<[Arc<dyn Callback>]>>,
    control: Option<Arc<Control>>,
    services: Services,
) -> ComputeOutcome {
    let outcome: Arc<Mutex<Option<ComputeOutcome>>> = Arc::default();
    let sink = outcome.clone();
    let run = Run::new(
        graph,
        Box::new(move |result| *lock(&sink) = Some(result)),
        callbacks,
        control.clone(),
        &services,
    );
    // In index order every task's inputs are ready when it is reached, so
    // the ready lists the bookkeeping produces are not needed; with
    // priorities, the ready task of highest priority runs next, ties in
    // index order.
    let started = run.start();
    let mut ranked: Option<BinaryHeap<(i32, Reverse<u32>)>> =
        run.graph.has_priorities().then(|| {
            let priority = |task| (run.graph.priority(task), Reverse(task));
            started.into_iter().map(priority).collect()
        });
    let mut in_order = (0..run.graph.len() as u32).filter(|&task| !run.graph.is_value(task));
    let mut ready = Vec::new();
    loop {
        let next = match &mut ranked {
            Some(heap) => heap.pop().map(|(_, Reverse(task))| task),
            None => in_order.next(),
        };
        let Some(task) = next else {
            break;
        };
        if control
            .as_ref()
            .is_some_and(|c| c.cancelled.load(Ordering::Acquire))
        {
            run.stop();
            run.deliver(Err(Error::cancelled()));
        }
        if run.is_stopped() {
            break;
        }
        let result = if run.is_sync(task) {
            run.run_sync(task, &Unwatched)
        } else {
            run.run_async(task).await
        };
        if run.finish(task, result, &mut ready) {
            run.complete(1);
        }
        if let Some(heap) = &mut ranked {
            heap.extend(
                ready
                    .iter()
                    .map(|&task| (run.graph.priority(task), Reverse(task))),
            );
        }
        ready.clear();
    }
    // Dropping the run delivers its outputs and releases the graph.
    drop(run);
    let outcome = lock(&outcome).take();
    outcome.unwrap_or_else(|| Err(Error::stopped()))
}

/// The synchronous scheduler's blocking form: drives [`run`] on a
/// current-thread runtime (so async tasks have timers and I/O), on this
/// thread, or on a helper thread where this one is already inside a runtime.
pub(crate) fn block_on(
    graph: Graph,
    callbacks: Option<Arc<[Arc<dyn Callback>]>>,
    control: Option<Arc<Control>>,
    services: Services,
) -> ComputeOutcome {
    let drive = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::start)?;
        runtime.block_on(run(graph, callbacks, control, services))
    };
    if Handle::try_current().is_err() {
        return drive();
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("delayed-synchronous".into())
            .spawn_scoped(scope, drive)
            .map_err(Error::start)?;
        helper
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
