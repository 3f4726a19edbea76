use delayed::delayed;

struct Shape;

#[delayed]
impl Shape {
    fn area(side: f64) -> f64 {
        side * side
    }
}

fn main() {}
