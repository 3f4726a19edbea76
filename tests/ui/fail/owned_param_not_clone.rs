use delayed::delayed;

struct Table {
    rows: Vec<u64>,
}

#[delayed]
fn total(table: Table) -> u64 {
    table.rows.iter().sum()
}

fn main() {}
