//! Collecting the subgraph a compute needs: every ancestor of the requested
//! handles, once, in an order where dependencies come first.
//!
//! The walk is iterative (an explicit stack), so a chain of a million tasks
//! needs no more thread stack than a single task.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::key::Key;
use crate::node::{Body, Node, NodeRef};
use crate::scratch;

/// The handles a compute was asked for, in order, as their nodes.
///
/// They are borrowed, not cloned: a handle's node then has no reference
/// besides the caller's own, and collecting the graph knows that only a
/// node with more than one reference can be met twice. Handles are added
/// with `Roots::push` (in `computable.rs`, where handles are known).
#[doc(hidden)]
#[derive(Default)]
pub struct Roots<'a>(pub(crate) Vec<&'a NodeRef>);

/// The nodes of one compute, numbered `0..len` in topological order, with
/// their edges both ways in compressed (CSR) form.
#[derive(Default)]
pub(crate) struct Graph {
    /// Dependencies come before their dependents.
    pub(crate) nodes: Vec<NodeRef>,
    /// `deps[dep_start[i]..dep_start[i + 1]]`: the indices node `i` takes, in
    /// argument order (one entry per edge, so repeats are kept).
    dep_start: Vec<u32>,
    deps: Vec<u32>,
    /// The same edges seen from the other side: who takes node `i`'s value.
    dependent_start: Vec<u32>,
    dependents: Vec<u32>,
    /// The index of each requested handle, in request order.
    pub(crate) roots: Vec<u32>,
    /// What each node is, read once here: scheduling asks it of every
    /// node, and reading it from the node itself would touch a node's
    /// memory again each time (a cache miss apiece in a large graph).
    kinds: Vec<Kind>,
    /// Each node's priority, when one is not 0; `None` (the common case)
    /// when all are, so that the schedulers keep their plain order.
    priorities: Option<Vec<i32>>,
    /// Whether a task needs resources.
    resourced: bool,
}

/// What running a node takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Value,
    Sync,
    Async,
}

impl Kind {
    fn of(node: &Node) -> Kind {
        let body = node.body();
        if matches!(body, Body::Ready(_)) {
            Kind::Value
        } else if body.sync_call().is_some() {
            Kind::Sync
        } else {
            Kind::Async
        }
    }
}

