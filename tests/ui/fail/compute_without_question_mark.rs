use delayed::{compute, delayed};

#[delayed]
fn double(x: i64) -> i64 {
    2 * x
}

fn main() {
    let doubled: Vec<i64> = compute!(vec![double(1), double(2)]);
    let (a, b): (i64, i64) = compute!(double(3), double(4));
    println!("{doubled:?} {a} {b}");
}
