//! Random task graphs for the property tests: a specification, a builder
//! that turns it into handles, a sequential oracle, and run counters.

#![allow(dead_code)]

use delayed::{Delayed, delayed};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a node of a random graph is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Delayed::value`: no task.
    Value,
    /// A synchronous task.
    Sync,
    /// An `async fn` task.
    Async,
    /// A `#[delayed(pure)]` task.
    Pure,
    /// The same pure call as node `j`, built again: it must share `j`'s key
    /// and run once with it.
    PureTwin(usize),
}

/// What a task does wrong, if anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    Err,
    Panic,
}

#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub kind: Kind,
    pub deps: Vec<usize>,
    pub fault: Fault,
}

/// A random DAG: node `i` depends only on nodes before it.
#[derive(Clone, Debug)]
pub struct Spec {
    pub nodes: Vec<NodeSpec>,
    /// The nodes computed together.
    pub outputs: Vec<usize>,
}

/// Random graphs of up to `max_nodes` nodes with fan-in up to 4; a node is
/// faulty with probability `fault_percent` in 100.
pub fn spec(max_nodes: usize, fault_percent: u8) -> impl Strategy<Value = Spec> {
    let node = (
        0_u8..5,
        prop::collection::vec(any::<Index>(), 0..5),
        0_u8..100,
        any::<Index>(),
    );
    (
        prop::collection::vec(node, 1..=max_nodes),
        prop::collection::vec(any::<Index>(), 1..8),
    )
        .prop_map(move |(raw, outputs)| {
            let mut nodes: Vec<NodeSpec> = Vec::with_capacity(raw.len());
            for (i, (kind, deps, fault, twin)) in raw.into_iter().enumerate() {
                let pures: Vec<usize> = (0..i).filter(|&j| nodes[j].kind == Kind::Pure).collect();
                let kind = match kind {
                    0 => Kind::Value,
                    1 => Kind::Sync,
                    2 => Kind::Async,
                    3 => Kind::Pure,
                    _ if !pures.is_empty() => Kind::PureTwin(*twin.get(&pures)),
                    _ => Kind::Sync,
                };
                let deps = if i == 0 || matches!(kind, Kind::Value | Kind::PureTwin(_)) {
                    Vec::new()
                } else {
                    deps.iter().map(|d| d.index(i)).collect()
                };
                let fault = match (kind, fault) {
                    (Kind::Value | Kind::PureTwin(_), _) => Fault::None,
                    (_, f) if f < fault_percent / 2 => Fault::Err,
                    (_, f) if f < fault_percent => Fault::Panic,
                    _ => Fault::None,
                };
                nodes.push(NodeSpec { kind, deps, fault });
            }
            let len = nodes.len();
            let outputs = outputs.iter().map(|o| o.index(len)).collect();
            Spec { nodes, outputs }
        })
}

/// Runs of each task, by (case, node id).
static RUNS: Mutex<Option<HashMap<(u64, u64), usize>>> = Mutex::new(None);

/// A fresh case number, so that counts of different computes never mix.
pub fn new_case() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn runs(case: u64, id: usize) -> usize {
    RUNS.lock()
        .unwrap()
        .as_ref()
        .and_then(|runs| runs.get(&(case, id as u64)).copied())
        .unwrap_or(0)
}

fn record(case: u64, id: u64) {
    *RUNS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry((case, id))
        .or_insert(0) += 1;
}

/// The value of a task from its id and inputs.
pub fn mix(id: u64, inputs: &[u64]) -> u64 {
    inputs
        .iter()
        .fold(id.wrapping_mul(0x9E37_79B9_7F4A_7C15), |acc, x| {
            (acc ^ x).wrapping_mul(31).rotate_left(7)
        })
}

fn body(case: u64, id: u64, fault: u8, inputs: &[u64]) -> Result<u64, String> {
    record(case, id);
    match fault {
        1 => Err(format!("injected error {id}")),
        2 => panic!("injected panic {id}"),
        _ => Ok(mix(id, inputs)),
    }
}

#[delayed]
fn sync_node(case: u64, id: u64, fault: u8, inputs: Vec<u64>) -> Result<u64, String> {
    body(case, id, fault, &inputs)
}

