// An associated function has no value to call it on: it is not a method.
delayed::methods! {
    impl String {
        fn new() -> String;
    }
}

fn main() {}
