//! The type-erased task node behind every handle.
//!
//! A node is immutable once built: its key, the nodes it depends on and the
//! boxed call that turns their values into its own. Because a node can only
//! name nodes that already exist, the graph is acyclic by construction.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use triomphe::UniqueArc;

use crate::error::BoxError;
use crate::key::Key;
use crate::resources::Resources;
use crate::sync::{Mutex, MutexGuard, lock, yield_now};
use crate::value::Value;

/// The future an `async` task body returns.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send>>;

pub(crate) type SyncCall = dyn Fn(&mut Inputs<'_>) -> Result<Value, BoxError> + Send + Sync;
pub(crate) type AsyncCall = dyn Fn(&mut Inputs<'_>) -> BoxFuture + Send + Sync;

/// What running a node means.
pub(crate) enum Body {
    /// A value known when the graph was built: `Delayed::value`.
    Ready(Value),
    /// A synchronous function; it may block, so it runs where blocking is allowed.
    Sync(Box<SyncCall>),
    /// An `async fn`: it runs as a future on the runtime's workers.
    Async(Box<AsyncCall>),
    /// The call of a `#[delayed]` function, shared by every task of the
    /// function whose arguments are laid out alike (see
    /// [`SharedCall`]), and the one scalar argument it holds, if any.
    Shared {
        call: &'static SharedCall,
        word: u64,
    },
    /// The body of another node: a task configured anew (retries, a
    /// timeout) while other handles still refer to it as it was.
    Same(NodeRef),
    /// A body that runs under a policy (retries, a timeout). Kept behind
    /// a pointer in the body rather than beside it in every node: most
    /// tasks have none, and a smaller node is a smaller allocation.
    Configured(Box<Configured>),
    /// A body that may also run on a worker, with what to send it.
    #[cfg(feature = "distributed")]
    Remote(Box<Remote>),
    /// A body whose value may be read from the client's cache instead.
    #[cfg(feature = "cache")]
    Cached(Box<Cached>),
}

/// A body, how its task's cache key is made, and what the cache did for
/// it last (for `cache::explain`).
#[cfg(feature = "cache")]
pub(crate) struct Cached {
    pub(crate) spec: Arc<crate::cache::Spec>,
    /// Whether the cache is used for this task (`.uncached()` clears it).
    pub(crate) on: bool,
    pub(crate) verdict: Mutex<Option<crate::cache::Verdict>>,
    pub(crate) body: Body,
}

impl Body {
    /// A synchronous task's call, with the scalar its node holds when the
    /// call is shared; `None` for any other body.
    pub(crate) fn sync_call(&self) -> Option<(&SyncCall, Option<u64>)> {
        match self {
            Body::Sync(call) => Some((call, None)),
            Body::Shared {
                call: SharedCall::Sync(call),
                word,
            } => Some((call, Some(*word))),
            _ => None,
        }
    }

    /// An async task's call, with the scalar its node holds when the call
    /// is shared; `None` for any other body.
    pub(crate) fn async_call(&self) -> Option<(&AsyncCall, Option<u64>)> {
        match self {
            Body::Async(call) => Some((call, None)),
            Body::Shared {
                call: SharedCall::Async(call),
                word,
            } => Some((call, Some(*word))),
            _ => None,
        }
    }

    /// This body under `policy`, when there is one.
    pub(crate) fn with_policy(self, policy: Option<Policy>) -> Body {
        match policy {
            Some(policy) => Body::Configured(Box::new(Configured { policy, body: self })),
            None => self,
        }
    }

    /// This body, its value read from the cache when `on`, under `spec`.
    #[cfg(feature = "cache")]
    pub(crate) fn cached(self, spec: Arc<crate::cache::Spec>, on: bool) -> Body {
        Body::Cached(Box::new(Cached {
            spec,
            on,
            verdict: Mutex::new(None),
            body: self,
        }))
    }
}

/// The call `#[delayed]` writes for a function, shared by all its tasks
/// whose arguments are handles, all but at most one scalar: such a call
/// holds nothing of its own but where each argument is read from (the
/// task's `i`-th input, or the word in its node), which is the same for
/// every one of those tasks. They then share one call, made once per
/// function and layout and kept for the life of the process, rather than
/// each allocating its own: a chain of 10^7 tasks saves 320 MB.
pub(crate) enum SharedCall {
    Sync(Box<SyncCall>),
    Async(Box<AsyncCall>),
}

/// A body, and what a worker needs to run it instead.
#[cfg(feature = "distributed")]
pub(crate) struct Remote {
    pub(crate) spec: crate::wire::Spec,
    pub(crate) body: Body,
}

/// A body and the policy it runs under.
pub(crate) struct Configured {
    pub(crate) policy: Policy,
    pub(crate) body: Body,
}

/// What a junction gathers its inputs into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gathers {
    /// Nothing: a task the user wrote, or a value.
    Nothing,
    /// A list (`Vec`, array, set) of its inputs' values, in order: its
    /// value is theirs alone.
    Values,
    /// A map of its inputs' values under keys it holds itself: its value
    /// is theirs and those keys.
    Entries,
}

/// The nodes a node takes, in argument order: one inline (a chain costs
/// no allocation per link), or any number in a slice.
#[derive(Clone)]
pub(crate) enum Deps {
    One(NodeRef),
    Many(Box<[NodeRef]>),
}

impl Deps {
    fn into_vec(self) -> Vec<NodeRef> {
        match self {
            Deps::One(node) => vec![node],
            Deps::Many(nodes) => nodes.into_vec(),
        }
    }
}

impl From<Vec<NodeRef>> for Deps {
    fn from(nodes: Vec<NodeRef>) -> Deps {
        match <[NodeRef; 1]>::try_from(nodes) {
            Ok([node]) => Deps::One(node),
            Err(nodes) => Deps::Many(nodes.into_boxed_slice()),
        }
    }
}

impl Default for Deps {
    fn default() -> Deps {
        Deps::Many(Box::default())
    }
}

impl std::ops::Deref for Deps {
    type Target = [NodeRef];

    fn deref(&self) -> &[NodeRef] {
        match self {
            Deps::One(node) => std::slice::from_ref(node),
            Deps::Many(nodes) => nodes,
        }
    }
}

/// How a task runs beyond its call: retries, their backoff, a timeout;
/// and the annotations that say when and where: its priority and the
/// resources it needs.
#[derive(Clone, Default)]
pub(crate) struct Policy {
    /// Among ready tasks, a higher one runs first; 0 by default.
    pub(crate) priority: i32,
    /// What it needs to run, held while it runs; `None` for nothing.
    pub(crate) resources: Option<Arc<Resources>>,
    /// How many times a failed task runs again.
    pub(crate) retries: u32,
    /// The pause before the first retry (doubling for each next one, up
    /// to a minute); `None` for the default.
    pub(crate) backoff: Option<Duration>,
    /// How long one attempt may take.
    pub(crate) timeout: Option<Duration>,
    /// A setting the task cannot take: it fails with this message rather
    /// than run.
    pub(crate) invalid: Option<String>,
}

impl Policy {
    /// The pause before the first retry when none is set.
    pub(crate) const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);
    const MAX_BACKOFF: Duration = Duration::from_secs(60);

    /// Whether the task may run more than once, or not at all: retries,
    /// a timeout, or a setting it cannot take. Only then does it keep its
    /// inputs for each attempt.
    pub(crate) fn reruns(&self) -> bool {
        self.retries > 0 || self.timeout.is_some() || self.invalid.is_some()
    }

    /// The pause after failed attempt number `attempt` (from 1).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let first = self.backoff.unwrap_or(Policy::DEFAULT_BACKOFF);
        first
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(Policy::MAX_BACKOFF.max(first))
    }
}

