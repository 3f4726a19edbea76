//! The registry of task functions (feature `distributed`): every
//! non-generic `#[delayed]` function, and each instantiation of a generic
//! one that `register!` names, is found by its path and runs from
//! MessagePack arguments when its types are serde types.

use delayed::distributed::{Function, decode, encode, function, functions};
use delayed::{Delayed, delayed};
use serde::{Deserialize, Serialize};

fn here(name: &str) -> &'static Function {
    let path = format!("{}::{name}", module_path!());
    function(&path).unwrap_or_else(|| panic!("`{path}` is registered"))
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[delayed]
fn nothing() -> u8 {
    7
}

#[delayed]
fn words(text: &str, min: usize) -> Vec<String> {
    text.split(' ')
        .filter(|w| w.len() >= min)
        .map(String::from)
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: f64,
    y: f64,
}

#[delayed]
fn norm(p: Point) -> f64 {
    (p.x * p.x + p.y * p.y).sqrt()
}

#[delayed]
async fn later(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x * 2
}

#[delayed]
fn parse(text: String) -> Result<i32, std::num::ParseIntError> {
    text.trim().parse()
}

#[delayed]
fn boom(x: u8) -> u8 {
    panic!("boom at {x}")
}

/// Not a serde type: the function is registered, and runs only where it is
/// called.
#[derive(Clone)]
struct Table(Vec<u64>);

#[delayed]
fn rows(t: Table) -> usize {
    t.0.len()
}

#[delayed]
fn table(n: u64) -> Table {
    Table((0..n).collect())
}

#[delayed(local)]
fn kept_here(x: u64) -> u64 {
    x
}

#[delayed]
fn generic<T: Clone + Send + Sync + 'static>(x: T) -> T {
    x
}

/// Generic: registered per instantiation, by `register!`.
#[delayed]
fn pair<A: Clone, B>(a: A, b: &B) -> (A, B)
where
    B: Clone,
{
    (a, b.clone())
}

#[delayed]
fn repeat<const N: usize>(v: Vec<u8>) -> Vec<u8> {
    v.repeat(N)
}

/// Generic, with a parameter that is not a serde type: it compiles, and
/// runs here; naming an instantiation in `register!` would not compile.
#[delayed]
fn count_rows<T: Clone>(t: Table, _extra: T) -> usize {
    t.0.len()
}

delayed::register!(pair::<u8, String>, repeat::<3>, Shape::scaled::<f32>);

mod again {
    // The same instantiation registered twice is one function.
    delayed::register!(super::pair::<u8, String>);
}

#[derive(Clone)]
struct Shape {
    side: f64,
}

impl Shape {
    /// An associated function: registered under the module's path and its
    /// own name.
    #[delayed]
    fn square(side: f64) -> f64 {
        side * side
    }

    /// One that says `Self`, which a registration cannot name: not
    /// registered.
    #[delayed]
    fn of(side: f64) -> Self {
        Self { side }
    }

    /// A generic associated function: registered per instantiation under
    /// the module's path and its own name.
    #[delayed]
    fn scaled<T: Into<f64> + Clone>(side: T) -> f64 {
        side.into() * 2.0
    }

    /// Generic and saying `Self`: no instantiation can be registered.
    #[delayed]
    fn made<T: Into<f64> + Clone>(side: T) -> Self {
        Self { side: side.into() }
    }
}

