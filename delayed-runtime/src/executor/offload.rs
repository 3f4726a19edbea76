//! The one seam between the executor and a backend that runs tasks
//! somewhere else (the workers of `distributed/`): the executor owns these
//! traits and calls them; a backend implements them and is never named
//! here. See "Tasks that run elsewhere" in `README.md` beside this file.

use std::sync::Arc;

use crate::graph::Graph;
use crate::node::{BoxFuture, Inputs};
use crate::sync::{Mutex, lock};

/// A backend that may run some of a compute's tasks elsewhere. A client
/// holds one (`ClientBuilder::redis` gives it the workers), and each
/// compute it starts asks it for a [`Plan`].
pub(crate) trait Offload: Send + Sync {
    /// Chooses which tasks of `graph` run through this backend, and
    /// prepares what running them needs; `None` when none does, so that
    /// the compute runs exactly as on a client without a backend.
    fn plan(&self, graph: &Graph) -> Option<Box<dyn Plan>>;
}

/// One compute's tasks that run elsewhere, and the state of running them
/// (dropped with the compute).
pub(crate) trait Plan: Send + Sync {
    /// Whether task `i` runs elsewhere. The executor then awaits it as an
    /// async task, holding no slot, whatever its body is; the answer never
    /// changes during the compute.
    fn offloads(&self, i: u32) -> bool;

    /// Starts task `i`, one that [`offloads`](Self::offloads), once its
    /// inputs are ready: reads each of its inputs once from `inputs` (for
    /// the consumer counts, as a local task does) and returns the future
    /// of its value. The place it ran goes to `ran_on` when given.
    fn start(
        &self,
        graph: &Graph,
        i: u32,
        inputs: &mut Inputs<'_>,
        ran_on: Option<RanOn>,
    ) -> BoxFuture;
}

/// Where a task that ran elsewhere ran: the worker's name, set by the
/// backend when the task completes, for the callbacks (the profiler draws
/// a row for each worker). Made only for a task that runs elsewhere while
/// callbacks listen.
#[derive(Clone, Default)]
pub(crate) struct RanOn(Arc<Mutex<Option<String>>>);

impl RanOn {
    /// Records the place the task ran.
    #[allow(dead_code)] // a backend's call; none is built without `distributed`
    pub(crate) fn set(&self, place: String) {
        *lock(&self.0) = Some(place);
    }

    /// The place recorded, if any.
    pub(crate) fn get(&self) -> Option<String> {
        lock(&self.0).clone()
    }
}
