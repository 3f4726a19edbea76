use delayed::delayed;

#[delayed(pure = "yes")]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {}
