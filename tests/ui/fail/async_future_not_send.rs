use delayed::delayed;
use std::rc::Rc;

#[delayed]
async fn hold(x: i64) -> i64 {
    let local = Rc::new(x);
    tokio::task::yield_now().await;
    *local
}

fn main() {}
