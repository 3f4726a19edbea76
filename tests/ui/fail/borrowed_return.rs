use delayed::delayed;

#[delayed]
fn first_word(text: &String) -> &str {
    text.split(' ').next().unwrap_or("")
}

fn main() {}
