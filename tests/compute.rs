//! `compute!`, `delayed::compute`, `.compute()` and `compute_async`.

mod common;

use delayed::{Delayed, compute, delayed};

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[test]
fn one_argument_returns_its_value_directly() {
    let l: Vec<Delayed<i64>> = (0..5).map(inc).collect();
    let values: Vec<i64> = compute!(l).unwrap();
    assert_eq!(values, [1, 2, 3, 4, 5]);
    let single: i64 = compute!(inc(1)).unwrap();
    assert_eq!(single, 2);
}

#[test]
fn several_arguments_return_a_tuple() {
    let (a, b, c) = compute!(inc(1), vec![inc(2)], [inc(3), inc(4)]).unwrap();
    assert_eq!((a, b, c), (2, vec![3], [4, 5]));
    let trailing_comma: (i64, i64) = compute!(inc(0), inc(0),).unwrap();
    assert_eq!(trailing_comma, (1, 1));
}

#[test]
fn arguments_are_borrowed_and_stay_usable() {
    let a = inc(1);
    let l = vec![inc(2), inc(3)];
    assert_eq!(compute!(a, l).unwrap(), (2, vec![3, 4]));
    assert_eq!(compute!(a).unwrap(), 2);
    assert_eq!(compute!(l).unwrap(), [3, 4]);
}

#[test]
fn the_function_forms_take_anything_computable() {
    let l = vec![inc(1), inc(2)];
    assert_eq!(delayed::compute(&l).unwrap(), [2, 3]);
    assert_eq!(delayed::compute(&l[..1]).unwrap(), [2]);
    assert_eq!(delayed::compute(&[inc(0)]).unwrap(), [1]);
    assert_eq!(delayed::compute(&(inc(0), &l)).unwrap(), (1, vec![2, 3]));
    assert_eq!(
        delayed::compute(&vec![vec![inc(0)], vec![]]).unwrap(),
        [vec![1], vec![]]
    );
    assert_eq!(inc(9).compute().unwrap(), 10);
}

#[test]
fn twelve_element_tuples() {
    let t = compute!(
        inc(0),
        inc(1),
        inc(2),
        inc(3),
        inc(4),
        inc(5),
        inc(6),
        inc(7),
        inc(8),
        inc(9),
        inc(10),
        inc(11)
    )
    .unwrap();
    assert_eq!(t, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
}

#[test]
fn empty_collections_and_plain_values_compute() {
    let none: Vec<Delayed<i64>> = Vec::new();
    assert_eq!(compute!(none).unwrap(), Vec::<i64>::new());
    let v = delayed::value(String::from("kept"));
    assert_eq!(
        compute!(v, v).unwrap(),
        ("kept".to_string(), "kept".to_string())
    );
    assert_eq!(v.compute().unwrap(), "kept");
}

#[test]
fn the_same_handle_twice_gives_the_value_twice() {
    let a = inc(1);
    assert_eq!(compute!(a, a, vec![a.clone()]).unwrap(), (2, 2, vec![2]));
}

#[test]
fn compute_async_on_a_current_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let l = vec![inc(1), inc(2)];
    let values = runtime.block_on(delayed::compute_async(&l)).unwrap();
    assert_eq!(values, [2, 3]);
    let one = runtime.block_on(inc(5).compute_async()).unwrap();
    assert_eq!(one, 6);
}

#[tokio::test]
async fn compute_async_in_tokio_test() {
    let l = vec![inc(1), inc(2)];
    assert_eq!(delayed::compute_async(&l).await.unwrap(), [2, 3]);
}

#[tokio::test]
async fn blocking_forms_inside_a_current_thread_runtime_do_not_panic() {
    assert_eq!(compute!(inc(1)).unwrap(), 2);
    assert_eq!(inc(2).compute().unwrap(), 3);
    let sync = delayed::Client::synchronous();
    assert_eq!(sync.compute(&inc(3)).unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_forms_inside_a_multi_thread_runtime_do_not_panic() {
    assert_eq!(compute!(inc(1)).unwrap(), 2);
    let sync = delayed::Client::synchronous();
    assert_eq!(sync.compute(&inc(3)).unwrap(), 4);
}

#[test]
fn a_task_may_compute_another_graph() {
    #[delayed]
    fn nested(x: i64) -> i64 {
        inc(x).compute().unwrap() * 10
    }
    let v = common::within(30, || nested(1).compute().unwrap());
    assert_eq!(v, 20);
}
