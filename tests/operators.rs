//! Operators, `map`/`map_ref` and `split`: lazy access to values.

use delayed::{Client, Delayed, compute, delayed};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn every_binary_operator_between_handles_and_values() {
    let a = delayed::value(12_i64);
    let b = delayed::value(5_i64);
    let arithmetic = compute!(&a + &b, &a - &b, &a * &b, &a / &b, &a % &b).unwrap();
    assert_eq!(arithmetic, (17, 7, 60, 2, 2));
    let with_values = compute!(&a + 1, 100 - &a, &a * 2, 24 / &a, &a % 5).unwrap();
    assert_eq!(with_values, (13, 88, 24, 2, 2));
    let bits = delayed::value(0b1100_u8);
    let bitwise = compute!(
        &bits & 0b1010,
        &bits | 0b0001,
        &bits ^ 0b1111,
        &bits << 2,
        &bits >> 2,
        &bits >> delayed::value(1_u8)
    )
    .unwrap();
    assert_eq!(bitwise, (0b1000, 0b1101, 0b0011, 0b11_0000, 0b11, 0b110));
    let unary = compute!(-&a, !&bits, !delayed::value(false)).unwrap();
    assert_eq!(unary, (-12, 0b1111_0011, true));
}

/// `a >> 1` on a `Delayed<i64>` used to need `1_u32`: every primitive
/// shift amount was on offer, so the literal was ambiguous (E0282).
#[test]
fn a_shift_by_a_plain_literal_needs_no_annotation() {
    let a = delayed::value(-20_i64);
    let halved = &a >> 1;
    assert_eq!(halved.key().name(), "rshift");
    assert_eq!(compute!(halved, a << 1).unwrap(), (-10, -40));
}

#[test]
fn operators_consume_or_borrow_handles_and_chain() {
    let x = delayed::value(2.0_f64);
    let y = delayed::value(3.0_f64);
    let expr = (x.clone() + y) * &x - 1.0;
    assert_eq!(expr.compute().unwrap(), 9.0);
    assert_eq!(expr.key().name(), "sub");
    assert_eq!((-&x).key().name(), "neg");
}

#[test]
fn operators_on_task_results_run_each_task_once() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn load(x: i64) -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        x
    }
    let a = load(4);
    let total = &a * &a + &a;
    assert_eq!(total.compute().unwrap(), 20);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}

#[test]
fn comparisons_are_done_inside_a_task() {
    let a = delayed::value(5_i64);
    let positive: Delayed<bool> = a.map(|v| v > 0);
    assert!(positive.compute().unwrap());
}

#[derive(Clone, Debug, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

impl Point {
    fn norm(&self) -> f64 {
        (self.x * self.x + self.y * self.y).sqrt()
    }
}

#[test]
fn map_ref_reads_attributes_and_calls_methods_without_cloning() {
    let p = delayed::value(Point { x: 3.0, y: 4.0 });
    let (x, y, norm) = compute!(
        p.map_ref(|p| p.x),
        p.map_ref(|p| p.y),
        p.map_ref(Point::norm)
    )
    .unwrap();
    assert_eq!((x, y, norm), (3.0, 4.0, 5.0));
}

#[test]
fn map_may_consume_the_value() {
    let words = delayed::value("b a c".to_string());
    let sorted = words.map(|s| {
        let mut parts: Vec<String> = s.split(' ').map(str::to_owned).collect();
        parts.sort();
        parts
    });
    assert_eq!(sorted.compute().unwrap(), ["a", "b", "c"]);
}

#[test]
fn split_gives_one_handle_per_tuple_element() {
    #[delayed]
    fn stats(v: Vec<i64>) -> (i64, i64, f64) {
        let sum: i64 = v.iter().sum();
        (
            *v.iter().min().unwrap(),
            *v.iter().max().unwrap(),
            sum as f64 / v.len() as f64,
        )
    }
    let (lo, hi, mean) = stats(vec![4, 1, 7]).split();
    assert_eq!(lo.key().name(), "getitem");
    assert_eq!(compute!(lo, hi, mean).unwrap(), (1, 7, 4.0));
    let twelve = delayed::value((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12_u8));
    let parts = twelve.split();
    assert_eq!(parts.11.compute().unwrap(), 12);
    assert_eq!(Client::synchronous().compute(&parts.0).unwrap(), 1);
}
