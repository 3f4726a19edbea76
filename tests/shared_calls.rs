//! Tasks of one `#[delayed]` function whose arguments are handles and at
//! most one scalar share one call, the scalar held in each task's node:
//! every task must still read its own arguments, whatever its function's
//! form (sync or async, generic, retried) and its scalar's type.

use delayed::{Client, delayed};
use std::sync::atomic::{AtomicU32, Ordering};

fn clients() -> Vec<(&'static str, Client)> {
    vec![
        ("threaded", Client::builder().threads(2).build().unwrap()),
        ("synchronous", Client::synchronous()),
    ]
}

#[delayed]
fn scale(x: f64, by: f64) -> f64 {
    x * by
}

#[delayed]
async fn shifted(x: i64, by: i64) -> i64 {
    tokio::task::yield_now().await;
    x + by
}

#[delayed]
fn pick(flag: bool, letter: char, n: u8) -> String {
    format!("{flag}{letter}{n}")
}

#[delayed]
fn twice<T: std::ops::Add<Output = T> + Clone>(x: T) -> T {
    x.clone() + x
}

#[test]
fn every_task_of_a_shared_call_reads_its_own_scalar() {
    for (name, client) in clients() {
        let base = delayed::value(2.0);
        let scaled: Vec<_> = (0..100).map(|i| scale(&base, f64::from(i))).collect();
        let flipped: Vec<_> = (0..100).map(|i| scale(f64::from(i), &base)).collect();
        let (scaled, flipped) = client.compute(&(scaled, flipped)).unwrap();
        let expected: Vec<f64> = (0..100).map(|i| 2.0 * f64::from(i)).collect();
        assert_eq!(scaled, expected, "{name}");
        assert_eq!(flipped, expected, "{name}");
    }
}

#[test]
fn async_generic_and_mixed_calls_read_their_own_arguments() {
    for (name, client) in clients() {
        let ten = delayed::value(10_i64);
        let shifts: Vec<_> = (0..50).map(|by| shifted(&ten, by)).collect();
        let words = vec![pick(true, 'a', 1), pick(false, 'b', 2), pick(true, 'c', 3)];
        // Two instances of one generic function are two kinds of call.
        let (ints, floats) = (twice(21_i64), twice(1.5_f64));
        let (shifts, words, ints, floats) = client.compute(&(shifts, words, ints, floats)).unwrap();
        assert_eq!(shifts, (10..60).collect::<Vec<i64>>(), "{name}");
        assert_eq!(words, ["truea1", "falseb2", "truec3"], "{name}");
        assert_eq!((ints, floats), (42, 3.0), "{name}");
    }
}

#[test]
fn a_retried_task_reads_its_scalar_on_every_attempt() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[delayed(retries = 2, backoff = "1ms")]
    fn flaky(x: u32, of: u32) -> Result<u32, String> {
        match CALLS.fetch_add(1, Ordering::SeqCst) % 2 {
            0 => Err(format!("attempt failed for {x}")),
            _ => Ok(x * of),
        }
    }
    let client = Client::synchronous();
    let three = delayed::value(3_u32);
    let products: Vec<_> = (1..=4).map(|of| flaky(&three, of)).collect();
    let products = client.compute(&products).unwrap();
    assert_eq!(products, [3, 6, 9, 12]);
    assert_eq!(CALLS.load(Ordering::SeqCst), 8);
}
