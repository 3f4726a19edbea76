use delayed::delayed;

fn clean(word: &str) -> String {
    word.trim().to_owned()
}

#[delayed(cache, uses = [clean])]
fn cleaned(word: String) -> String {
    clean(&word)
}

fn main() {
    let _ = cleaned(" a ".to_owned());
}
