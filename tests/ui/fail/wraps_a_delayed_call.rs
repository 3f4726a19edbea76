use delayed::delayed;

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {
    let _ = delayed(inc(1));
}
