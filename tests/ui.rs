//! The compile-fail suite: every misuse is a compile error that says what
//! to write instead (`tests/ui/fail`, one case per mistake, with the
//! expected message in its `.stderr`), and the valid forms beside them keep
//! compiling (`tests/ui/pass`).
//!
//! After changing a message, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui` and read each diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
