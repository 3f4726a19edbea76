//! Which tasks of a compute go to workers, and how a chain goes whole:
//! the distributed backend's side of the executor's seam
//! (`executor::offload`). The executor asks [`Workers`] for a plan when a
//! compute starts, and the plan sends each task it chose when the compute
//! reaches it.

use std::collections::HashMap;
use std::sync::Arc;

use super::remote::{self, Attached, Follower, RemoteClient};
use crate::client::ClientBuilder;
use crate::executor::offload::{Offload, Plan, RanOn};
use crate::graph::Graph;
use crate::node::{BoxFuture, Inputs};
use crate::resources::Resources;
use crate::sync::{Mutex, lock};

/// The workers of a client built with `redis(url)`, as the executor sees
/// them.
pub(crate) struct Workers(pub(crate) Arc<RemoteClient>);

impl Offload for Workers {
    fn plan(&self, graph: &Graph) -> Option<Box<dyn Plan>> {
        let places = places(graph, &self.0);
        if places.iter().all(|&place| place == Place::Here) {
            return None;
        }
        Some(Box::new(OnWorkers {
            client: self.0.clone(),
            places: places.into(),
            attached: Mutex::default(),
        }))
    }

    fn resources_elsewhere(&self) -> String {
        let workers = self.0.workers();
        if workers.is_empty() {
            return "and no worker serves now".into();
        }
        let each: Vec<String> = (workers.iter())
            .map(|has| match has.is_empty() {
                true => "nothing".to_string(),
                false => has.to_string(),
            })
            .collect();
        format!(
            "nor has any of the {} workers serving now, which have {}",
            workers.len(),
            each.join("; ")
        )
    }
}

impl ClientBuilder {
    /// Runs the tasks that can run on workers on the workers of the broker
    /// at `url` (`redis://host:6379`, `redis://user:password@host`), Dask's
    /// `Client("scheduler-address")`; the others, and every task whose
    /// function or types do not allow it, in this process. Needs the
    /// `distributed` feature; workers are this program started with
    /// `DELAYED_WORKER` set (see
    /// [`serve_if_worker`](crate::distributed::serve_if_worker)).
    ///
    /// A task runs on a worker when its function is registered
    /// ([`distributed::function`](crate::distributed::function)) and runs
    /// from bytes, and each of its plain arguments encodes. Its inputs are
    /// sent from this process and its result comes back to it.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails, naming the address, if the broker
    /// cannot be reached within 5 seconds; a client built with
    /// [`synchronous`](Self::synchronous) cannot have workers.
    ///
    /// ```
    /// let client = delayed::Client::builder().redis("redis://127.0.0.1:1").build();
    /// assert!(client.unwrap_err().to_string().contains("could not reach the broker"));
    /// ```
    pub fn redis(self, url: impl std::fmt::Display) -> ClientBuilder {
        let url = url.to_string();
        self.offload(Arc::new(move |runtime: &tokio::runtime::Handle| {
            let client = RemoteClient::connect(&url, runtime)?;
            Ok(Arc::new(Workers(client)) as Arc<dyn Offload>)
        }))
    }
}

/// Where a task of a compute runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In this process: a plain value, or a task that cannot run on a
    /// worker (its function is not registered, or a type of its is not a
    /// serde type).
    Here,
    /// On a worker; its result comes back here.
    Worker,
    /// On a worker, and its result stays on the broker for the workers
    /// that run its consumers: none of them runs here, and it is not
    /// requested, so this process never needs its value. A root is never
    /// kept.
    Kept,
}

/// Each task's place: on a worker when it records how to run on one (and
/// a worker serving has the resources it needs), kept on the broker when,
/// besides, it is not requested and every task that reads it runs on a
/// worker too.
fn places(graph: &Graph, client: &RemoteClient) -> Vec<Place> {
    let workers = graph.has_resources().then(|| client.workers());
    let fits =
        |needs: &Resources| (workers.iter().flatten()).any(|has| needs.unmet_by(has).is_none());
    let mut places: Vec<Place> = graph
        .nodes
        .iter()
        .map(|node| match node.runs_on_workers() {
            true if node.resources().is_none_or(|needs| fits(needs)) => Place::Worker,
            _ => Place::Here,
        })
        .collect();
    let mut requested = vec![false; graph.len()];
    for &root in &graph.roots {
        requested[root as usize] = true;
    }
    for i in 0..graph.len() as u32 {
        let dependents = graph.dependents(i);
        if places[i as usize] == Place::Worker
            && !requested[i as usize]
            && !dependents.is_empty()
            && dependents
                .iter()
                .all(|&j| places[j as usize] != Place::Here)
        {
            places[i as usize] = Place::Kept;
        }
    }
    places
}

