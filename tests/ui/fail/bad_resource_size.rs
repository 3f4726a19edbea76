use delayed::delayed;

#[delayed(resources(memory = "4 gigs"))]
fn join(x: i64) -> i64 {
    x
}

fn main() {
    let _ = join(1);
}