impl Graph {
    /// Walks the ancestors of `roots` once.
    ///
    /// Only a node with more than one reference can be reached twice, so
    /// only those are remembered by address; a node held by its one
    /// dependent alone (most of a wide fan or a chain) costs no lookup.
    /// The roots are the caller's own handles, borrowed: a root no other
    /// handle or node refers to is remembered only if it is listed twice.
    /// Children's indices wait on a stack of their own until their parent
    /// is numbered, so no edge is looked up either.
    pub(crate) fn collect(roots: &[&NodeRef]) -> Graph {
        let listed_twice = listed_twice(roots);
        let mut shared: HashMap<*const Node, u32, BuildHasherDefault<PtrHasher>> =
            HashMap::default();
        // Pure nodes by key: another node with the same key is the same
        // call, so it gets the index of the first one met.
        let mut pure: HashMap<&Key, u32> = HashMap::new();
        // The arrays with an entry per node or edge are the last large
        // compute's, when there was one: their memory is already mapped.
        let mut nodes: Vec<NodeRef> = scratch::take(0);
        let mut kinds = scratch::take(0);
        let mut priorities: Option<Vec<i32>> = None;
        let mut resourced = false;
        let mut dep_start = scratch::take(0);
        dep_start.push(0);
        let mut deps = scratch::take(0);
        let mut root_indices = scratch::take(roots.len());
        // The indices of the numbered children of the nodes on the stack.
        let mut numbered: Vec<u32> = Vec::new();
        // Each frame is a node and how many of its dependencies were visited.
        let mut stack: Vec<(&NodeRef, usize)> = Vec::new();
        // The index of a node met before, if it was.
        let known = |node: &NodeRef, shared: &HashMap<_, u32, _>, pure: &HashMap<&Key, u32>| {
            let by_address = (NodeRef::strong_count(node) > 1)
                .then(|| shared.get(&NodeRef::as_ptr(node)).copied())
                .flatten();
            by_address.or_else(|| node.pure.then(|| pure.get(&node.key).copied()).flatten())
        };

        for root in roots {
            match known(root, &shared, &pure) {
                Some(i) => numbered.push(i),
                // The graph is acyclic, so a node on the stack is never met
                // again before it is numbered.
                None => stack.push((root, 0)),
            }
            while let Some((node, visited)) = stack.last_mut() {
                if let Some(dep) = node.deps.get(*visited) {
                    *visited += 1;
                    match known(dep, &shared, &pure) {
                        Some(i) => numbered.push(i),
                        None => stack.push((dep, 0)),
                    }
                    continue;
                }
                // All dependencies are numbered: number this node (post-order).
                let node = *node;
                stack.pop();
                let i = u32::try_from(nodes.len()).expect("a compute holds fewer than 2^32 tasks");
                deps.extend(numbered.drain(numbered.len() - node.deps.len()..));
                dep_start.push(deps.len() as u32);
                if NodeRef::strong_count(node) > 1 || listed_twice.contains(&NodeRef::as_ptr(node))
                {
                    shared.insert(NodeRef::as_ptr(node), i);
                }
                if node.pure {
                    pure.entry(&node.key).or_insert(i);
                }
                nodes.push(node.clone());
                kinds.push(Kind::of(node));
                let priority = match node.policy() {
                    Some(policy) => {
                        resourced |= policy.resources.is_some();
                        policy.priority
                    }
                    None => 0,
                };
                match (&mut priorities, priority) {
                    (Some(priorities), priority) => priorities.push(priority),
                    (None, 0) => {}
                    (None, priority) => {
                        let mut first = vec![0; i as usize];
                        first.push(priority);
                        priorities = Some(first);
                    }
                }
                numbered.push(i);
            }
            root_indices.push(numbered.pop().expect("the root was numbered"));
        }

        let (dependent_start, dependents) = invert(nodes.len(), &dep_start, &deps);
        Graph {
            nodes,
            dep_start,
            deps,
            dependent_start,
            dependents,
            roots: root_indices,
            kinds,
            priorities,
            resourced,
        }
    }

    /// Node `i`'s priority: among ready tasks, a higher one runs first.
    pub(crate) fn priority(&self, i: u32) -> i32 {
        self.priorities.as_ref().map_or(0, |p| p[i as usize])
    }

    /// Whether any task has a priority other than 0.
    pub(crate) fn has_priorities(&self) -> bool {
        self.priorities.is_some()
    }

    /// Whether any task needs resources.
    pub(crate) fn has_resources(&self) -> bool {
        self.resourced
    }

    /// Whether node `i`'s value is known before any task runs.
    pub(crate) fn is_value(&self, i: u32) -> bool {
        self.kinds[i as usize] == Kind::Value
    }

    /// Whether node `i` is a synchronous task.
    pub(crate) fn is_sync(&self, i: u32) -> bool {
        self.kinds[i as usize] == Kind::Sync
    }

