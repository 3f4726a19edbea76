use delayed::delayed;

struct Shape {
    side: f64,
}

impl Shape {
    #[delayed]
    fn area(&self) -> f64 {
        self.side * self.side
    }
}

fn main() {}
