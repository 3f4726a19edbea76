//! The crate under another name: `crate = "dl"` tells the attribute, and
//! `dl::compute!` needs nothing. (`tests/renamed-dependency` checks the
//! same with no crate named `delayed` in sight.)

extern crate delayed as dl;

#[dl::delayed(crate = "dl")]
fn inc(x: i64) -> i64 {
    x + 1
}

#[dl::delayed(crate = "dl", pure)]
async fn double(x: i64) -> i64 {
    2 * x
}

#[derive(Clone)]
struct Counter(u32);

#[dl::delayed(crate = "dl")]
impl Counter {
    fn start() -> Self {
        Self(1)
    }

    fn next(&self) -> u32 {
        self.0 + 1
    }
}

fn main() {
    let a = inc(1);
    let (a, b, c) = dl::compute!(a, double(3), Counter::start().next()).unwrap();
    assert_eq!((a, b, c), (2, 6, 2));
}
