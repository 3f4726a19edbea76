//! `#[delayed]` on impl blocks and associated functions: method calls on a
//! `Delayed<Self>` build tasks named after the method, as in Dask.

use delayed::{Client, Delayed, compute, delayed};

#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    values: Vec<f64>,
}

#[delayed]
impl Frame {
    /// Associated functions become lazy in place, with `Self` in scope.
    pub fn load(n: u32) -> Self {
        Self {
            values: (1..=n).map(f64::from).collect(),
        }
    }

    /// `&self` borrows the shared value.
    pub fn mean(&self) -> f64 {
        self.values.iter().sum::<f64>() / self.values.len() as f64
    }

    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            values: self.values.iter().map(|v| v * factor).collect(),
        }
    }

    /// `self` takes the value: moved to the last consumer.
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }

    pub fn nth(&self, i: usize) -> Result<f64, String> {
        self.values
            .get(i)
            .copied()
            .ok_or_else(|| format!("no value {i}"))
    }

    pub async fn total_later(&self) -> f64 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        self.values.iter().sum()
    }

    #[delayed(name = "describe")]
    pub fn summary(&self, label: &str) -> String {
        format!("{label}: {}", self.values.len())
    }
}

#[test]
fn methods_on_a_handle_build_tasks_named_after_the_method() {
    let frame: Delayed<Frame> = Frame::load(4);
    assert_eq!(frame.key().name(), "load");
    let mean = frame.mean();
    let doubled = frame.scaled(2.0).mean();
    let values = frame.scaled(0.5).into_values();
    let (mean_key, scaled_key) = (mean.key().name(), frame.scaled(1.0).key().name());
    assert_eq!((mean_key, scaled_key), ("mean", "scaled"));
    assert_eq!(
        compute!(mean, doubled, values).unwrap(),
        (2.5, 5.0, vec![0.5, 1.0, 1.5, 2.0])
    );
    // The eager methods stay on the type itself.
    let eager = Frame {
        values: vec![1.0, 3.0],
    };
    assert_eq!(eager.mean(), 2.0);
}

#[test]
fn methods_take_arguments_like_free_functions_and_keep_their_attributes() {
    let frame = Frame::load(3);
    let index = delayed::value(1_usize);
    let second = frame.nth(&index);
    let missing = frame.nth(9);
    let label = frame.summary("rows");
    assert_eq!(label.key().name(), "describe");
    assert_eq!(
        compute!(second, label).unwrap(),
        (2.0, "rows: 3".to_string())
    );
    let error = missing.compute().unwrap_err();
    assert_eq!(error.key(), Some(missing.key()));
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "no value 9"
    );
    let client = Client::synchronous();
    assert_eq!(client.compute(&frame.total_later()).unwrap(), 6.0);
}

#[test]
fn a_picture_of_method_calls_names_the_methods() {
    let frame = Frame::load(2);
    let dot = delayed::visualize(&frame.scaled(3.0).mean()).to_dot();
    for name in ["load", "scaled", "mean"] {
        assert!(dot.contains(&format!("label=\"{name}\"")), "{name}: {dot}");
    }
    assert!(!dot.contains("label=\"map\""), "{dot}");
}

/// A generic impl: the trait is generic too.
#[derive(Clone)]
pub struct Stack<T> {
    items: Vec<T>,
}

#[delayed(trait_name = "StackTasks")]
impl<T: Clone + Send + Sync + 'static> Stack<T> {
    pub fn of(items: Vec<T>) -> Self {
        Self { items }
    }

    pub fn depth(&self) -> usize {
        self.items.len()
    }

    pub fn top(&self) -> Option<T> {
        self.items.last().cloned()
    }
}

#[test]
fn generic_impl_blocks_and_a_named_trait() {
    use StackTasks as _;
    let words = Stack::of(vec!["a".to_string(), "b".to_string()]);
    let numbers = Stack::of(vec![1_u8, 2, 3]);
    assert_eq!(
        compute!(words.depth(), words.top(), numbers.top()).unwrap(),
        (2, Some("b".to_string()), Some(3))
    );
}

/// `#[delayed]` on an associated function of a plain impl block, where the
/// body names `Self`: it used to fail with E0401.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    x: i64,
}

impl Point {
    #[delayed]
    pub fn new(x: i64) -> Self {
        Self { x }
    }

    #[delayed(pure)]
    pub fn origin() -> Self {
        Self::default_x()
    }

    fn default_x() -> Self {
        Point { x: 0 }
    }
}

#[test]
fn associated_functions_see_self() {
    let (p, o) = compute!(Point::new(3), Point::origin()).unwrap();
    assert_eq!((p, o), (Point { x: 3 }, Point { x: 0 }));
    assert_eq!(Point::origin().key(), Point::origin().key());
}

#[test]
fn map_closures_can_be_named_like_methods() {
    let frame = Frame::load(3);
    let max = frame
        .map_ref(|f| f.values.iter().copied().fold(f64::MIN, f64::max))
        .named("max");
    assert_eq!(max.key().name(), "max");
    assert!(delayed::visualize(&max).to_dot().contains("label=\"max\""));
    // A handle that other tasks already use keeps its key: the new name is
    // given to a task that passes its value on.
    let shared = Frame::load(2);
    let user = shared.mean();
    let renamed = shared.clone().named("frame");
    assert_eq!(renamed.key().name(), "frame");
    assert_eq!(shared.key().name(), "load");
    assert_eq!(compute!(user, renamed.mean()).unwrap(), (1.5, 1.5));
}
