use delayed::{compute, delayed};

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {
    let _ = compute!(inc(1), 2);
}
