use delayed::delayed;

#[delayed]
fn count(words: Vec<&str>) -> usize {
    words.len()
}

fn main() {}
