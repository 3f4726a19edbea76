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

mod loaders {
    use delayed::delayed;

    #[delayed(pure, name = "load")]
    pub fn load_csv(path: &str) -> String {
        format!("csv:{path}")
    }

    #[delayed(pure, name = "load")]
    pub fn load_json(path: &str) -> String {
        format!("json:{path}")
    }
}

/// Two pure functions given one display name used to share keys, so a
/// compute ran one of them for both: `("csv:x", "csv:x")`.
#[test]
fn pure_functions_sharing_a_name_keep_their_own_keys() {
    let (csv, json) = (loaders::load_csv("x"), loaders::load_json("x"));
    assert_eq!(csv.key().name(), "load");
    assert_eq!(json.key().name(), "load");
    assert_ne!(csv.key(), json.key());
    assert_eq!(
        compute!(csv, json).unwrap(),
        ("csv:x".to_string(), "json:x".to_string())
    );
}

#[delayed(pure)]
fn type_of<T: std::hash::Hash + Clone + Send + Sync + 'static>(_x: T) -> &'static str {
    std::any::type_name::<T>()
}

/// `1_i32` and `1_u32` hash alike: the arguments' types are part of the
/// key, so the two calls are two tasks.
#[test]
fn pure_calls_with_equal_bits_of_different_types_keep_their_own_keys() {
    let (signed, unsigned) = (type_of(1_i32), type_of(1_u32));
    assert_ne!(signed.key(), unsigned.key());
    assert_eq!(compute!(signed, unsigned).unwrap(), ("i32", "u32"));
    assert_eq!(type_of(1_u32).key(), type_of(1_u32).key());
}

mod shapes {
    use delayed::delayed;

    pub struct Square;
    pub struct Circle;

    impl Square {
        #[delayed(pure)]
        pub fn area(side: u32) -> f64 {
            f64::from(side * side)
        }
    }

    impl Circle {
        #[delayed(pure)]
        pub fn area(radius: u32) -> f64 {
            std::f64::consts::PI * f64::from(radius * radius)
        }
    }
}

/// Associated functions of the same name on two types are two functions.
#[test]
fn pure_associated_functions_of_two_types_keep_their_own_keys() {
    let (square, circle) = (shapes::Square::area(2), shapes::Circle::area(2));
    assert_ne!(square.key(), circle.key());
    let (square, circle) = compute!(square, circle).unwrap();
    assert_eq!(square, 4.0);
    assert!((circle - 4.0 * std::f64::consts::PI).abs() < 1e-9);
}

mod property {
    use delayed::{Key, delayed};
    use proptest::prelude::*;
    use std::hash::Hash;

    #[delayed(pure, name = "f")]
    fn first(x: u32) -> u64 {
        u64::from(x)
    }

    #[delayed(pure, name = "f")]
    fn second(x: u32) -> u64 {
        u64::from(x) + 1
    }

    #[delayed(pure, name = "f")]
    fn generic<T: Hash + Clone + Send + Sync + 'static>(_x: T) -> u64 {
        0
    }

    /// One pure call: which function, at which argument type, on which
    /// value; and its key.
    fn call(function: u8, ty: u8, value: u8) -> ((u8, u8, u8), Key) {
        let v = u32::from(value);
        let (ty, key) = match (function, ty) {
            (0, _) => (0, first(v).key().clone()),
            (1, _) => (0, second(v).key().clone()),
            (_, 0) => (0, generic(v).key().clone()),
            (_, 1) => (1, generic(v as i32).key().clone()),
            (_, 2) => (2, generic(value).key().clone()),
            _ => (3, generic(u64::from(value)).key().clone()),
        };
        ((function, ty, value), key)
    }

    proptest! {
        #[test]
        fn pure_calls_share_a_key_only_when_function_types_and_values_are_equal(
            calls in prop::collection::vec((0_u8..3, 0_u8..4, 0_u8..4), 2..40)
        ) {
            let calls: Vec<_> = calls.into_iter().map(|(f, t, v)| call(f, t, v)).collect();
            for (a, key_a) in &calls {
                for (b, key_b) in &calls {
                    prop_assert_eq!(a == b, key_a == key_b, "{:?} {:?}", a, b);
                }
            }
        }
    }
}
