use delayed::delayed;
use std::rc::Rc;

#[delayed]
fn length(text: Rc<String>) -> usize {
    text.len()
}

fn main() {}
