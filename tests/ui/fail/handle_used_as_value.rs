use delayed::delayed;

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {
    let x: i64 = inc(1);
    let _ = x;
}
