use delayed::delayed;

#[delayed]
fn identity<T: Clone>(x: T) -> T {
    x
}

fn main() {
    let text = String::from("short-lived");
    let _ = identity::<&str>(text.as_str());
}
