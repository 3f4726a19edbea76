use delayed::delayed;

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

fn main() {
    let _ = add(1, "two");
}
