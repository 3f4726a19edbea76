use delayed::delayed;

struct Table(Vec<u8>);

#[delayed(cache)]
fn load(n: u8) -> Table {
    Table(vec![n])
}

fn main() {
    let _ = load(1);
}
