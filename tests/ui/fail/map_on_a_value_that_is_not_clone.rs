use delayed::delayed;

struct Table(Vec<u64>);

#[delayed]
fn load() -> Table {
    Table(vec![1, 2])
}

fn main() {
    let _ = load().map(|t| t.0.len());
}
