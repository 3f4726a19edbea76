//! `delayed` as a user depends on it under another name:
//! `dl = { package = "delayed", … }`. The attribute is told with
//! `crate = "dl"`; `dl::compute!` needs nothing.

#[dl::delayed(crate = "dl")]
pub fn inc(x: i64) -> i64 {
    x + 1
}

#[dl::delayed(crate = "dl", pure)]
pub async fn double(x: i64) -> i64 {
    2 * x
}

/// A counter with lazy methods.
#[derive(Clone)]
pub struct Counter(pub u32);

#[dl::delayed(crate = "dl")]
impl Counter {
    pub fn start() -> Self {
        Self(1)
    }

    pub fn next(&self) -> u32 {
        self.0 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_and_compute_work_under_a_renamed_dependency() {
        let a = inc(1);
        let (a, b, c) = dl::compute!(a, double(3), Counter::start().next()).unwrap();
        assert_eq!((a, b, c), (2, 6, 2));
    }
}
