use delayed::delayed;

trait Loader {
    #[delayed]
    fn load(path: String) -> Vec<u8>;
}

fn main() {}
