use delayed::{delayed, Resources};

#[delayed(priority = -2, resources(gpu = 1, memory = "1.5GiB"))]
fn train(x: i64) -> i64 {
    x
}

fn main() {
    let client = delayed::Client::builder()
        .threads(2)
        .resources("gpu=1,memory=2GiB".parse::<Resources>().unwrap())
        .build()
        .unwrap();
    assert_eq!(client.compute(&train(3)).unwrap(), 3);
}
