use delayed::delayed;

#[delayed(pure)]
fn scale(x: f64, by: f64) -> f64 {
    x * by
}

fn main() {}
