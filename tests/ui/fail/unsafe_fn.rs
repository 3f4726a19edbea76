use delayed::delayed;

#[delayed]
unsafe fn read(ptr: usize) -> u8 {
    ptr as u8
}

fn main() {}
