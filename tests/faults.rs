//! Fault injection: in random graphs, random tasks return `Err` or panic.
//! The compute returns the error of a failing task (named by its key, with
//! its cause), never a result; no task whose inputs failed runs; nothing
//! hangs; and the client computes the next graph correctly.

mod common;
#[path = "common/graphs.rs"]
mod graphs;

use delayed::{Client, Delayed};
use graphs::{Fault, Spec};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn clients() -> [&'static Client; 3] {
    static FOUR: OnceLock<Client> = OnceLock::new();
    static ONE_THREAD: OnceLock<Client> = OnceLock::new();
    static SYNCHRONOUS: OnceLock<Client> = OnceLock::new();
    [
        FOUR.get_or_init(|| Client::builder().threads(4).build().unwrap()),
        ONE_THREAD.get_or_init(|| Client::builder().threads(1).build().unwrap()),
        SYNCHRONOUS.get_or_init(Client::synchronous),
    ]
}

fn check(spec: &Spec) -> Result<(), TestCaseError> {
    graphs::quiet_injected_panics();
    let needed = graphs::needed(spec);
    let input_fails = graphs::input_fails(spec);
    let failing_needed: Vec<usize> = needed
        .iter()
        .copied()
        .filter(|&i| graphs::fails(spec, i))
        .collect();
    for client in clients() {
        let case = graphs::new_case();
        let handles = graphs::build(spec, case);
        let keys: HashMap<String, usize> = handles
            .iter()
            .enumerate()
            .map(|(i, h)| (h.key().to_string(), graphs::original(spec, i)))
            .collect();
        let outputs: Vec<Delayed<u64>> = spec.outputs.iter().map(|&o| handles[o].clone()).collect();
        let result = common::within(120, move || client.compute(&outputs));
        if failing_needed.is_empty() {
            prop_assert!(result.is_ok(), "{:?}: {:?}", client, result.err());
        } else {
            let err = match result {
                Ok(values) => {
                    return Err(TestCaseError::fail(format!(
                        "{client:?} gave {values:?} despite failures"
                    )));
                }
                Err(err) => err,
            };
            let key = err.key().expect("a task failed").to_string();
            let &failed = keys
                .get(&key)
                .ok_or_else(|| TestCaseError::fail(format!("unknown key {key}")))?;
            prop_assert!(
                failing_needed.contains(&failed),
                "node {} did not fail",
                failed
            );
            let cause = std::error::Error::source(&err).unwrap().to_string();
            match spec.nodes[failed].fault {
                Fault::Err => {
                    prop_assert!(!err.is_panic());
                    prop_assert_eq!(cause, format!("injected error {failed}"));
                }
                Fault::Panic => {
                    prop_assert!(err.is_panic());
                    prop_assert_eq!(cause, format!("injected panic {failed}"));
                }
                Fault::None => unreachable!(),
            }
        }
        // Let tasks already running when the compute failed end.
        std::thread::sleep(std::time::Duration::from_millis(2));
        for (i, &input_failed) in input_fails.iter().enumerate() {
            let runs = graphs::runs(case, i);
            prop_assert!(runs <= 1, "node {} ran {} times", i, runs);
            if input_failed {
                prop_assert_eq!(runs, 0, "node {} ran although an input failed", i);
            }
        }
        // The client is still usable.
        let healthy = delayed::value(20_u64).map(|v| v + 1);
        prop_assert_eq!(client.compute(&healthy).unwrap(), 21);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(graphs::cases(48)))]

    #[test]
    fn failures_are_reported_and_stop_their_dependents(spec in graphs::spec(graphs::max_nodes(), 10)) {
        check(&spec)?;
    }
}