#[test]
fn generic_functions_are_registered_for_each_instantiation_named() {
    let registered_pair = here("pair::<u8, alloc::string::String>");
    assert_eq!(
        registered_pair.signature(),
        "fn(u8, String) -> (u8, String)"
    );
    assert!(registered_pair.runs_from_bytes());
    let out: (u8, String) = decode(
        &registered_pair
            .call(&encode(&(1_u8, "one")).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, (1, "one".to_string()));
    let registered_repeat = here("repeat::<3>");
    assert_eq!(registered_repeat.signature(), "fn(Vec<u8>) -> Vec<u8>");
    let out: Vec<u8> = decode(
        &registered_repeat
            .call(&encode(&(vec![1_u8, 2],)).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, [1, 2, 1, 2, 1, 2]);
    let registered_scaled = here("scaled::<f32>");
    let out: f64 = decode(
        &registered_scaled
            .call(&encode(&(1.5_f32,)).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, 3.0);
    // Registered twice, listed once, and runs.
    let paths: Vec<&str> = functions().map(Function::path).collect();
    assert_eq!(
        paths
            .iter()
            .filter(|p| **p == registered_pair.path())
            .count(),
        1
    );
    // Instantiations not named are not registered, and run where they are
    // called, as do the functions that cannot be registered.
    for name in ["pair", "pair::<u16, alloc::string::String>", "repeat::<2>"] {
        assert!(function(&format!("{}::{name}", module_path!())).is_none());
    }
    assert_eq!(
        pair(2_u16, "two").compute().unwrap(),
        (2, "two".to_string())
    );
    assert_eq!(repeat::<2>(vec![5]).compute().unwrap(), [5, 5]);
    assert_eq!(count_rows(table(4), 1_u8).compute().unwrap(), 4);
    assert_eq!(Shape::made(1.5_f32).compute().unwrap().side, 1.5);
    // The registered ones, too, when no worker is there.
    assert_eq!(
        pair(3_u8, "three").compute().unwrap(),
        (3, "three".to_string())
    );
    assert_eq!(repeat::<3>(vec![9]).compute().unwrap(), [9, 9, 9]);
}

#[test]
fn associated_functions_are_registered_unless_they_say_self() {
    let square = here("square");
    assert!(square.runs_from_bytes());
    assert_eq!(
        decode::<f64>(&square.call(&encode(&(3.0_f64,)).unwrap()).unwrap()).unwrap(),
        9.0
    );
    assert!(function(&format!("{}::of", module_path!())).is_none());
    assert_eq!(Shape::of(2.0).compute().unwrap().side, 2.0);
}

mod first {
    #[delayed::delayed]
    pub fn twin(x: u8) -> u8 {
        x
    }
}

mod second {
    pub struct A;
    pub struct B;
    impl A {
        #[delayed::delayed]
        pub fn twin(x: u8) -> u8 {
            x + 1
        }
    }
    impl B {
        #[delayed::delayed]
        pub fn twin(x: u8) -> u8 {
            x + 2
        }
    }
    // Generic, one path for two functions: neither runs by name.
    impl A {
        #[delayed::delayed]
        pub fn either<T: Clone>(x: T) -> T {
            x
        }
    }
    impl B {
        #[delayed::delayed]
        pub fn either<T: Clone>(x: T) -> T {
            x
        }
    }
    delayed::register!(A::either::<u8>, B::either::<u8>);
}

#[test]
fn two_functions_with_one_path_run_only_where_they_are_called() {
    let first = function(&format!("{}::first::twin", module_path!())).unwrap();
    assert!(first.runs_from_bytes(), "a path of its own");
    let twin = function(&format!("{}::second::twin", module_path!())).unwrap();
    assert!(!twin.runs_from_bytes());
    let err = twin.call(&encode(&(1_u8,)).unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("registered more than once"),
        "{err}"
    );
    assert_eq!(second::A::twin(1).compute().unwrap(), 2);
    assert_eq!(second::B::twin(1).compute().unwrap(), 3);
    let either = function(&format!("{}::second::either::<u8>", module_path!())).unwrap();
    assert!(!either.runs_from_bytes());
    assert_eq!(second::B::either(4_u8).compute().unwrap(), 4);
}

#[test]
fn a_function_runs_from_its_path_and_messagepack_arguments() {
    let add = here("add");
    assert_eq!(add.signature(), "fn(i64, i64) -> i64");
    assert!(add.runs_from_bytes());
    let result: i64 = decode(&add.call(&encode(&(2_i64, 40_i64)).unwrap()).unwrap()).unwrap();
    assert_eq!(result, 42);

    let nothing = here("nothing");
    assert_eq!(nothing.signature(), "fn() -> u8");
    assert_eq!(
        decode::<u8>(&nothing.call(&encode(&()).unwrap()).unwrap()).unwrap(),
        7
    );
}

#[test]
fn borrowed_user_and_async_types_travel_as_their_owned_forms() {
    let words = here("words");
    assert_eq!(words.signature(), "fn(String, usize) -> Vec<String>");
    let out: Vec<String> = decode(
        &words
            .call(&encode(&("a bb ccc", 2_usize)).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, ["bb", "ccc"]);

    let norm = here("norm");
    let out: f64 = decode(
        &norm
            .call(&encode(&(Point { x: 3.0, y: 4.0 },)).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out, 5.0);

    let later = here("later");
    assert!(later.runs_from_bytes());
    let out: u32 = decode(&later.call(&encode(&(21_u32,)).unwrap()).unwrap()).unwrap();
    assert_eq!(out, 42);
}

#[test]
fn a_failing_task_fails_with_its_key_and_cause() {
    let parse = here("parse");
    assert_eq!(parse.signature(), "fn(String) -> i32"); // the value of the task
    let ok: i32 = decode(&parse.call(&encode(&(" 12 ",)).unwrap()).unwrap()).unwrap();
    assert_eq!(ok, 12);
    let err = parse.call(&encode(&("twelve",)).unwrap()).unwrap_err();
    assert_eq!(err.key().map(|k| k.name()), Some("parse"));
    let cause = std::error::Error::source(&err).expect("the parse error");
    assert!(cause.downcast_ref::<std::num::ParseIntError>().is_some());

    let err = here("boom").call(&encode(&(3_u8,)).unwrap()).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.key().map(|k| k.name()), Some("boom"));
}

#[test]
fn arguments_that_do_not_decode_are_refused_naming_the_function() {
    let add = here("add");
    for bad in [
        encode(&("two", 40_i64)).unwrap(),
        encode(&(1_i64,)).unwrap(),
        b"\xff\x00garbage".to_vec(),
        Vec::new(),
    ] {
        let err = add.call(&bad).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("could not decode the arguments"), "{shown}");
        assert!(shown.contains(add.path()), "{shown}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the decoder's error is kept"
        );
        assert_eq!(err.key(), None);
    }
}

#[test]
fn other_functions_are_registered_to_run_only_where_they_are_called() {
    for name in ["rows", "table", "kept_here"] {
        let f = here(name);
        assert!(!f.runs_from_bytes(), "{name}");
        let err = f.call(&encode(&(1_u64,)).unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("runs only where it is called"),
            "{err}"
        );
    }
    // They still run where they are called.
    let t: Delayed<Table> = table(3);
    assert_eq!(rows(t).compute().unwrap(), 3);
    assert_eq!(kept_here(5).compute().unwrap(), 5);
    // A generic function has no single type to register; this one names
    // no instantiation.
    assert!(function(&format!("{}::generic", module_path!())).is_none());
    assert_eq!(generic(1).compute().unwrap(), 1);
}

#[test]
fn functions_lists_every_registration_once_by_path() {
    let paths: Vec<&str> = functions().map(Function::path).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(paths, sorted, "by path, each once");
    for name in ["add", "words", "rows", "kept_here"] {
        let path = format!("{}::{name}", module_path!());
        assert!(paths.contains(&path.as_str()), "{path}");
    }
}

#[test]
fn values_that_do_not_encode_or_decode_give_clear_errors() {
    let err = decode::<(u8, String)>(&encode(&(1_u8,)).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("could not decode a `(u8, alloc::string::String)`"),
        "{err}"
    );
    // A `Serialize` impl that fails stands for a value that cannot be
    // written.
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("refused"))
        }
    }
    let err = encode(&Refuses).unwrap_err();
    assert!(err.to_string().contains("could not encode"), "{err}");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "refused"
    );
}

