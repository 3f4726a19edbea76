// `Delayed` has its own `map`, which a call on a handle would reach.
delayed::methods! {
    impl Option<u64> {
        fn map(self, f: fn(u64) -> u64) -> Option<u64>;
    }
}

fn main() {}
