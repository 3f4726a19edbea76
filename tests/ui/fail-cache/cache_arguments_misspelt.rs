use delayed::delayed;

#[delayed(cache(by_name))]
fn a(x: u8) -> u8 {
    x
}

#[delayed(version = "2")]
fn b(x: u8) -> u8 {
    x
}

#[delayed(cache = "yes")]
fn c(x: u8) -> u8 {
    x
}

#[delayed(cache, cache = false)]
fn d(x: u8) -> u8 {
    x
}

#[delayed(cache, uses = clean)]
fn e(x: u8) -> u8 {
    x
}

#[delayed::tracked(pure)]
fn f(x: u8) -> u8 {
    x
}

fn main() {}
