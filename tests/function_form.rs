//! `delayed(f).call(…)`: functions that cannot be annotated.

use delayed::{Delayed, compute, delayed};

fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[test]
fn wraps_plain_functions_methods_and_closures() {
    let a = delayed(add).call(1, 2);
    let b = delayed(i64::pow).call(&a, 2);
    let c = delayed(|s: String| s.to_uppercase()).call("abc".to_string());
    let d = delayed(str::to_owned).call("static");
    assert_eq!(
        compute!(a, b, c, d).unwrap(),
        (3, 9, "ABC".to_string(), "static".to_string())
    );
}

#[test]
fn every_arity_from_zero_to_twelve() {
    let f0 = delayed(|| 0_u32).call();
    let f1 = delayed(|a: u32| a).call(1);
    let f2 = delayed(|a: u32, b: u32| a + b).call(1, 1);
    let f3 = delayed(|a: u32, b: u32, c: u32| a + b + c).call(1, 1, 1);
    let f8 = delayed(
        |a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: u32, h: u32| {
            a + b + c + d + e + f + g + h
        },
    )
    .call(1, 1, 1, 1, 1, 1, 1, f1.clone());
    #[allow(clippy::too_many_arguments)]
    fn twelve(
        a: u32,
        b: u32,
        c: u32,
        d: u32,
        e: u32,
        f: u32,
        g: u32,
        h: u32,
        i: u32,
        j: u32,
        k: u32,
        l: u32,
    ) -> u32 {
        a + b + c + d + e + f + g + h + i + j + k + l
    }
    let f12 = delayed(twelve).call(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, &f2);
    assert_eq!(
        compute!(f0, f1, f2, f3, f8, f12).unwrap(),
        (0, 1, 2, 3, 8, 13)
    );
}

#[test]
fn one_wrapper_builds_many_tasks() {
    let square = delayed(|x: u64| x * x);
    let squares: Vec<Delayed<u64>> = (1..=4).map(|i| square.call(i)).collect();
    assert_eq!(compute!(squares).unwrap(), [1, 4, 9, 16]);
}

#[test]
fn keys_use_the_function_name_or_the_given_one() {
    assert_eq!(delayed(add).call(1, 1).key().name(), "add");
    assert_eq!(delayed(|x: u8| x).call(1).key().name(), "closure");
    assert_eq!(delayed(add).named("plus").call(1, 1).key().name(), "plus");
}

#[test]
fn try_call_fails_the_compute_on_err() {
    let parse = delayed(|s: String| s.parse::<i32>());
    assert_eq!(parse.try_call("7".to_string()).compute().unwrap(), 7);
    let raw: Delayed<Result<i32, std::num::ParseIntError>> = parse.call("x".to_string());
    assert!(raw.compute().unwrap().is_err());
    let bad = parse.try_call("x".to_string());
    let err = bad.compute().unwrap_err();
    assert_eq!(err.key(), Some(bad.key()));
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.is::<std::num::ParseIntError>());
}

#[test]
fn the_attribute_and_the_function_are_one_import() {
    use delayed::delayed as both;
    #[both]
    fn marked(x: i32) -> i32 {
        x * 10
    }
    let wrapped = both(|x: i32| x + 1).call(marked(1));
    assert_eq!(wrapped.compute().unwrap(), 11);
}

/// `delayed(read).call(&path)` used to want an owned path: a reference to
/// a value is cloned into the task, as `#[delayed]` functions accept too.
#[test]
fn the_function_form_accepts_references_to_values() {
    fn read(path: std::path::PathBuf) -> usize {
        path.components().count()
    }
    let path = std::path::PathBuf::from("data/2024/sales.csv");
    let parts = delayed(read).call(&path);
    let label = "parts".to_string();
    let name = delayed(|s: String, n: usize| format!("{s}:{n}")).call(&label, &parts);
    assert_eq!(compute!(parts, name).unwrap(), (3, "parts:3".to_string()));
    assert_eq!(path.to_str(), Some("data/2024/sales.csv"), "still usable");
    assert_eq!(label, "parts");
}

#[test]
fn borrowed_path_parameters_store_a_path_buf() {
    #[delayed]
    fn extension(path: &std::path::Path) -> Option<String> {
        path.extension().map(|e| e.to_string_lossy().into_owned())
    }
    let path = std::path::PathBuf::from("a/b.csv");
    assert_eq!(extension(&path).compute().unwrap(), Some("csv".to_string()));
    assert_eq!(
        extension(delayed::value(path)).compute().unwrap(),
        Some("csv".to_string())
    );
}