#[test]
fn pictures_show_which_tasks_run_on_workers() {
    // `add` and `pair::<u8, String>` run on workers; `rows` (not serde)
    // and `pair::<u16, String>` (not registered) run in the client.
    let t = rows(table(2));
    let text = || "a".to_string();
    let graph = (add(1, 2), t, pair(1_u8, text()), pair(1_u16, text()));
    let dot = delayed::visualize(&graph).to_dot();
    let line = |name: &str| {
        dot.lines()
            .filter(|l| l.contains(&format!("label=\"{name}\"")))
            .collect::<Vec<_>>()
    };
    assert!(line("add")[0].contains("dashed"), "{dot}");
    assert!(line("add")[0].contains("(on a worker)"), "{dot}");
    assert!(!line("rows")[0].contains("dashed"), "{dot}");
    let pairs = line("pair");
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs.iter().filter(|l| l.contains("dashed")).count(), 1);
    let svg = delayed::visualize(&graph).to_svg();
    assert_eq!(svg.matches("stroke-dasharray").count(), 2, "{svg}");
    // A summary keeps them apart too.
    let many: Vec<Delayed<(u16, String)>> = (0..300_u16)
        .flat_map(|i| [pair(i, text()), pair(i, text())])
        .collect();
    let registered: Vec<Delayed<(u8, String)>> =
        (0..300_u16).map(|i| pair(i as u8, text())).collect();
    let dot = delayed::visualize(&(many, registered)).to_dot();
    let summaries: Vec<&str> = dot.lines().filter(|l| l.contains("pair ×")).collect();
    assert_eq!(summaries.len(), 2, "{dot}");
    assert!(
        summaries
            .iter()
            .any(|l| l.contains("pair × 600") && !l.contains("dashed"))
    );
    assert!(
        summaries
            .iter()
            .any(|l| l.contains("pair × 300") && l.contains("dashed"))
    );
}