/// One compute's tasks on workers.
struct OnWorkers {
    client: Arc<RemoteClient>,
    places: Box<[Place]>,
    /// The tasks sent in the message of the task before them, by index,
    /// until the compute reaches them; dropped with the plan (and so with
    /// the compute) if it never does.
    attached: Mutex<HashMap<u32, Attached>>,
}

impl OnWorkers {
    /// For a task whose result stays on the broker, how many times its
    /// consumers read it there.
    fn kept_for(&self, graph: &Graph, i: u32) -> Option<u32> {
        (self.places[i as usize] == Place::Kept).then(|| graph.dependents(i).len() as u32)
    }

    /// The task that can follow task `i` in its message to a worker, run
    /// by the same worker with `i`'s result passed in memory: the one task
    /// that reads `i`'s result, which reads nothing else, both on workers
    /// with `i`'s result left there ([`Place::Kept`]), neither with
    /// retries or a timeout, which the client applies to a task sent on
    /// its own, and both with the same priority and resources: a chain is
    /// split where its annotations change, so that each part is placed
    /// and ordered as its own annotations say.
    fn follower(&self, graph: &Graph, i: u32) -> Option<u32> {
        let node = graph.node(i);
        if self.places[i as usize] != Place::Kept || node.reruns().is_some() {
            return None;
        }
        let (&next, others) = graph.dependents(i).split_first()?;
        let alone = others.iter().all(|&j| j == next) && graph.deps(next).iter().all(|&d| d == i);
        let on_worker = self.places[next as usize] != Place::Here;
        let follower = graph.node(next);
        let same =
            follower.priority() == node.priority() && follower.resources() == node.resources();
        (alone && on_worker && same && follower.reruns().is_none()).then_some(next)
    }

    /// The chain of tasks that follow task `i` on its worker, in its
    /// message: each the one task that reads the one before it, and
    /// reading nothing else ([`follower`](Self::follower)), up to
    /// [`LINKS`](remote::LINKS) tasks in all. It ends early at a task whose
    /// arguments do not encode, which then goes on its own.
    fn followers<'g>(&self, graph: &'g Graph, i: u32) -> Vec<Follower<'g>> {
        let mut followers = Vec::new();
        let mut at = i;
        while followers.len() + 1 < remote::LINKS {
            let Some(next) = self.follower(graph, at) else {
                break;
            };
            let node = graph.node(next);
            let spec = node
                .remote()
                .expect("a task placed on a worker has what a worker needs");
            let Ok(args) = remote::link_arguments(&spec.parts) else {
                break;
            };
            followers.push(Follower {
                index: next,
                key: node.key.to_string(),
                spec,
                args,
                kept_for: self.kept_for(graph, next),
            });
            at = next;
        }
        followers
    }
}

impl Plan for OnWorkers {
    fn offloads(&self, i: u32) -> bool {
        self.places[i as usize] != Place::Here
    }

    fn start(
        &self,
        graph: &Graph,
        i: u32,
        inputs: &mut Inputs<'_>,
        ran_on: Option<RanOn>,
    ) -> BoxFuture {
        // Only a task that may follow another in its message can be
        // waiting here: the others skip the lock.
        let follows = (graph.deps(i).first()).is_some_and(|&p| self.follower(graph, p) == Some(i));
        let attached = if follows {
            lock(&self.attached).remove(&i)
        } else {
            None
        };
        if let Some(attached) = attached {
            // Its one input, which it had on its worker: read, for the
            // counts, and dropped.
            for k in 0..graph.deps(i).len() {
                drop(inputs.share(k));
            }
            return attached.follow(ran_on);
        }
        let node = graph.node(i);
        let spec = node
            .remote()
            .expect("a task placed on a worker has what a worker needs");
        match remote::arguments(&spec.parts, |k| inputs.share(k)) {
            Ok(args) => {
                let (future, attached) = self.client.call(
                    node,
                    spec,
                    args,
                    self.kept_for(graph, i),
                    ran_on,
                    self.followers(graph, i),
                );
                if !attached.is_empty() {
                    lock(&self.attached).extend(attached);
                }
                future
            }
            Err(error) => Box::pin(std::future::ready(Err(error.into()))),
        }
    }
}
