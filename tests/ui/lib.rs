//! Nothing: the compile-fail suite is `ui.rs`, its cases in `fail/`,
//! `fail-distributed/` and `pass/`. This library exists so that trybuild
//! builds the cases with this crate's features (`distributed`).
