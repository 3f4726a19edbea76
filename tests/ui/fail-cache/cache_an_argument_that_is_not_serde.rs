use delayed::delayed;

#[derive(Clone)]
struct Settings {
    depth: u8,
}

#[delayed(cache)]
fn search(settings: Settings) -> u8 {
    settings.depth
}

fn main() {
    let _ = search(Settings { depth: 1 });
}