/// A shared node. Nodes are never referred to weakly, so their `Arc` is
/// triomphe's, which has no weak count: a node's allocation is then its
/// one reference count and 64 bytes, 72 in all, which glibc's allocator
/// serves from its 80-byte class. With the standard `Arc`'s two counts it
/// would be 80 bytes, served from the 96-byte class, for every task of
/// every graph.
pub(crate) type NodeRef = triomphe::Arc<Node>;

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Node>() <= 64);

pub(crate) struct Node {
    pub(crate) key: Key,
    /// The key is a hash of the call: nodes with equal keys compute the
    /// same value, so a compute runs one of them.
    pub(crate) pure: bool,
    /// What it gathers, when it only gathers its inputs into a collection
    /// (`Vec<Delayed<T>>` passed where a `Vec<T>` is expected): pictures
    /// draw it as a junction, not as a task the user wrote.
    pub(crate) gathers: Gathers,
    /// The nodes whose values this node's call takes, in argument order.
    pub(crate) deps: Deps,
    pub(crate) body: Body,
}

impl Node {
    /// A node; `pure` when its key is a hash of the call.
    pub(crate) fn new(key: Key, pure: bool, deps: Vec<NodeRef>, body: Body) -> NodeRef {
        NodeRef::new(Node {
            key,
            pure,
            gathers: Gathers::Nothing,
            deps: deps.into(),
            body,
        })
    }