    /// Gives up the graph: its nodes and its roots' indices. The rest
    /// goes back to [`scratch`] by `back`, as should these once emptied.
    pub(crate) fn release(&mut self, back: scratch::Return) -> (Vec<NodeRef>, Vec<u32>) {
        let graph = std::mem::take(self);
        for edges in [
            graph.dep_start,
            graph.deps,
            graph.dependent_start,
            graph.dependents,
        ] {
            back.give(edges);
        }
        back.give(graph.kinds);
        (graph.nodes, graph.roots)
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    pub(crate) fn deps(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.deps[self.dep_start[i] as usize..self.dep_start[i + 1] as usize]
    }

    pub(crate) fn dependents(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.dependents[self.dependent_start[i] as usize..self.dependent_start[i + 1] as usize]
    }
}

/// The roots the caller lists more than once. A root that nothing else
/// refers to has a single reference, the caller's, so only this tells the
/// walk that it meets it again. Usually there are none.
///
/// Only the roots' addresses are read, not their nodes' memory, which the
/// walk reads next (in a large graph, a second pass over the nodes would
/// cost a cache miss apiece). Handles built one after the other mostly
/// lie at increasing addresses: the list is cut into its increasing runs,
/// where no address repeats, and a few runs are compared pairwise by
/// merging, without allocating (a large buffer allocated and freed here
/// would also make the allocator keep the compute's big arrays in its heap
/// rather than return them). Only a list in many pieces is sorted.
fn listed_twice(roots: &[&NodeRef]) -> HashSet<*const Node> {
    const MAX_RUNS: usize = 16;
    let addresses =
        |range: std::ops::Range<usize>| roots[range].iter().map(|root| NodeRef::as_ptr(root));
    // Where each increasing run starts.
    let mut runs = vec![0];
    let mut last = std::ptr::null();
    for (i, at) in addresses(0..roots.len()).enumerate() {
        if at <= last {
            runs.push(i);
            if runs.len() > MAX_RUNS {
                break;
            }
        }
        last = at;
    }
    let mut twice = HashSet::new();
    if runs.len() > MAX_RUNS {
        let mut all: Vec<*const Node> = addresses(0..roots.len()).collect();
        all.sort_unstable();
        twice.extend(all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]));
        return twice;
    }
    runs.push(roots.len());
    let ranges: Vec<_> = runs.windows(2).map(|w| w[0]..w[1]).collect();
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            let (mut a, mut b) = (
                addresses(a.clone()).peekable(),
                addresses(b.clone()).peekable(),
            );
            while let (Some(&x), Some(&y)) = (a.peek(), b.peek()) {
                match x.cmp(&y) {
                    std::cmp::Ordering::Less => drop(a.next()),
                    std::cmp::Ordering::Greater => drop(b.next()),
                    std::cmp::Ordering::Equal => {
                        twice.insert(x);
                        a.next();
                        b.next();
                    }
                }
            }
        }
    }
    twice
}

/// Builds the reverse adjacency of a CSR edge list by counting sort.
fn invert(len: usize, dep_start: &[u32], deps: &[u32]) -> (Vec<u32>, Vec<u32>) {
    // `start[d + 1]` counts, then ends, then (filled from the back) starts
    // `d`'s dependents: no second array of cursors to allocate and free.
    let mut start = scratch::take(len + 1);
    start.resize(len + 1, 0u32);
    for &dep in deps {
        start[dep as usize + 1] += 1;
    }
    for i in 0..len {
        start[i + 1] += start[i];
    }
    let mut dependents = scratch::take(deps.len());
    dependents.resize(deps.len(), 0u32);
    for node in (0..len).rev() {
        for &dep in deps[dep_start[node] as usize..dep_start[node + 1] as usize]
            .iter()
            .rev()
        {
            start[dep as usize + 1] -= 1;
            dependents[start[dep as usize + 1] as usize] = node as u32;
        }
    }
    start.copy_within(1.., 0);
    start[len] = deps.len() as u32;
    (start, dependents)
}

