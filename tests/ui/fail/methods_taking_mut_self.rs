// A task's input may be shared: a method cannot take it mutably.
delayed::methods! {
    impl Vec<u64> {
        fn push(&mut self, value: u64);
    }
}

fn main() {}
