use delayed::delayed;

#[delayed(retries = 0)]
fn fetch(x: u64) -> u64 {
    x
}

#[delayed(timeout = "0s")]
fn quick(x: u64) -> u64 {
    x
}

#[delayed(timeout = "soon", backoff = 100)]
fn vague(x: u64) -> u64 {
    x
}

fn main() {}