/// Hashes node addresses: already unique, so one multiply spreads them.
#[derive(Default)]
pub(crate) struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Name;
    use crate::value::Value;

    fn node(deps: Vec<NodeRef>) -> NodeRef {
        Node::new(
            Key::unique(Name::new(&"t")),
            false,
            deps,
            Body::Ready(Value::new(())),
        )
    }

    fn pure(hash: u64, deps: Vec<NodeRef>) -> NodeRef {
        Node::new(
            Key::hashed(Name::new(&"p"), hash),
            true,
            deps,
            Body::Ready(Value::new(())),
        )
    }

    #[test]
    fn pure_nodes_with_one_key_are_collected_once() {
        let shared = node(vec![]);
        let a = pure(7, vec![shared.clone()]);
        let b = pure(7, vec![shared.clone()]); // the same call, built twice
        let c = pure(8, vec![shared.clone()]);
        let top = node(vec![a.clone(), b.clone(), c.clone()]);
        let g = Graph::collect(&[&top, &b]);
        assert_eq!(g.len(), 4); // shared, a (standing for b too), c, top
        let top_deps = g.deps(3);
        assert_eq!(top_deps[0], top_deps[1]);
        assert_ne!(top_deps[0], top_deps[2]);
        assert_eq!(g.roots[1], top_deps[0]);
    }

    #[test]
    fn diamond_is_collected_once_in_topological_order() {
        let a = node(vec![]);
        let b = node(vec![a.clone()]);
        let c = node(vec![a.clone()]);
        let d = node(vec![b.clone(), c.clone(), b.clone()]);
        let g = Graph::collect(&[&d, &b]);
        assert_eq!(g.len(), 4);
        let pos = |n: &NodeRef| g.nodes.iter().position(|m| NodeRef::ptr_eq(m, n)).unwrap() as u32;
        assert!(pos(&a) < pos(&b) && pos(&b) < pos(&d) && pos(&c) < pos(&d));
        assert_eq!(g.deps(pos(&d)), [pos(&b), pos(&c), pos(&b)]);
        let mut of_a = g.dependents(pos(&a)).to_vec();
        of_a.sort();
        let mut expected = vec![pos(&b), pos(&c)];
        expected.sort();
        assert_eq!(of_a, expected);
        assert_eq!(g.dependents(pos(&b)), [pos(&d), pos(&d)]);
        assert_eq!(g.roots, [pos(&d), pos(&b)]);
    }

    #[test]
    fn a_root_listed_again_by_the_same_handle_is_collected_once() {
        let shared = node(vec![]);
        let a = node(vec![shared.clone()]);
        let b = node(vec![shared]);
        let c = node(vec![]);
        // `a` and `c` have no reference but these; the order of the list
        // does not follow their addresses either way round.
        for roots in [[&a, &b, &c, &a, &c], [&c, &b, &a, &c, &a]] {
            let g = Graph::collect(&roots);
            assert_eq!(g.len(), 4); // shared, a, b, c
            assert_eq!(g.roots[0], g.roots[3]);
            assert_eq!(g.roots[2], g.roots[4]);
            assert_ne!(g.roots[0], g.roots[2]);
        }
        assert_eq!(NodeRef::strong_count(&a), 1);
    }

    #[test]
    fn roots_listed_again_in_many_pieces_are_collected_once() {
        let lone: Vec<NodeRef> = (0..40).map(|_| node(vec![])).collect();
        // Listed at decreasing addresses, a new run at each step: more runs
        // than are merged pairwise, so the list is sorted; then every other
        // one again.
        let mut roots: Vec<&NodeRef> = lone.iter().collect();
        roots.sort_by_key(|root| std::cmp::Reverse(NodeRef::as_ptr(root)));
        let again: Vec<&NodeRef> = roots.iter().copied().step_by(2).collect();
        roots.extend(again);
        let g = Graph::collect(&roots);
        assert_eq!(g.len(), 40);
        for k in 0..20 {
            assert_eq!(g.roots[40 + k], g.roots[2 * k]);
        }
    }

    #[test]
    fn walking_a_million_link_chain_needs_no_deep_stack() {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let mut tip = node(vec![]);
                for _ in 0..1_000_000 {
                    tip = node(vec![tip]);
                }
                let g = Graph::collect(&[&tip]);
                assert_eq!(g.len(), 1_000_001);
                assert_eq!(g.roots, [1_000_000]);
                assert_eq!(g.deps(1_000_000), [999_999]);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
