//! Failures name the task, keep the cause, stop the compute and leave the
//! client usable.

mod common;

use common::within;
use delayed::{Client, Delayed, compute, delayed};
use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, PartialEq)]
struct NotPositive(i64);

impl std::fmt::Display for NotPositive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not positive", self.0)
    }
}

impl std::error::Error for NotPositive {}

#[delayed]
fn positive(x: i64) -> Result<i64, NotPositive> {
    if x > 0 { Ok(x) } else { Err(NotPositive(x)) }
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[test]
fn an_err_names_the_task_and_keeps_the_source() {
    let bad = positive(-3);
    let total = add(positive(1), &bad);
    let err = total.compute().unwrap_err();
    assert_eq!(err.key(), Some(bad.key()));
    assert_eq!(err.to_string(), format!("task `{}` failed", bad.key()));
    assert!(!err.is_panic());
    let source = err.source().unwrap();
    assert_eq!(source.downcast_ref::<NotPositive>(), Some(&NotPositive(-3)));
    let report = format!("{err:?}");
    assert!(
        report.contains("Caused by:\n    -3 is not positive"),
        "{report}"
    );
    let owned = err.into_source().unwrap();
    assert_eq!(*owned.downcast::<NotPositive>().unwrap(), NotPositive(-3));
}

#[test]
fn a_panic_is_caught_and_reported_with_its_message() {
    #[delayed]
    fn explode(x: i64) -> i64 {
        if x == 13 {
            panic!("unlucky {x}");
        }
        x
    }
    let bad = explode(13);
    for client in [
        Client::builder().threads(2).build().unwrap(),
        Client::synchronous(),
    ] {
        let err = client.compute(&add(explode(1), &bad)).unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.key(), Some(bad.key()));
        assert_eq!(err.to_string(), format!("task `{}` panicked", bad.key()));
        assert_eq!(err.source().unwrap().to_string(), "unlucky 13");
        // The client stays usable.
        assert_eq!(client.compute(&add(explode(1), 1)).unwrap(), 2);
    }
}

#[test]
fn async_errors_and_panics_are_reported_too() {
    #[delayed]
    async fn fetch(id: u32) -> Result<String, std::io::Error> {
        tokio::task::yield_now().await;
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("page {id}"),
        ))
    }
    #[delayed]
    async fn crash(id: u32) -> u32 {
        tokio::task::yield_now().await;
        panic!("async crash {id}")
    }
    let err = fetch(4).compute().unwrap_err();
    let io = err
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    let err = crash(5).compute().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.source().unwrap().to_string(), "async crash 5");
}

#[test]
fn no_task_runs_after_its_input_failed() {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn after(x: i64) -> i64 {
        RAN.fetch_add(1, Ordering::SeqCst);
        x
    }
    let mut tip: Delayed<i64> = positive(0);
    for _ in 0..100 {
        tip = after(tip);
    }
    for client in [
        Client::builder().threads(4).build().unwrap(),
        Client::synchronous(),
    ] {
        let err = within(30, {
            let tip = tip.clone();
            move || client.compute(&tip).unwrap_err()
        });
        assert_eq!(err.key().unwrap().name(), "positive");
    }
    assert_eq!(RAN.load(Ordering::SeqCst), 0);
}

#[test]
fn the_first_failure_stops_new_tasks_from_starting() {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn slow(x: i64) -> i64 {
        std::thread::sleep(Duration::from_millis(5));
        RAN.fetch_add(1, Ordering::SeqCst);
        x
    }
    // One task at a time; the failure is first in line.
    let client = Client::builder().threads(1).build().unwrap();
    let failing = positive(-1);
    let others: Vec<Delayed<i64>> = (0..50).map(slow).collect();
    let err = within(30, move || client.compute(&(failing, others)).unwrap_err());
    assert_eq!(err.key().unwrap().name(), "positive");
    std::thread::sleep(Duration::from_millis(100)); // let in-flight tasks end
    let ran = RAN.load(Ordering::SeqCst);
    assert!(ran < 5, "{ran} tasks started after the failure");
}

#[test]
fn the_synchronous_client_stops_at_the_first_failure() {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn counted(x: i64) -> i64 {
        RAN.fetch_add(1, Ordering::SeqCst);
        x
    }
    let before: Vec<Delayed<i64>> = (1..=3).map(counted).collect();
    let after: Vec<Delayed<i64>> = (1..=3).map(counted).collect();
    let err = Client::synchronous()
        .compute(&(before, positive(-1), after))
        .unwrap_err();
    assert_eq!(err.key().unwrap().name(), "positive");
    assert_eq!(RAN.load(Ordering::SeqCst), 3);
}

#[test]
fn main_can_return_the_error() {
    fn main_like() -> Result<i64, delayed::Error> {
        let value = compute!(positive(-7))?;
        Ok(value)
    }
    let err = main_like().unwrap_err();
    assert!(format!("{err:?}").ends_with("-7 is not positive"));
}
