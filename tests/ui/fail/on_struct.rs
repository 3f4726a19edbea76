use delayed::delayed;

#[delayed]
struct Config {
    path: String,
}

fn main() {}
