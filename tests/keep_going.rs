//! Keep going after failures (`compute_settled`, `Error::skip`,
//! `max_failures`) and replaying a failure, on both schedulers.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use delayed::{Client, Delayed, Error, ErrorKind, delayed};

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// The tests that count runs in `RUNS` take turns: run at once, each
/// would count the other's tasks too.
static COUNTING: Mutex<()> = Mutex::new(());

#[delayed]
fn load(day: u32) -> Result<u32, String> {
    if day == 3 {
        Err(format!("day {day} is corrupt"))
    } else {
        Ok(day * 10)
    }
}

#[delayed]
fn counted(x: u32) -> u32 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

#[delayed]
fn sum(values: Vec<u32>) -> u32 {
    values.iter().sum()
}

fn clients() -> [Client; 3] {
    [
        Client::synchronous(),
        Client::builder().threads(1).build().unwrap(),
        Client::builder().threads(2).build().unwrap(),
    ]
}

#[test]
fn keep_going_returns_the_independent_results_and_the_failures_key() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    for client in clients() {
        let loads: Vec<Delayed<u32>> = (1..=5).map(load).collect();
        let failed_key = loads[2].key().clone();
        let downstream: Vec<Delayed<u32>> = loads.iter().map(|l| counted(l.clone())).collect();
        let all = sum(loads.clone());
        RUNS.store(0, Ordering::SeqCst);
        let (each, total) = client.compute_settled(&(downstream, all));
        // Four of the five `counted` ran; the one after the failure did not.
        assert_eq!(RUNS.load(Ordering::SeqCst), 4, "{client:?}");
        let values: Vec<Option<u32>> = each.iter().map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(
            values,
            [Some(11), Some(21), None, Some(41), Some(51)],
            "{client:?}"
        );
        for err in [each[2].as_ref().unwrap_err(), total.as_ref().unwrap_err()] {
            assert_eq!(err.kind(), ErrorKind::Upstream, "{err:?}");
            assert!(
                err.to_string().contains(&format!("`{failed_key}` failed")),
                "names the task that failed: {err}"
            );
            let cause = err.source().expect("the failed task's error");
            assert!(
                cause.to_string().contains(&failed_key.to_string()),
                "{cause}"
            );
            assert_eq!(
                cause.source().unwrap().to_string(),
                "day 3 is corrupt",
                "and its own cause"
            );
        }
    }
}

#[test]
fn a_failed_output_is_its_own_error_and_maps_and_tuples_keep_their_shape() {
    let client = Client::builder().threads(2).build().unwrap();
    let by_day: BTreeMap<u32, Delayed<u32>> = (1..=4).map(|d| (d, load(d))).collect();
    let settled = client.compute_settled(&by_day);
    assert_eq!(settled.len(), 4);
    assert_eq!(settled[&4].as_ref().unwrap(), &40);
    let err = settled[&3].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.key(), Some(by_day[&3].key()));
    // A handle listed twice gets its value (or error) twice.
    let one = load(1);
    let (a, b, c) = client.compute_settled(&(one.clone(), one, load(3)));
    assert_eq!((a.unwrap(), b.unwrap()), (10, 10));
    assert_eq!(c.unwrap_err().kind(), ErrorKind::Task);
    // The free function uses the current client.
    let [x, y] = delayed::compute_settled(&[load(2), load(3)]).unwrap();
    assert_eq!(x.unwrap(), 20);
    assert!(y.is_err());
}

#[delayed]
fn maybe(day: u32) -> Result<u32, Error> {
    match day {
        0 => Err(Error::skip_because("no trading on Sunday")),
        6 => Err(Error::skip()),
        day => Ok(day),
    }
}

#[delayed(retries = 3, backoff = "1ms")]
fn skips_once_tried(tries: &'static AtomicUsize) -> Result<u32, Error> {
    tries.fetch_add(1, Ordering::SeqCst);
    Err(Error::skip())
}

#[test]
fn a_skip_is_not_a_failure_and_skips_what_needs_it() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    for client in clients() {
        let days: Vec<Delayed<u32>> = (0..7).map(|d| counted(maybe(d))).collect();
        RUNS.store(0, Ordering::SeqCst);
        let settled = client.keep_going().max_failures(1).compute(&days);
        // Skips do not count towards `max_failures(1)`: all days ran.
        assert_eq!(RUNS.load(Ordering::SeqCst), 5, "{client:?}");
        let sunday = settled[0].as_ref().unwrap_err();
        assert_eq!(sunday.kind(), ErrorKind::Skipped, "{sunday:?}");
        assert!(sunday.to_string().ends_with("was skipped"), "{sunday}");
        let skip = sunday.source().unwrap().source().unwrap();
        assert_eq!(skip.to_string(), "skipped: no trading on Sunday");
        assert_eq!(settled[6].as_ref().unwrap_err().kind(), ErrorKind::Skipped);
        assert_eq!(settled[3].as_ref().unwrap(), &4);
        // A plain compute of a skipped task fails with its kind.
        let sunday = maybe(0);
        let err = client.compute(&sunday).unwrap_err();
        assert_eq!(
            (err.kind(), err.key()),
            (ErrorKind::Skipped, Some(sunday.key()))
        );
    }
    // A skip is not retried.
    static TRIES: AtomicUsize = AtomicUsize::new(0);
    let err = skips_once_tried(&TRIES).compute().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Skipped);
    assert_eq!(TRIES.load(Ordering::SeqCst), 1);
}

