use delayed::delayed;

#[delayed(priority = "high")]
fn urgent(x: i64) -> i64 {
    x
}

fn main() {}
