//! Collections of handles passed where a function takes the values.

use delayed::{Client, Delayed, compute, delayed};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

#[delayed]
fn total(values: Vec<i64>) -> i64 {
    values.iter().sum()
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[test]
fn a_vec_of_handles_is_a_vec_of_values() {
    let parts: Vec<Delayed<i64>> = (0..10).map(inc).collect();
    assert_eq!(total(parts).compute().unwrap(), 55);
    assert_eq!(total(vec![1, 2, 3]).compute().unwrap(), 6);
}

#[test]
fn slices_vecs_of_references_and_arrays() {
    let parts: Vec<Delayed<i64>> = (0..3).map(inc).collect();
    let by_slice = total(&parts[..]);
    let by_vec_ref = total(&parts);
    let by_refs = total(vec![&parts[0], &parts[0]]);
    assert_eq!(compute!(by_slice, by_vec_ref, by_refs).unwrap(), (6, 6, 2));
    #[delayed]
    fn first_and_last(values: [i64; 3]) -> (i64, i64) {
        (values[0], values[2])
    }
    let array = [inc(0), inc(1), inc(2)];
    assert_eq!(first_and_last(array).compute().unwrap(), (1, 3));
}

#[test]
fn each_element_task_runs_once_and_in_parallel() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn slow(x: i64) -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(20));
        x
    }
    let shared = slow(1);
    let parts = vec![shared.clone(), shared.clone(), slow(2)];
    let client = Client::builder().threads(4).build().unwrap();
    assert_eq!(client.compute(&total(parts)).unwrap(), 4);
    assert_eq!(RUNS.load(Ordering::SeqCst), 2);
}

#[test]
fn maps_of_handles_are_maps_of_values() {
    #[delayed]
    fn describe(counts: BTreeMap<String, i64>) -> String {
        counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
    #[delayed]
    fn largest(counts: HashMap<&'static str, i64>) -> &'static str {
        counts.into_iter().max_by_key(|(_, v)| *v).unwrap().0
    }
    let tree = BTreeMap::from([("b".to_string(), inc(1)), ("a".to_string(), inc(0))]);
    let hash = HashMap::from([("small", inc(1)), ("big", inc(100))]);
    assert_eq!(
        compute!(describe(tree), largest(hash)).unwrap(),
        ("a=1,b=2".to_string(), "big")
    );
}

#[test]
fn maps_of_handles_are_computable() {
    let tree = BTreeMap::from([(1, inc(1)), (2, inc(2))]);
    assert_eq!(compute!(tree).unwrap(), BTreeMap::from([(1, 2), (2, 3)]));
    let hash = HashMap::from([("x", inc(10))]);
    assert_eq!(compute!(hash).unwrap(), HashMap::from([("x", 11)]));
}

#[test]
fn generic_functions_name_the_element_type() {
    #[delayed]
    fn count<T: Clone>(values: Vec<T>) -> usize {
        values.len()
    }
    let parts: Vec<Delayed<i64>> = (0..4).map(inc).collect();
    assert_eq!(count::<i64>(parts).compute().unwrap(), 4);
    assert_eq!(total(Vec::<i64>::new()).compute().unwrap(), 0);
}

#[test]
fn the_function_form_takes_collections_too() {
    let a = delayed::value(1_i64);
    let b = delayed::value(2_i64);
    let sum = delayed(|v: Vec<i64>| v.iter().sum::<i64>()).call(vec![a, b]);
    assert_eq!(sum.compute().unwrap(), 3);
}
