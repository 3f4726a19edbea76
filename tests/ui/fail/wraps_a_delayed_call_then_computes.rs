use delayed::delayed;

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn main() -> Result<(), delayed::Error> {
    let lazy = delayed(inc(1));
    let value: i64 = lazy.compute()?;
    println!("{value}");
    Ok(())
}
