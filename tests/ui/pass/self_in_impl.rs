//! `Self`, and the impl's generic parameters, inside the body of a
//! `#[delayed]` associated function, and in a `#[delayed]` impl block.

use delayed::{Delayed, delayed};

#[derive(Clone, Debug, PartialEq)]
struct Point {
    x: i64,
}

impl Point {
    #[delayed]
    fn new(x: i64) -> Self {
        Self { x }
    }

    #[delayed]
    fn moved(p: Self, by: i64) -> Self {
        Self::shift(p, by)
    }

    fn shift(p: Self, by: i64) -> Self {
        Self { x: p.x + by }
    }
}

#[derive(Clone)]
struct Wrapper<T> {
    inner: T,
}

impl<T: Clone + Send + Sync + 'static> Wrapper<T> {
    #[delayed]
    fn wrap(inner: T) -> Self {
        Self { inner }
    }
}

#[delayed]
impl<T: Clone + Send + Sync + 'static> Wrapper<T> {
    fn unwrap(self) -> T {
        self.inner
    }

    fn peek(&self) -> T {
        Self::clone(self).inner
    }
}

fn main() {
    let p: Delayed<Point> = Point::moved(Point::new(1), 2);
    assert_eq!(p.compute().unwrap(), Point { x: 3 });
    let w = Wrapper::wrap(5_u8);
    assert_eq!(delayed::compute!(w.peek(), w.unwrap()).unwrap(), (5, 5));
}
