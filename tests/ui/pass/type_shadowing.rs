//! The expansion names everything absolutely, so the user's own items
//! named like the standard ones (or like our internals) cannot break it.

#![allow(dead_code, non_camel_case_types)]

use delayed::delayed;

struct Result;
struct Option;
struct Box;
struct Vec;
struct String;
struct Clone;
struct Send;
struct Sync;
struct Arc;
struct Ok;
struct Err;
struct TaskBuilder;
struct __private;
mod core {}
mod std {}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[delayed]
fn fallible(x: i64) -> ::core::result::Result<i64, ::std::string::String> {
    ::core::result::Result::Ok(x)
}

#[delayed]
async fn asynchronous(x: &i64) -> i64 {
    *x
}

fn main() {
    let a = add(1, 2);
    let b = fallible(a);
    let c = asynchronous(b);
    assert_eq!(c.compute().unwrap(), 3);
}