#[delayed]
fn fail_after(order: &'static Mutex<Vec<u32>>, x: u32) -> Result<u32, String> {
    order.lock().unwrap().push(x);
    if x.is_multiple_of(2) {
        Err(format!("{x} is even"))
    } else {
        Ok(x)
    }
}

#[test]
fn max_failures_stops_the_compute_and_says_so() {
    static ORDER: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    for client in [
        Client::synchronous(),
        Client::builder().threads(1).build().unwrap(),
    ] {
        ORDER.lock().unwrap().clear();
        let tasks: Vec<Delayed<u32>> = (0..10).map(|x| fail_after(&ORDER, x)).collect();
        let settled = client.keep_going().max_failures(2).compute(&tasks);
        // One at a time, in order: 0 fails, 1 runs, 2 fails and stops it.
        assert_eq!(*ORDER.lock().unwrap(), [0, 1, 2], "{client:?}");
        assert_eq!(settled[1].as_ref().unwrap(), &1);
        assert_eq!(settled[0].as_ref().unwrap_err().kind(), ErrorKind::Task);
        assert_eq!(settled[2].as_ref().unwrap_err().kind(), ErrorKind::Task);
        for rest in &settled[3..] {
            let err = rest.as_ref().unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
            assert_eq!(
                err.to_string(),
                "not computed: the compute stopped after 2 failed tasks (`max_failures(2)`)"
            );
        }
    }
}

static LIMIT: AtomicI64 = AtomicI64::new(0);
static CHECKS: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn limit() -> i64 {
    LIMIT.load(Ordering::SeqCst)
}

#[delayed]
fn check(x: i64, limit: i64) -> Result<i64, String> {
    CHECKS.fetch_add(1, Ordering::SeqCst);
    if x > limit {
        Err(format!("{x} is over {limit}"))
    } else {
        Ok(x)
    }
}

#[delayed]
fn report(x: i64) -> String {
    format!("x = {x}")
}

#[test]
fn a_replayed_failure_fails_again_and_succeeds_once_its_input_is_fixed() {
    for client in clients() {
        LIMIT.store(0, Ordering::SeqCst);
        let checked = check(5, limit());
        let err = client.compute(&report(checked.clone())).unwrap_err();
        assert_eq!(err.key(), Some(checked.key()));
        CHECKS.store(0, Ordering::SeqCst);
        let again = err.replay().unwrap_err();
        // The same function ran once more, here, and failed the same way.
        assert_eq!(CHECKS.load(Ordering::SeqCst), 1);
        assert_eq!(again.to_string(), err.to_string());
        assert_eq!(again.key(), err.key());
        assert_eq!(again.source().unwrap().to_string(), "5 is over 0");
        LIMIT.store(10, Ordering::SeqCst);
        err.replay().expect("the fixed input lets it succeed");
        // What keep-going gives replays too: an output downstream of the
        // failure replays the task that failed.
        LIMIT.store(0, Ordering::SeqCst);
        let [downstream] = client.compute_settled(&[report(check(7, limit()))]);
        let downstream = downstream.unwrap_err();
        assert_eq!(downstream.kind(), ErrorKind::Upstream);
        let again = downstream.replay().unwrap_err();
        assert_eq!(again.source().unwrap().to_string(), "7 is over 0");
    }
    // An error that is no task's has nothing to replay, and says so.
    let err = Client::builder().threads(0).build().unwrap_err();
    let nothing = err.replay().unwrap_err();
    assert_eq!(nothing.kind(), ErrorKind::Config);
    assert!(
        nothing.to_string().starts_with("nothing to replay"),
        "{nothing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_from_async_code_runs_beside_the_runtime() {
    LIMIT.store(-1, Ordering::SeqCst);
    let client = Client::builder().threads(2).build().unwrap();
    let err = client.compute_async(&check(1, limit())).await.unwrap_err();
    // Inside a runtime, the replay runs on a thread of its own and blocks
    // this one only.
    assert_eq!(err.replay().unwrap_err().to_string(), err.to_string());
}
