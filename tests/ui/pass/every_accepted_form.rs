//! Every form the errors in `../fail` guard, in its valid shape.

use delayed::{Delayed, compute, delayed};

#[delayed]
fn owned(x: i64) -> i64 {
    x
}

#[delayed]
fn shared(text: &String, words: &str, ids: &[u32]) -> usize {
    text.len() + words.len() + ids.len()
}

#[delayed]
fn fallible(x: i64) -> Result<i64, std::num::TryFromIntError> {
    u8::try_from(x).map(i64::from)
}

#[delayed]
async fn asynchronous(x: i64) -> i64 {
    x
}

#[delayed]
fn generic<T: Clone + Send + Sync + 'static>(x: T) -> T {
    x
}

/// Generic parameters need no `Send + Sync + 'static`: the wrapper adds them.
#[delayed]
fn unbounded<T: Clone>(x: T) -> Vec<T> {
    vec![x]
}

#[delayed]
fn static_borrows(tag: &'static str) -> &'static str {
    tag
}

#[delayed]
fn patterns((a, b): (i64, i64), mut c: i64, _: u8) -> i64 {
    c += a + b;
    c
}

#[delayed]
fn callbacks(f: std::sync::Arc<dyn Fn(&str) -> usize + Send + Sync>) -> usize {
    f("four")
}

#[delayed(name = "load")]
fn named() -> u8 {
    1
}

struct Shape {
    side: f64,
}

impl Shape {
    /// Associated functions without `self` are fine.
    #[delayed]
    fn square(side: f64) -> f64 {
        side * side
    }
}

fn main() -> Result<(), delayed::Error> {
    let a: Delayed<i64> = owned(1);
    let b = owned(&a);
    let s = shared(String::from("ab"), "cd", vec![1]);
    let f = fallible(7);
    let x = asynchronous(&f);
    let g = generic::<i64>(&x);
    let t = static_borrows("t");
    let p = patterns((1, 2), 3, 0);
    let callback: std::sync::Arc<dyn Fn(&str) -> usize + Send + Sync> =
        std::sync::Arc::new(|s: &str| s.len());
    let c = callbacks(callback);
    let n = named();
    let area = Shape::square(Shape { side: 2.0 }.side);
    let w = delayed(i64::abs).call(-3);
    let v = Delayed::value(5_i64);
    let u = unbounded(1_u8);
    assert_eq!(compute!(u)?, [1]);
    let _: (i64, i64, usize, i64, i64, &str, i64, usize, u8, f64, i64, i64) =
        compute!(b, g, s, f, p, t, x, c, n, area, w, v)?;
    Ok(())
}
