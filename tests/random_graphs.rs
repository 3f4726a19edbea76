//! Property: any random graph, computed by the default client, a one-thread
//! client or the synchronous client, gives exactly the values of a plain
//! sequential evaluation, and runs each needed task exactly once.

mod common;
#[path = "common/graphs.rs"]
mod graphs;

use delayed::{Client, Delayed};
use graphs::{Kind, Spec};
use proptest::prelude::*;
use std::sync::OnceLock;

fn clients() -> [&'static Client; 3] {
    static ONE_THREAD: OnceLock<Client> = OnceLock::new();
    static SYNCHRONOUS: OnceLock<Client> = OnceLock::new();
    [
        Client::global().unwrap(),
        ONE_THREAD.get_or_init(|| Client::builder().threads(1).build().unwrap()),
        SYNCHRONOUS.get_or_init(Client::synchronous),
    ]
}

fn check(spec: &Spec) -> Result<(), TestCaseError> {
    let expected = graphs::oracle(spec);
    let needed = graphs::needed(spec);
    for client in clients() {
        let case = graphs::new_case();
        let handles = graphs::build(spec, case);
        let outputs: Vec<Delayed<u64>> = spec.outputs.iter().map(|&o| handles[o].clone()).collect();
        let values = common::within(120, move || client.compute(&outputs))
            .map_err(|e| TestCaseError::fail(format!("{client:?}: {e:?}")))?;
        let wanted: Vec<u64> = spec.outputs.iter().map(|&o| expected[o]).collect();
        prop_assert_eq!(values, wanted, "{:?}", client);
        for (i, node) in spec.nodes.iter().enumerate() {
            if matches!(node.kind, Kind::Value | Kind::PureTwin(_)) {
                continue; // no task of its own
            }
            let runs = graphs::runs(case, i);
            let expected_runs = usize::from(needed.contains(&i));
            prop_assert_eq!(runs, expected_runs, "node {} on {:?}", i, client);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(graphs::cases(48)))]

    #[test]
    fn random_graphs_compute_like_a_sequential_evaluation(spec in graphs::spec(graphs::max_nodes(), 0)) {
        check(&spec)?;
    }
}

#[test]
fn a_graph_of_every_kind_by_hand() {
    use graphs::{Fault, NodeSpec};
    let node = |kind, deps: &[usize]| NodeSpec {
        kind,
        deps: deps.to_vec(),
        fault: Fault::None,
    };
    let spec = Spec {
        nodes: vec![
            node(Kind::Value, &[]),
            node(Kind::Sync, &[0]),
            node(Kind::Async, &[0, 1]),
            node(Kind::Pure, &[1, 2]),
            node(Kind::PureTwin(3), &[]),
            node(Kind::Sync, &[3, 4, 4]),
        ],
        outputs: vec![5, 4, 2],
    };
    check(&spec).unwrap();
}
