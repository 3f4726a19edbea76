use delayed::delayed;

#[derive(Clone)]
struct Frame(Vec<f64>);

#[delayed]
impl Frame {
    fn map(&self, factor: f64) -> Frame {
        Frame(self.0.iter().map(|v| v * factor).collect())
    }
}

fn main() {}