#[delayed]
async fn async_node(case: u64, id: u64, fault: u8, inputs: Vec<u64>) -> Result<u64, String> {
    tokio::task::yield_now().await;
    body(case, id, fault, &inputs)
}

#[delayed(pure)]
fn pure_node(case: u64, id: u64, fault: u8, inputs: Vec<u64>) -> Result<u64, String> {
    body(case, id, fault, &inputs)
}

fn fault_code(fault: Fault) -> u8 {
    match fault {
        Fault::None => 0,
        Fault::Err => 1,
        Fault::Panic => 2,
    }
}

pub fn value_of(i: usize) -> u64 {
    i as u64 * 7 + 1
}

/// Builds the graph for `case`: one handle per node.
pub fn build(spec: &Spec, case: u64) -> Vec<Delayed<u64>> {
    let mut handles: Vec<Delayed<u64>> = Vec::with_capacity(spec.nodes.len());
    for (i, node) in spec.nodes.iter().enumerate() {
        let call = |j: usize, handles: &[Delayed<u64>]| {
            let spec = &spec.nodes[j];
            let inputs: Vec<Delayed<u64>> = spec.deps.iter().map(|&d| handles[d].clone()).collect();
            let fault = fault_code(spec.fault);
            match spec.kind {
                Kind::Sync => sync_node(case, j as u64, fault, inputs),
                Kind::Async => async_node(case, j as u64, fault, inputs),
                Kind::Pure => pure_node(case, j as u64, fault, inputs),
                Kind::Value | Kind::PureTwin(_) => unreachable!("not a call"),
            }
        };
        let handle = match node.kind {
            Kind::Value => Delayed::value(value_of(i)),
            Kind::PureTwin(j) => call(j, &handles),
            _ => call(i, &handles),
        };
        handles.push(handle);
    }
    handles
}

/// The node a twin stands for; any other node stands for itself.
pub fn original(spec: &Spec, i: usize) -> usize {
    match spec.nodes[i].kind {
        Kind::PureTwin(j) => j,
        _ => i,
    }
}

/// Plain sequential evaluation: every node's value.
pub fn oracle(spec: &Spec) -> Vec<u64> {
    let mut values: Vec<u64> = Vec::with_capacity(spec.nodes.len());
    for (i, node) in spec.nodes.iter().enumerate() {
        let value = match node.kind {
            Kind::Value => value_of(i),
            Kind::PureTwin(j) => values[j],
            _ => {
                let inputs: Vec<u64> = node.deps.iter().map(|&d| values[d]).collect();
                mix(i as u64, &inputs)
            }
        };
        values.push(value);
    }
    values
}

/// The nodes the outputs need, twins resolved to their originals.
pub fn needed(spec: &Spec) -> HashSet<usize> {
    let mut needed = HashSet::new();
    let mut stack: Vec<usize> = spec.outputs.iter().map(|&o| original(spec, o)).collect();
    while let Some(i) = stack.pop() {
        if needed.insert(i) {
            stack.extend(spec.nodes[i].deps.iter().map(|&d| original(spec, d)));
        }
    }
    needed
}

/// Whether node `i`'s own call fails.
pub fn fails(spec: &Spec, i: usize) -> bool {
    spec.nodes[original(spec, i)].fault != Fault::None
}

/// Whether some input of node `i`, directly or further up, fails.
pub fn input_fails(spec: &Spec) -> Vec<bool> {
    let mut failed_below: Vec<bool> = Vec::with_capacity(spec.nodes.len());
    let mut fails_or_below: Vec<bool> = Vec::with_capacity(spec.nodes.len());
    for i in 0..spec.nodes.len() {
        let j = original(spec, i);
        let below = spec.nodes[j].deps.iter().any(|&d| fails_or_below[d]);
        failed_below.push(below);
        fails_or_below.push(below || fails(spec, i));
    }
    failed_below
}

/// Silences the panic messages of injected panics (they are expected) and
/// keeps every other panic's report.
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("injected panic"));
            if !injected {
                default(info);
            }
        }));
    });
}

/// Proptest cases per property: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Largest random graph: a few thousand nodes with `DELAYED_LONG_TESTS`.
pub fn max_nodes() -> usize {
    if std::env::var_os("DELAYED_LONG_TESTS").is_some() {
        3_000
    } else {
        200
    }
}
