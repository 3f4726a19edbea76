use delayed::delayed;

#[delayed(resources(gpu))]
fn train(x: i64) -> i64 {
    x
}

#[delayed(resources(gpu = 1, gpu = 2))]
fn twice(x: i64) -> i64 {
    x
}

#[delayed(resources(gpu = -1))]
fn negative(x: i64) -> i64 {
    x
}

fn main() {}
