use delayed::delayed;

#[delayed(local)]
fn double<T: std::ops::Add<Output = T> + Copy>(x: T) -> T {
    x + x
}

delayed::register!(double::<u64>);

fn main() {}
