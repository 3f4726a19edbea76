use delayed::delayed;

#[delayed(cache)]
fn load(n: u8) -> u8 {
    n
}

fn main() {
    let _ = load(1);
}
