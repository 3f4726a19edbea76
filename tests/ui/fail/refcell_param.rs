use delayed::delayed;
use std::cell::RefCell;

#[delayed]
fn read(cell: &RefCell<i64>) -> i64 {
    *cell.borrow()
}

fn main() {}
