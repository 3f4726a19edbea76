use delayed::compute;

fn main() {
    let x: i64 = 5;
    let _ = compute!(x);
}
