// A task value has a type known where the task is built.
delayed::methods! {
    impl<T> Vec<T> {
        fn len(&self) -> usize;
    }
}

fn main() {}
