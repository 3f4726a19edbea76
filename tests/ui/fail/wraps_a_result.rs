use delayed::delayed;

fn inc(x: i64) -> i64 {
    x + 1
}

fn main() {
    let i = 1;
    let _ = delayed(inc(i));
}
