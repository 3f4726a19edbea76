use delayed::delayed;

#[delayed]
fn longest<'a>(a: &'a str, b: &'a str) -> usize {
    a.len().max(b.len())
}

fn main() {}
