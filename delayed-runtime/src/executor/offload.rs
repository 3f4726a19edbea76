//! The one seam between the executor and a backend that runs tasks
//! somewhere else (the workers of `distributed/`): the executor owns these
//! traits and calls them; a backend implements them and is never named
//! here. See "Tasks that run elsewhere" in `README.md` beside this file.

use std::sync::Arc;

use crate::diagnostics::LogLine;
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

    /// What the places tasks go to have, for the error of a task that
    /// needs more resources than any of them and than this client: a task
    /// that needs resources goes elsewhere only where they fit.
    fn resources_elsewhere(&self) -> String;
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
/// backend when the task completes, and the log lines that came home with
/// it, for the callbacks (the profiler draws a row for each worker, the
/// dashboard shows the lines beside the task). Made only for a task that
/// runs elsewhere while callbacks listen.
#[derive(Clone, Default)]
pub(crate) struct RanOn(Arc<Mutex<Ran>>);

#[derive(Default)]
struct Ran {
    place: Option<String>,
    logs: Vec<LogLine>,
}

impl RanOn {
    /// Records the place the task ran.
    #[allow(dead_code)] // a backend's call; none is built without `distributed`
    pub(crate) fn set(&self, place: String) {
        lock(&self.0).place = Some(place);
    }

    /// Records the log lines that came home with the task.
    #[allow(dead_code)] // a backend's call; none is built without `distributed`
    pub(crate) fn logged(&self, lines: Vec<LogLine>) {
        lock(&self.0).logs.extend(lines);
    }

    /// The place recorded, if any.
    pub(crate) fn get(&self) -> Option<String> {
        lock(&self.0).place.clone()
    }

    /// The log lines recorded.
    pub(crate) fn logs(&self) -> Vec<LogLine> {
        std::mem::take(&mut lock(&self.0).logs)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Client;
    use crate::diagnostics::{Callback, TaskFinish};
    use crate::value::Value;

    /// A backend that runs every `map` task "elsewhere": it adds 1,000 to
    /// the task's one input instead of calling the task's body, so a
    /// result tells where it was computed.
    struct Elsewhere;

    struct Maps(Vec<bool>);

    impl Offload for Elsewhere {
        fn plan(&self, graph: &Graph) -> Option<Box<dyn Plan>> {
            let maps: Vec<bool> = graph.nodes.iter().map(|n| n.key.name() == "map").collect();
            maps.contains(&true)
                .then(|| Box::new(Maps(maps)) as Box<dyn Plan>)
        }

        fn resources_elsewhere(&self) -> String {
            "elsewhere has none".into()
        }
    }

    impl Plan for Maps {
        fn offloads(&self, i: u32) -> bool {
            self.0[i as usize]
        }

        fn start(
            &self,
            _graph: &Graph,
            _i: u32,
            inputs: &mut Inputs<'_>,
            ran_on: Option<RanOn>,
        ) -> BoxFuture {
            let input = inputs.share(0).with(|x: &i64| *x);
            if let Some(ran_on) = ran_on {
                ran_on.set("elsewhere".into());
            }
            Box::pin(async move { Ok(Value::new(input + 1_000)) })
        }
    }

    /// The place each finished task ran, by function name.
    #[derive(Default)]
    struct Places(Mutex<Vec<(&'static str, Option<String>)>>);

    impl Callback for Places {
        fn task_finish(&self, task: &TaskFinish<'_>) {
            lock(&self.0).push((task.name, task.worker.map(str::to_owned)));
        }
    }

    fn client(threads: usize, places: Arc<Places>) -> Client {
        Client::builder()
            .threads(threads)
            .callback(places)
            .offload(Arc::new(|_: &tokio::runtime::Handle| {
                Ok(Arc::new(Elsewhere) as Arc<dyn Offload>)
            }))
            .build()
            .unwrap()
    }

    #[test]
    fn the_tasks_a_plan_chooses_run_through_it_and_the_others_here() {
        let places = Arc::new(Places::default());
        // On one slot, so an offloaded task holding one would stall the
        // chain: it holds none.
        let client = client(1, places.clone());
        let here = crate::value(1_i64).map_ref(|x| x * 10).named("scale");
        let there = here.map(|x| x + 1); // computed elsewhere: 10 + 1,000
        let after = there.map_ref(|x| x * 2).named("double");
        assert_eq!(client.compute(&after).unwrap(), 2_020);
        let mut seen = lock(&places.0).clone();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("double", None),
                ("map", Some("elsewhere".to_string())),
                ("scale", None),
            ]
        );
    }

    #[test]
    fn a_plan_that_takes_nothing_leaves_the_compute_as_it_was() {
        let places = Arc::new(Places::default());
        let client = client(2, places.clone());
        let total = crate::value(2_i64).map_ref(|x| x + 1).named("inc");
        assert_eq!(client.compute(&total).unwrap(), 3);
        assert_eq!(*lock(&places.0), [("inc", None)]);
    }

    #[test]
    fn a_synchronous_client_cannot_take_a_backend() {
        let err = Client::builder()
            .synchronous()
            .offload(Arc::new(|_: &tokio::runtime::Handle| {
                Ok(Arc::new(Elsewhere) as Arc<dyn Offload>)
            }))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(
            err.to_string().contains("leave out `.synchronous()`"),
            "{err}"
        );
    }
}
