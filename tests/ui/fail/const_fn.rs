use delayed::delayed;

#[delayed]
const fn answer() -> i64 {
    42
}

fn main() {}
