//! `delayed::methods!`: lazy twins of methods of types this crate does
//! not own, here std's.

use delayed::{Delayed, ErrorKind, compute, delayed, methods};

methods! {
    impl String {
        fn len(&self) -> usize;
        /// A borrow of the string: its twin returns an owned `String`.
        fn trim(&self) -> &str;
        fn parse(&self) -> Result<u64, std::num::ParseIntError>;
        fn repeat(&self, n: usize) -> String;
        fn into_bytes(self) -> Vec<u8>;
    }
}

methods! {
    #[delayed(trait_name = "Numbers")]
    impl Vec<u64> {
        fn first(&self) -> Option<&u64>;
        fn contains(&self, x: &u64) -> bool;
    }
}

#[delayed]
fn count(n: u64) -> usize {
    n as usize
}

#[test]
fn each_call_is_a_task_named_after_the_method() {
    let text: Delayed<String> = delayed::value("  ab ".to_string());
    let trimmed = text.trim();
    let times = trimmed.repeat(count(3));
    assert_eq!(trimmed.key().name(), "trim");
    assert_eq!(times.key().name(), "repeat");
    let (trimmed, times, len) = compute!(trimmed, times, text.len()).unwrap();
    assert_eq!((trimmed.as_str(), times.as_str(), len), ("ab", "ababab", 5));
}

#[test]
fn borrowed_returns_come_back_owned_and_options_and_results_keep_their_shape() {
    let v = delayed::value(vec![7_u64, 8]);
    let none = delayed::value(Vec::<u64>::new());
    let n = delayed::value(" 8 ".to_string()).trim().parse();
    let (first, empty, has) = compute!(v.first(), none.first(), v.contains(n)).unwrap();
    assert_eq!((first, empty, has), (Some(7), None, true));
}

#[test]
fn an_err_fails_the_task_naming_it_with_the_cause() {
    let parsed = delayed::value("x".to_string()).parse();
    let err = parsed.compute().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.key(), Some(parsed.key()));
    let cause = std::error::Error::source(&err).unwrap();
    assert!(cause.is::<std::num::ParseIntError>(), "{cause}");
}

#[test]
fn a_method_taking_self_gets_the_value_and_the_others_a_clone() {
    let text = delayed::value("hé".to_string());
    let (bytes, again, len) =
        compute!(text.clone().into_bytes(), text.into_bytes(), text.len()).unwrap();
    assert_eq!((bytes.len(), again, len), (3, "hé".as_bytes().to_vec(), 3));
}
