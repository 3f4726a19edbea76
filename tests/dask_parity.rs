//! The behaviours Dask's own `dask/tests/test_delayed.py` checks, written
//! for Rust where they have a meaning here. Each test names its original.

use delayed::{Delayed, compute, delayed};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `test_operators`: arithmetic, unary and bitwise operators on delayed
/// values build tasks and compute like the plain expressions.
#[test]
fn test_operators() {
    let a = delayed::value(vec![1_i64, 2, 3]);
    let first = a.map_ref(|v| v[0]);
    assert_eq!(first.compute().unwrap(), 1);
    let b = delayed::value(2_i64);
    let (times, square, neg, inv, abs) =
        compute!(&b * 3, b.map(|x| x.pow(2)), -&b, !&b, (-&b).map(i64::abs)).unwrap();
    assert_eq!((times, square, neg, inv, abs), (6, 4, -2, !2, 2));
    assert_eq!((5 % &b).compute().unwrap(), 1);
}

/// `test_methods`: method chains on a delayed string, with pure calls of
/// the same method sharing a key.
#[test]
fn test_methods() {
    let a = delayed::value("a b c d e".to_string());
    let parts = a.map_ref(|s| s.split(' ').map(str::to_owned).collect::<Vec<_>>());
    assert_eq!(parts.compute().unwrap(), ["a", "b", "c", "d", "e"]);
    let count = a
        .map_ref(|s| s.to_uppercase())
        .map(|s| s.replace('B', "A"))
        .map_ref(|s| s.split(' ').filter(|w| *w == "A").count());
    assert_eq!(count.compute().unwrap(), 2);

    #[delayed(pure)]
    fn split(s: &str, separator: char) -> Vec<String> {
        s.split(separator).map(str::to_owned).collect()
    }
    assert_eq!(split(&a, ' ').key(), split(&a, ' ').key());
    assert_ne!(split(&a, ' ').key(), split(&a, ',').key());
}

/// `test_attributes`: attribute access on a delayed complex number.
#[test]
fn test_attributes() {
    #[derive(Clone)]
    struct Complex {
        re: f64,
        im: f64,
    }
    let a = delayed::value(Complex { re: 2.0, im: 1.0 });
    assert_eq!(
        compute!(a.map_ref(|c| c.re), a.map_ref(|c| c.im)).unwrap(),
        (2.0, 1.0)
    );
}

/// `test_common_subexpressions`: `a[0] + a[0]` reuses one `a[0]` task,
/// which reuses the one `a`: three tasks, each run once.
#[test]
fn test_common_subexpressions() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn make() -> Vec<i64> {
        RUNS.fetch_add(1, Ordering::SeqCst);
        vec![1, 2, 3]
    }
    let a = make();
    let first = a.map_ref(|v| v[0]);
    let res = &first + &first;
    assert_eq!(res.compute().unwrap(), 2);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}

/// `test_lists`: a list of delayed values passed to a function that sums it.
#[test]
fn test_lists() {
    let a = delayed::value(1_i64);
    let b = delayed::value(2_i64);
    let c = delayed(|values: Vec<i64>| values.iter().sum::<i64>()).call(vec![a, b]);
    assert_eq!(c.compute().unwrap(), 3);
}

/// `test_literates`: plain values and handles mix inside argument lists.
#[test]
fn test_literates() {
    #[delayed]
    fn lit(values: Vec<i64>, extra: i64) -> i64 {
        values.iter().sum::<i64>() + extra
    }
    let a = delayed::value(1_i64);
    assert_eq!(
        lit(vec![a.clone(), delayed::value(2)], 3)
            .compute()
            .unwrap(),
        6
    );
    assert_eq!(lit(vec![1, 2], &a).compute().unwrap(), 4);
}

/// `test_pure`: pure calls of the same function and arguments share a key;
/// impure ones (like `random`) never do.
#[test]
fn test_pure() {
    #[delayed(pure)]
    fn add(x: i64, y: i64) -> i64 {
        x + y
    }
    #[delayed]
    fn random() -> u64 {
        7
    }
    assert_eq!(add(1, 2).key(), add(1, 2).key());
    assert_ne!(random().key(), random().key());
}

/// `test_nout`: a function returning a tuple splits into one handle per
/// element.
#[test]
fn test_nout() {
    let func = delayed(|x: i64| (x, -x));
    let (a, b) = func.call(1).split();
    assert_eq!(compute!(a, b).unwrap(), (1, -1));
    let (single,) = delayed(|x: i64| (x,)).call(1).split();
    assert_eq!(single.compute().unwrap(), 1);
}

/// `test_delayed_name_on_call`: `dask_key_name` sets the key exactly.
#[test]
fn test_delayed_name_on_call() {
    let f = delayed(|x: i64, y: i64| x + y);
    assert_eq!(f.call(1, 2).with_key("foo").key().to_string(), "foo");
}

/// `test_delayed_name`: keys start with the kind of value or function.
#[test]
fn test_delayed_name() {
    assert!(delayed::value(1).key().to_string().starts_with("value-"));
    fn increment(x: i64) -> i64 {
        x + 1
    }
    assert!(
        delayed(increment)
            .call(1)
            .key()
            .to_string()
            .starts_with("increment-")
    );
    let list: Vec<Delayed<i64>> = vec![delayed::value(1)];
    #[delayed]
    fn total(v: Vec<i64>) -> i64 {
        v.iter().sum()
    }
    assert_eq!(total(list).compute().unwrap(), 1);
}

/// `test_name_consistent_across_instances`: the key of a pure call does not
/// depend on which handle objects were built for it.
#[test]
fn test_name_consistent_across_instances() {
    #[delayed(pure)]
    fn func(x: i64) -> i64 {
        x + 1
    }
    let built_once = func(1);
    let built_again = func(1);
    assert_eq!(built_once.key(), built_again.key());
    assert_eq!(built_once.key().to_string(), built_again.key().to_string());
}

/// `test_callable_obj`: any callable, here a struct's method through a
/// closure, can be wrapped.
#[test]
fn test_callable_obj() {
    struct Foo {
        a: i64,
    }
    impl Foo {
        fn call(&self, b: i64) -> i64 {
            self.a + b
        }
    }
    let foo = Foo { a: 1 };
    let f = delayed(move |b: i64| foo.call(b));
    assert_eq!(f.call(2).compute().unwrap(), 3);
}

/// `test_finalize_name` / computing several collections at once: shared
/// tasks run once across everything computed together.
#[test]
fn test_compute_several_collections() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn shared() -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        10
    }
    let s = shared();
    let xs = vec![&s + 1, &s + 2];
    let ys = [&s * 2];
    assert_eq!(compute!(xs, ys, s).unwrap(), (vec![11, 12], [20], 10));
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}
