use delayed::{Delayed, delayed};

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {
    let name: Delayed<String> = delayed::value("ten".to_string());
    let _ = inc(name);
}
