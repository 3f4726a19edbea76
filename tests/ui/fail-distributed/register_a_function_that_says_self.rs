use delayed::delayed;

#[derive(Clone)]
struct Shape {
    side: f64,
}

impl Shape {
    #[delayed]
    fn made<T: Into<f64> + Clone>(side: T) -> Self {
        Self { side: side.into() }
    }
}

delayed::register!(Shape::made::<f32>);

fn main() {}
