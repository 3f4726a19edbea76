//! Every shape of function `#[delayed]` accepts, called with every kind of
//! argument.

use delayed::{Delayed, compute, delayed};
use std::collections::BTreeMap;

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[test]
fn calls_return_handles_and_compute_to_values() {
    let a: Delayed<i64> = inc(1);
    let b: Delayed<i64> = add(&a, 10);
    assert_eq!(b.compute().unwrap(), 12);
}

#[test]
fn arguments_mix_values_handles_and_references() {
    let one = delayed::value(1_i64);
    let by_ref = add(&one, 2); // &Delayed + value
    let by_value = add(by_ref.clone(), one.clone()); // Delayed by value
    let both_refs = add(&by_ref, &by_value);
    assert_eq!(compute!(by_ref, by_value, both_refs).unwrap(), (3, 4, 7));
}

#[test]
fn nothing_runs_until_computed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn counted(x: i64) -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        x
    }
    let handle = counted(5);
    let chained = add(&handle, &handle);
    assert_eq!(RUNS.load(Ordering::SeqCst), 0);
    assert_eq!(chained.compute().unwrap(), 10);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}

#[delayed]
fn describe(table: &BTreeMap<String, i64>, title: &str, ids: &[u32]) -> String {
    format!("{title}: {} rows, {} ids", table.len(), ids.len())
}

#[test]
fn reference_parameters_borrow_shared_values() {
    let table: BTreeMap<String, i64> = [("a".to_string(), 1)].into();
    let shown = describe(table, "t", vec![1, 2, 3]);
    assert_eq!(shown.compute().unwrap(), "t: 1 rows, 3 ids");
    // `&str` and `&[T]` also accept handles of `String` and `Vec<T>`.
    let title = delayed::value("title".to_string());
    let ids = delayed::value(vec![7_u32]);
    let shown = describe(BTreeMap::<String, i64>::new(), &title, ids);
    assert_eq!(shown.compute().unwrap(), "title: 0 rows, 1 ids");
}

#[delayed]
fn checked_div(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        Err(format!("{a} / 0"))
    } else {
        Ok(a / b)
    }
}

#[delayed]
fn read_number(text: String) -> std::io::Result<i64> {
    text.trim()
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[test]
fn result_returns_give_handles_of_the_ok_type() {
    let q: Delayed<i64> = checked_div(10, 2);
    assert_eq!(q.compute().unwrap(), 5);
    let n: Delayed<i64> = read_number(" 42 ".to_string());
    assert_eq!(add(n, q).compute().unwrap(), 47);
    assert!(checked_div(1, 0).compute().is_err());
}

#[delayed]
async fn slow_double(x: u64) -> u64 {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    2 * x
}

#[delayed]
async fn fallible_async(x: u64, limit: &u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    if x > *limit {
        Err(format!("{x} > {limit}"))
    } else {
        Ok(x)
    }
}

#[test]
fn async_functions_become_tasks() {
    let d = slow_double(21);
    let ok = fallible_async(&d, 50);
    let too_big = fallible_async(&d, 10);
    assert_eq!(compute!(d, ok).unwrap(), (42, 42));
    let err = too_big.compute().unwrap_err();
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "42 > 10"
    );
}

#[delayed]
fn first<T: Clone + Send + Sync + 'static>(items: Vec<T>) -> Option<T> {
    items.first().cloned()
}

#[delayed]
fn repeat<T, const N: usize>(item: &T) -> Vec<T>
where
    T: Clone + Send + Sync + 'static,
{
    vec![item.clone(); N]
}

#[test]
fn generic_functions_work_with_named_or_inferred_types() {
    assert_eq!(first(vec![3, 4]).compute().unwrap(), Some(3));
    let words = delayed::value(vec!["a".to_string()]);
    assert_eq!(
        first::<String>(&words).compute().unwrap(),
        Some("a".to_string())
    );
    assert_eq!(repeat::<u8, 3>(7).compute().unwrap(), vec![7, 7, 7]);
}

#[delayed]
fn swap((a, b): (i64, i64), _: u8, mut acc: Vec<i64>) -> Vec<i64> {
    acc.push(b);
    acc.push(a);
    acc
}

#[test]
fn patterns_mut_and_wildcard_parameters() {
    let pair = delayed::value((1, 2));
    assert_eq!(swap(pair, 0, vec![0]).compute().unwrap(), vec![0, 2, 1]);
}

#[delayed]
fn nothing() {}

#[delayed]
fn constant() -> &'static str {
    "always"
}

#[delayed]
fn r#type(r#in: i64) -> i64 {
    r#in
}

#[test]
fn no_parameters_unit_returns_and_raw_identifiers() {
    let unit: Delayed<()> = nothing();
    unit.compute().unwrap();
    assert_eq!(constant().compute().unwrap(), "always");
    let t = r#type(4);
    assert_eq!(t.key().name(), "type");
    assert_eq!(t.compute().unwrap(), 4);
}

#[delayed(name = "load")]
fn read_day(day: u32) -> u32 {
    day
}

#[test]
fn keys_carry_the_function_or_given_name() {
    let a = inc(1);
    assert_eq!(a.key().name(), "inc");
    assert!(a.key().to_string().starts_with("inc-"));
    assert_ne!(a.key(), inc(1).key());
    assert_eq!(a.clone().key(), a.key());
    assert_eq!(read_day(1).key().name(), "load");
    assert_eq!(delayed::value(1).key().name(), "value");
}

/// Docs, visibility and other attributes stay on the generated function.
mod visibility {
    use delayed::delayed;

    /// Doubles a number.
    #[delayed]
    #[allow(clippy::let_and_return)]
    pub(crate) fn double(x: i64) -> i64 {
        let doubled = 2 * x;
        doubled
    }
}

#[test]
fn visibility_and_attributes_are_kept() {
    assert_eq!(visibility::double(4).compute().unwrap(), 8);
}

#[test]
fn inside_the_body_the_name_is_the_lazy_function() {
    // As in Dask, the attribute replaces the function: calling it from its
    // own body builds a task, which the body computes here.
    #[delayed]
    fn factorial(n: u64) -> u64 {
        let rest: delayed::Delayed<u64> = factorial(n.saturating_sub(1));
        if n == 0 {
            1
        } else {
            n * rest.compute().unwrap()
        }
    }
    assert_eq!(factorial(5).compute().unwrap(), 120);
}
