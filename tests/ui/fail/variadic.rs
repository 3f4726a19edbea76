use delayed::delayed;

#[delayed]
fn sum(first: i64, ...) -> i64 {
    first
}

fn main() {}
