use delayed::delayed;
use std::rc::Rc;

#[delayed]
fn identity<T: Clone>(x: T) -> T {
    x
}

fn main() {
    let _ = identity(Rc::new(5));
}
