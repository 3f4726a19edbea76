// Lazy twins of std types' methods: borrowed returns become owned, a
// `Result` fails the task on `Err`, arguments take values or handles.
use delayed::{Delayed, methods};

methods! {
    impl String {
        fn len(&self) -> usize;
        fn trim(&self) -> &str;
        fn parse(&self) -> Result<u64, std::num::ParseIntError>;
    }
}

methods! {
    #[delayed(trait_name = "Numbers")]
    impl Vec<u64> {
        pub fn first(&self) -> Option<&u64>;
        fn contains(&self, x: &u64) -> bool;
    }
}

fn main() {
    let text: Delayed<String> = delayed::value(" 42 ".to_string());
    let n: Delayed<u64> = text.trim().parse();
    let v = delayed::value(vec![1_u64, 2]);
    let first: Delayed<Option<u64>> = v.first();
    let has: Delayed<bool> = v.contains(n.clone());
    let _ = (text.len(), first, has);
}
