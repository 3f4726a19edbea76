use delayed::delayed;

fn parse(s: String) -> Result<i64, std::num::ParseIntError> {
    s.parse()
}

#[delayed]
fn double(x: i64) -> i64 {
    2 * x
}

fn main() {
    // `.call` keeps the `Result`; `.try_call` is what this needs.
    let n = delayed(parse).call("21".to_string());
    let _ = double(n);
}
