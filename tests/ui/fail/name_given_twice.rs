use delayed::delayed;

#[delayed(name = "a", name = "b")]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {}
