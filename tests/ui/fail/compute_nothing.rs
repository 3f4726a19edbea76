use delayed::compute;

fn main() {
    let _ = compute!();
}
