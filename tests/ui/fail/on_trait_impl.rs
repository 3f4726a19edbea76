use delayed::delayed;

#[derive(Clone)]
struct Celsius(f64);

#[delayed]
impl Default for Celsius {
    fn default() -> Self {
        Celsius(20.0)
    }
}

fn main() {}
