use delayed::delayed;

fn main() {
    let _ = delayed(5);
}
