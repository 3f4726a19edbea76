use delayed::delayed;

#[derive(Clone)]
struct Table(Vec<u64>);

#[delayed]
fn first<T: Clone>(rows: Vec<T>) -> T {
    rows[0].clone()
}

delayed::register!(first::<Table>);

fn main() {}
