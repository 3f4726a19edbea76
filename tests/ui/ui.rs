//! The compile-fail suite: every misuse is a compile error that says what
//! to write instead (`fail/`, one case per mistake, with the expected
//! message in its `.stderr`), and the valid forms beside them keep
//! compiling (`pass/`).
//!
//! After changing a message, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p delayed-ui` (and `--features
//! distributed` for `fail-distributed/`, `--features cache` for
//! `fail-cache/`) and read each diff.

#[test]
fn ui() {
    // Straight to the terminal, past the test harness's capture: trybuild
    // first builds `delayed` and its dependencies on its own, silently.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "ui: building `delayed` once more for the compile-fail cases \
         (half a minute on a first run, with no output until it is done)"
    );
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    // The messages of `fail/` are those of the default build (with
    // `distributed`, an unmet bound also names the copy of the function
    // the registry calls); `register!` exists only with `distributed`, as
    // `.ci/run` tests it.
    // `#[delayed(cache)]` needs `cache`, whose cases are in `fail-cache/`.
    if cfg!(feature = "distributed") {
        cases.compile_fail("fail-distributed/*.rs");
    } else if cfg!(feature = "cache") {
        cases.compile_fail("fail-cache/*.rs");
    } else {
        cases.compile_fail("fail/*.rs");
    }
}
