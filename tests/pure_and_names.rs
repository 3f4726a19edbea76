//! `#[delayed(pure)]`, `#[delayed(name = …)]` and `with_key`.

use delayed::{Client, Delayed, compute, delayed};
use std::sync::atomic::{AtomicUsize, Ordering};

#[delayed(pure)]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[delayed]
fn impure(x: i64) -> i64 {
    x
}

#[test]
fn identical_pure_calls_share_a_key() {
    assert_eq!(add(1, 2).key(), add(1, 2).key());
    assert_ne!(add(1, 2).key(), add(2, 1).key());
    assert_eq!(add(1, 2).key().name(), "add");
    // Upstream keys count: the same handle gives the same key, another
    // (impure) call does not.
    let a = impure(1);
    assert_eq!(add(&a, 1).key(), add(&a, 1).key());
    assert_ne!(add(&a, 1).key(), add(impure(1), 1).key());
    // Impure calls never share keys.
    assert_ne!(impure(1).key(), impure(1).key());
}

#[test]
fn a_compute_runs_identical_pure_calls_once() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(pure)]
    fn load(day: u32) -> Vec<u32> {
        RUNS.fetch_add(1, Ordering::SeqCst);
        vec![day; 3]
    }
    #[delayed]
    fn size(v: &[u32]) -> usize {
        v.len()
    }
    // Three separately built handles for the same call.
    let sizes = vec![size(load(7)), size(load(7)), size(load(8))];
    for client in [
        Client::builder().threads(3).build().unwrap(),
        Client::synchronous(),
    ] {
        RUNS.store(0, Ordering::SeqCst);
        assert_eq!(client.compute(&sizes).unwrap(), [3, 3, 3]);
        assert_eq!(RUNS.load(Ordering::SeqCst), 2);
        assert_eq!(
            client.compute(&(load(7), load(7))).unwrap(),
            (vec![7; 3], vec![7; 3])
        );
    }
}

#[test]
fn pure_keys_depend_on_the_output_type_of_generic_functions() {
    #[delayed(pure)]
    fn convert<T: From<u8>>(x: u8) -> T {
        T::from(x)
    }
    let wide = convert::<u64>(1);
    let narrow = convert::<u16>(1);
    assert_ne!(wide.key(), narrow.key());
    assert_eq!(compute!(wide, narrow).unwrap(), (1_u64, 1_u16));
}

/// Runs this test binary again, this one test in a child process, and
/// compares the key the child computes with ours.
#[test]
fn pure_keys_are_the_same_in_every_run() {
    let key = add(40, 2).key().to_string();
    if std::env::var_os("DELAYED_PRINT_PURE_KEY").is_some() {
        // The child: report the key and stop.
        println!("pure key: {key}");
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pure_keys_are_the_same_in_every_run",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DELAYED_PRINT_PURE_KEY", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let printed = stdout
        .split("pure key: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no key printed: {stdout}"));
    assert_eq!(printed, key);
}

#[delayed(name = "load")]
fn read_day(day: u32) -> u32 {
    day
}

#[delayed(pure, name = "io.read")]
fn read_pure(day: u32) -> u32 {
    day
}

#[test]
fn names_prefix_keys() {
    assert!(read_day(1).key().to_string().starts_with("load-"));
    assert_eq!(read_pure(1).key().name(), "io.read");
    assert_eq!(read_pure(1).key(), read_pure(1).key());
}

#[test]
fn with_key_gives_an_exact_key() {
    let jan = read_day(1).with_key("load-2024-01");
    assert_eq!(jan.key().to_string(), "load-2024-01");
    assert_eq!(jan.key().name(), "load");
    assert_eq!(jan.compute().unwrap(), 1);

    // A handle already shared keeps its key; the new handle names its value.
    let feb = read_day(2);
    let copy = feb.clone();
    let named = feb.with_key("load-2024-02");
    assert_eq!(named.key().to_string(), "load-2024-02");
    assert!(copy.key().to_string().starts_with("load-"));
    assert_eq!(compute!(named, copy).unwrap(), (2, 2));

    // Errors name the task by its given key.
    #[delayed]
    fn fails(x: u32) -> Result<u32, String> {
        Err(format!("no data for {x}"))
    }
    let err = fails(3).with_key("load-2024-03").compute().unwrap_err();
    assert_eq!(err.to_string(), "task `load-2024-03` failed");
}

#[test]
fn pure_calls_taking_collections_of_handles_share_a_key() {
    use std::collections::{BTreeMap, HashMap};
    #[delayed(pure)]
    fn total(values: Vec<i64>) -> i64 {
        values.iter().sum()
    }
    #[delayed(pure)]
    fn first(values: [i64; 2]) -> i64 {
        values[0]
    }
    #[delayed(pure)]
    fn count(values: BTreeMap<u8, i64>) -> usize {
        values.len()
    }
    #[delayed]
    fn count_hashed(values: HashMap<u8, i64>) -> usize {
        values.len()
    }
    let a = impure(1);
    let b = impure(2);
    assert_eq!(total(vec![&a, &b]).key(), total(vec![&a, &b]).key());
    assert_ne!(total(vec![&a, &b]).key(), total(vec![&b, &a]).key());
    assert_eq!(
        first([a.clone(), b.clone()]).key(),
        first([a.clone(), b.clone()]).key()
    );
    let tree = || (0..50).map(|i| (i, a.clone())).collect::<BTreeMap<u8, _>>();
    assert_eq!(count(tree()).key(), count(tree()).key());
    // Equal hash maps may iterate in different orders; the gathering
    // task's key still matches, so the calls that take it would too.
    let map = || (0..50).map(|i| (i, a.clone())).collect::<HashMap<u8, _>>();
    let (one, two) = (count_hashed(map()), count_hashed(map()));
    assert_eq!(compute!(one, two).unwrap(), (50, 50));
    let gathered =
        |m: HashMap<u8, Delayed<i64>>| delayed::IntoDelayed::<HashMap<u8, i64>>::into_delayed(m);
    assert_eq!(gathered(map()).key(), gathered(map()).key());
}
