use delayed::delayed;

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {
    if inc(1) > 0 {
        println!("positive");
    }
}