    /// The layers of this node's body, outermost first: through another
    /// node's body (`Same`), a policy (`Configured`) and what a worker
    /// needs (`Remote`), down to the call or value itself.
    fn layers(&self) -> impl Iterator<Item = &Body> {
        std::iter::successors(Some(&self.body), |body| match body {
            Body::Same(node) => Some(&node.body),
            Body::Configured(configured) => Some(&configured.body),
            #[cfg(feature = "distributed")]
            Body::Remote(remote) => Some(&remote.body),
            #[cfg(feature = "cache")]
            Body::Cached(cached) => Some(&cached.body),
            _ => None,
        })
    }

    /// This node's own cache layer, to change: found through its policy,
    /// never through another node's body (`Same`), which is shared.
    #[cfg(feature = "cache")]
    pub(crate) fn cached_mut(&mut self) -> Option<&mut Cached> {
        let mut body = &mut self.body;
        loop {
            body = match body {
                Body::Cached(cached) => return Some(cached),
                Body::Configured(configured) => &mut configured.body,
                _ => return None,
            };
        }
    }

    /// How this task is cached, if its function is `#[delayed(cache)]`.
    #[cfg(feature = "cache")]
    pub(crate) fn cached(&self) -> Option<&Cached> {
        self.layers().find_map(|body| match body {
            Body::Cached(cached) => Some(&**cached),
            _ => None,
        })
    }

    /// Whether this node only gathers its inputs (a junction).
    pub(crate) fn is_junction(&self) -> bool {
        self.gathers != Gathers::Nothing
    }

    /// What running this node means, under every layer around it.
    pub(crate) fn body(&self) -> &Body {
        self.layers().last().expect("a body is at least itself")
    }

    /// What a worker needs to run this task, if it can run on one.
    #[cfg(feature = "distributed")]
    pub(crate) fn remote(&self) -> Option<&crate::wire::Spec> {
        self.layers().find_map(|body| match body {
            Body::Remote(remote) => Some(&remote.spec),
            _ => None,
        })
    }

    /// Whether a client with workers sends this node to them: a task (not
    /// a plain value) that records how to run on one.
    #[cfg(feature = "distributed")]
    pub(crate) fn runs_on_workers(&self) -> bool {
        !self.is_value() && self.remote().is_some()
    }

    /// Retries, timeout and annotations, if this task has any.
    pub(crate) fn policy(&self) -> Option<&Policy> {
        match &self.body {
            Body::Configured(configured) => Some(&configured.policy),
            _ => None,
        }
    }

    /// Retries or a timeout (or a setting it cannot take), if this task
    /// has any: what makes it run more than once, or not at all.
    pub(crate) fn reruns(&self) -> Option<&Policy> {
        self.policy().filter(|policy| policy.reruns())
    }

    /// This task's priority: 0 unless it was given one.
    pub(crate) fn priority(&self) -> i32 {
        self.policy().map_or(0, |policy| policy.priority)
    }

