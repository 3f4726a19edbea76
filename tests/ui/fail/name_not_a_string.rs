use delayed::delayed;

#[delayed(name = 5)]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {}
