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

/// Generic: its instantiation for `u64` is registered for workers.
#[dl::delayed(crate = "dl")]
pub fn largest<T: Ord + Clone>(values: Vec<T>) -> Option<T> {
    values.into_iter().max()
}

#[cfg(feature = "distributed")]
dl::register!(largest::<u64>);

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
        assert_eq!(dl::compute!(largest(vec![3_u8, 9, 4])).unwrap(), Some(9));
    }

    #[cfg(feature = "distributed")]
    #[test]
    fn functions_and_instantiations_are_registered_under_a_renamed_dependency() {
        use dl::distributed::function;
        let here = |name: &str| function(&format!("delayed_renamed_dependency::{name}"));
        assert!(here("inc").unwrap().runs_from_bytes());
        let largest = here("largest::<u64>").unwrap();
        assert_eq!(largest.signature(), "fn(Vec<u64>) -> Option<u64>");
        assert!(here("largest::<u8>").is_none());
    }
}