    /// Its priority and resources as pictures and the dashboard show them:
    /// `priority 10, gpu=1`; `None` when it has neither.
    pub(crate) fn annotations(&self) -> Option<String> {
        let mut said = Vec::new();
        if self.priority() != 0 {
            said.push(format!("priority {}", self.priority()));
        }
        if let Some(resources) = self.resources() {
            said.push(resources.to_string());
        }
        (!said.is_empty()).then(|| said.join(", "))
    }

    /// The resources this task needs, if any.
    pub(crate) fn resources(&self) -> Option<&Arc<Resources>> {
        self.policy().and_then(|policy| policy.resources.as_ref())
    }

    /// This task's policy to change, given one (the default) if it had none.
    pub(crate) fn policy_mut(&mut self) -> &mut Policy {
        if !matches!(self.body, Body::Configured(_)) {
            let body = std::mem::replace(&mut self.body, Body::Ready(Value::Word(0)));
            self.body = body.with_policy(Some(Policy::default()));
        }
        match &mut self.body {
            Body::Configured(configured) => &mut configured.policy,
            _ => unreachable!("the body was configured above"),
        }
    }

    /// Whether this node's value is known before any task runs.
    pub(crate) fn is_value(&self) -> bool {
        matches!(self.body(), Body::Ready(_))
    }
}

impl Drop for Node {
    /// Drops the ancestors this node owned alone with a loop instead of the
    /// default recursion, so that dropping the last handle to a chain of a
    /// million tasks does not overflow the stack.
    fn drop(&mut self) {
        let mut orphans = std::mem::take(&mut self.deps).into_vec();
        while let Some(dep) = orphans.pop() {
            if let Some(mut node) = NodeRef::into_unique(dep).map(UniqueArc::into_inner) {
                orphans.extend(std::mem::take(&mut node.deps).into_vec());
                // `node` drops here with no dependencies left: no recursion.
            }
        }
    }
}

/// A node's result in one compute: its value, from when it is computed
/// until its last consumer takes it (or, for outputs, until the compute
/// delivers it).
///
/// Whether it holds a value is a flag of its own rather than an `Option`
/// around the value, which would not fit the same 32 bytes (with the lock).
pub(crate) struct ResultSlot {
    /// Meaningful only while `stored` is set; a word of zero otherwise.
    value: Value,
    stored: bool,
    /// Dependency edges that have not read this value yet.
    pub(crate) consumers: u32,
    /// By-value readers cloning the value right now, each holding a
    /// reference until its clone is made.
    pub(crate) cloning: u16,
    /// Outputs are kept for delivery, never moved out by a consumer.
    pub(crate) output: bool,
}

#[cfg(all(target_pointer_width = "64", not(delayed_loom)))]
const _: () = assert!(std::mem::size_of::<Mutex<ResultSlot>>() <= 32);

impl ResultSlot {
    /// A slot read by `consumers` dependency edges, holding `value` if it
    /// is known already.
    pub(crate) fn new(value: Option<Value>, consumers: u32) -> ResultSlot {
        ResultSlot {
            stored: value.is_some(),
            value: value.unwrap_or(Value::Word(0)),
            consumers,
            cloning: 0,
            output: false,
        }
    }

    /// The stored value, if any.
    pub(crate) fn value(&self) -> Option<&Value> {
        self.stored.then_some(&self.value)
    }

    /// Takes the stored value out, if any.
    pub(crate) fn take(&mut self) -> Option<Value> {
        std::mem::take(&mut self.stored).then(|| std::mem::replace(&mut self.value, Value::Word(0)))
    }

    /// Stores the node's value.
    pub(crate) fn put(&mut self, value: Value) {
        self.value = value;
        self.stored = true;
    }

    /// Counts one consumer's read; true when it was the last one of a
    /// value that is not an output, which may then take the value.
    fn read(&mut self) -> bool {
        self.consumers -= 1;
        self.consumers == 0 && !self.output
    }
}

