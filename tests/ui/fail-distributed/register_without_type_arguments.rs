use delayed::delayed;

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

delayed::register!(inc);

fn main() {}
