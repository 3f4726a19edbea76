// One-line bodies, as the README writes them, compile without a warning
// (the crate denies warnings).
#![deny(warnings)]

use delayed::delayed;

#[delayed]
fn inc(x: i64) -> i64 { x + 1 }
#[delayed]
async fn fetch(id: u32) -> String { format!("page {id}") }
#[delayed]
fn add(x: i64, y: i64) -> i64 { x + y }

fn main() {
    let total = add(inc(1), 2);
    let page = fetch(7);
    let _ = (total, page);
}