/// The values a task's call receives, one per dependency edge, in argument
/// order, read straight from the compute's result slots. Generated code
/// reads them through [`Shared`](crate::task::Shared) and
/// [`Owned`](crate::task::Owned), each edge once.
///
/// Reading is where a value's consumers are counted: the last edge to read
/// a value takes it, so an owned parameter moves it. Earlier by-value edges
/// clone it in parallel, each from a reference it holds only while it
/// clones, and the last one waits for clones in progress before it takes:
/// it then holds the only reference, however the reads overlap.
#[doc(hidden)]
pub struct Inputs<'a> {
    results: &'a [Mutex<ResultSlot>],
    /// The result slot of each dependency edge, in argument order.
    deps: &'a [u32],
    /// The scalar argument the node of a shared call holds
    /// (`Body::Shared`); `None` for a call of the task's own.
    pub(crate) word: Option<u64>,
    /// Reads leave every value where it is, uncounted, for a task that may
    /// run again (retries): owned parameters get clones.
    keep: bool,
}

impl<'a> Inputs<'a> {
    pub(crate) fn new(results: &'a [Mutex<ResultSlot>], deps: &'a [u32]) -> Inputs<'a> {
        Inputs {
            results,
            deps,
            word: None,
            keep: false,
        }
    }

    /// Inputs whose reads count nothing and move nothing; the caller
    /// releases them with [`release`](Inputs::release) after the last run.
    pub(crate) fn kept(results: &'a [Mutex<ResultSlot>], deps: &'a [u32]) -> Inputs<'a> {
        Inputs {
            results,
            deps,
            word: None,
            keep: true,
        }
    }

    /// Counts every edge as read without running anything: the values a
    /// retried task kept are given up, each freed if this was its last
    /// consumer.
    pub(crate) fn release(&self) {
        for i in 0..self.deps.len() {
            let mut slot = self.slot(i);
            let value = if slot.read() { slot.take() } else { None };
            drop(slot);
            drop(value);
        }
    }

    fn slot(&self, i: usize) -> MutexGuard<'a, ResultSlot> {
        lock(&self.results[self.deps[i] as usize])
    }

    /// Input `i` for a shared (`&T`) read: the only stored reference when
    /// this edge is the last consumer, another reference otherwise.
    pub(crate) fn share(&mut self, i: usize) -> Value {
        let mut slot = self.slot(i);
        let value = if !self.keep && slot.read() {
            slot.take()
        } else {
            slot.value().cloned()
        };
        value.expect("a dependency's value is stored until its last consumer reads it")
    }

    /// Input `i` for a by-value read: `Ok` with the stored reference when
    /// this edge is the last consumer, otherwise `Err` with what `clone`
    /// made of the value.
    pub(crate) fn take_or_clone<C>(
        &mut self,
        i: usize,
        clone: impl FnOnce(&Value) -> C,
    ) -> Result<Value, C> {
        let mut slot = self.slot(i);
        if !self.keep && slot.read() {
            let value = slot.take();
            // Other readers' clones finish in a moment; after them this is
            // the only reference (unless a `&T` reader still runs).
            while slot.cloning > 0 {
                drop(slot);
                yield_now();
                slot = self.slot(i);
            }
            return Ok(
                value.expect("a dependency's value is stored until its last consumer reads it")
            );
        }
        slot.cloning += 1;
        let cloning = Cloning(&self.results[self.deps[i] as usize]);
        let shared = slot
            .value()
            .cloned()
            .expect("a dependency's value is stored until its last consumer reads it");
        drop(slot);
        let cloned = clone(&shared);
        // The reference goes before the count does, also on a panic.
        drop(shared);
        drop(cloning);
        Err(cloned)
    }
}

/// Counts a by-value reader's clone as finished when dropped.
struct Cloning<'a>(&'a Mutex<ResultSlot>);

impl Drop for Cloning<'_> {
    fn drop(&mut self) {
        lock(self.0).cloning -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Name;

    #[test]
    fn dropping_a_long_chain_does_not_recurse() {
        let run = || {
            let mut node = Node::new(
                Key::unique(Name::new(&"value")),
                false,
                Vec::new(),
                Body::Ready(Value::new(0)),
            );
            for _ in 0..1_000_000 {
                node = Node::new(
                    Key::unique(Name::new(&"link")),
                    false,
                    vec![node],
                    Body::Ready(Value::new(0)),
                );
            }
            drop(node);
        };
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }
}
