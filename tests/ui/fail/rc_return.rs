use delayed::delayed;
use std::rc::Rc;

#[delayed]
fn share(text: String) -> Rc<String> {
    Rc::new(text)
}

fn main() {}
