//! Results cached across runs (feature `cache`): what runs again, and what
//! a bad store does.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use delayed::cache::{Miss, Verdict};
use delayed::diagnostics::{Callback, TaskFinish};
use delayed::{Client, Delayed, delayed};

/// A fresh directory for one test, removed when dropped (also when the
/// test fails).
fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("delayed-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Counts the tasks that ran and the ones read from the cache, by name.
/// The `list` that gathers a `Vec` of handles for `total` counts as read
/// from the cache when everything it gathers was.
#[derive(Default)]
struct Ran(Mutex<Vec<(&'static str, bool)>>);

impl Ran {
    fn ran(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, c)| !c)
            .map(|(n, _)| *n)
            .collect();
        names.sort();
        names
    }
    fn cached(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|(_, c)| *c).count()
    }
    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Callback for Ran {
    fn task_finish(&self, task: &TaskFinish<'_>) {
        self.0.lock().unwrap().push((task.name, task.cached));
    }
}

fn client(dir: &Path, ran: &Arc<Ran>) -> Client {
    Client::builder()
        .cache(dir)
        .callback(ran.clone())
        .build()
        .unwrap()
}

#[delayed(cache)]
fn load(day: u32) -> Vec<u32> {
    (0..100).map(|i| i * day).collect()
}

#[delayed(cache)]
fn clean(rows: &[u32]) -> Vec<u32> {
    rows.iter().copied().filter(|x| x % 2 == 0).collect()
}

#[delayed(cache)]
fn total(parts: Vec<Vec<u32>>) -> u64 {
    parts.iter().flatten().map(|&x| u64::from(x)).sum()
}

fn pipeline(days: &[u32]) -> Delayed<u64> {
    let cleaned: Vec<_> = days.iter().map(|&day| clean(load(day))).collect();
    total(cleaned)
}

#[test]
fn a_pipeline_run_twice_runs_nothing_the_second_time() {
    let dir = scratch("twice");
    let ran = Arc::new(Ran::default());
    let first = client(&dir, &ran).compute(&pipeline(&[1, 2, 3])).unwrap();
    assert_eq!(ran.ran().len(), 8);
    assert_eq!(ran.cached(), 0);
    ran.clear();
    // Another client, as another run of the program would have.
    let second = client(&dir, &ran).compute(&pipeline(&[1, 2, 3])).unwrap();
    assert_eq!(second, first);
    assert_eq!(ran.ran(), Vec::<&str>::new());
    assert_eq!(ran.cached(), 8);
}

#[test]
fn a_changed_argument_reruns_only_what_depends_on_it() {
    let dir = scratch("argument");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    client.compute(&pipeline(&[1, 2, 3])).unwrap();
    ran.clear();
    let again = pipeline(&[1, 2, 4]);
    assert_eq!(
        client.compute(&again).unwrap(),
        pipeline(&[1, 2, 4]).uncached().compute().unwrap()
    );
    assert_eq!(ran.ran(), ["clean", "list", "load", "total"]);
    assert_eq!(ran.cached(), 4);
    let explained = delayed::cache::explain(&again);
    let misses: Vec<String> = explained
        .tasks()
        .iter()
        .filter(|task| !task.verdict.is_hit())
        .map(|task| format!("{} {}", task.key.name(), task.verdict))
        .collect();
    assert_eq!(
        misses,
        // `load(4)` is compared with the last `load` written at its
        // place, fed by nothing: `load(3)`.
        [
            "load miss: argument 1 changed",
            "clean miss: input 1 changed",
            "total miss: input 1 changed",
        ],
        "{explained}"
    );
}

#[test]
fn a_task_with_a_different_argument_at_the_same_place_says_which() {
    let dir = scratch("which");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    client.compute(&clean(load(5))).unwrap();
    let six = clean(load(6));
    client.compute(&six).unwrap();
    let verdicts: Vec<Verdict> = delayed::cache::explain(&six)
        .tasks()
        .iter()
        .map(|t| t.verdict.clone())
        .collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Miss(Miss::Argument(0)),
            Verdict::Miss(Miss::Input(0))
        ]
    );
}

static UPSTREAM_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Not cached: it runs every time, and returns the same bytes.
#[delayed]
fn fetch(n: u32) -> Vec<u32> {
    UPSTREAM_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![n; 10]
}

#[delayed(cache)]
fn summed_by_key(rows: Vec<u32>) -> u32 {
    rows.iter().sum()
}

#[delayed(cache(by_value))]
fn summed_by_value(rows: Vec<u32>) -> u32 {
    rows.iter().sum()
}

#[delayed(cache, version = "2")]
fn doubled(x: u32) -> u32 {
    x * 2
}

#[test]
fn an_uncached_input_is_keyed_by_its_bytes_so_equal_bytes_hit() {
    let dir = scratch("bytes");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    client
        .compute(&(summed_by_key(fetch(3)), summed_by_value(fetch(3))))
        .unwrap();
    ran.clear();
    assert_eq!(
        client
            .compute(&(summed_by_key(fetch(3)), summed_by_value(fetch(3))))
            .unwrap(),
        (30, 30)
    );
    // `fetch` ran again (it is not cached); the sums did not.
    assert_eq!(ran.ran(), ["fetch", "fetch"]);
}

/// Different calls, equal bytes: `parity(2)` and `parity(4)` are both 0.
#[delayed(cache)]
fn parity(n: u32) -> u32 {
    n % 2
}

#[delayed(cache)]
fn described_by_key(bit: u32) -> String {
    format!("bit {bit}")
}

#[delayed(cache(by_value))]
fn described_by_value(bit: u32) -> String {
    format!("bit {bit}")
}

#[test]
fn by_value_an_input_with_a_new_key_but_the_same_bytes_keeps_its_dependents() {
    let dir = scratch("by-value");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    client
        .compute(&(described_by_key(parity(2)), described_by_value(parity(2))))
        .unwrap();
    ran.clear();
    let again = (described_by_key(parity(4)), described_by_value(parity(4)));
    assert_eq!(
        client.compute(&again).unwrap(),
        ("bit 0".to_string(), "bit 0".to_string())
    );
    // `parity(4)` is a new task; by key its dependent is too, by value
    // not. Of its two calls, one runs; the other waits for its claim on
    // the key, then reads it.
    assert_eq!(ran.ran(), ["described_by_key", "parity"]);
    assert_eq!(ran.cached(), 2);
}

#[test]
fn uncached_tasks_run_and_write_nothing() {
    let dir = scratch("uncached");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    client.compute(&doubled(4).uncached()).unwrap();
    client.compute(&doubled(4).uncached()).unwrap();
    assert_eq!(ran.ran(), ["doubled", "doubled"]);
    let off = doubled(4).uncached();
    client.compute(&off).unwrap();
    assert_eq!(
        delayed::cache::explain(&off).tasks()[0].verdict,
        Verdict::Off
    );
    // Nothing was written, so the first cached run misses.
    let on = doubled(4);
    client.compute(&on).unwrap();
    assert_eq!(
        delayed::cache::explain(&on).tasks()[0].verdict,
        Verdict::Miss(Miss::New)
    );
}

#[test]
fn a_client_without_a_cache_runs_cached_functions_as_any_other() {
    let ran = Arc::new(Ran::default());
    let client = Client::builder().callback(ran.clone()).build().unwrap();
    client.compute(&pipeline(&[1])).unwrap();
    client.compute(&pipeline(&[1])).unwrap();
    assert_eq!(ran.ran().len(), 8);
    assert_eq!(ran.cached(), 0);
}

/// Every file under `dir` whose path contains `part`.
fn files(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.to_string_lossy().contains(part) {
                found.push(path);
            }
        }
    }
    found
}

/// A value large enough for a file of its own in the disk store.
#[delayed(cache)]
fn big(day: u64) -> Vec<u64> {
    (0..5_000).map(|i| i * day).collect()
}

#[delayed(cache)]
fn sum_big(values: &[u64]) -> u64 {
    values.iter().sum()
}

/// Computes `graph` on a synchronous client (so that this thread's
/// subscriber sees its events) and returns the cache's warnings.
fn computed_with_warnings(dir: &Path, ran: &Arc<Ran>, graph: &Delayed<u64>) -> (u64, Vec<String>) {
    let events = common::spans::Events::default();
    let client = Client::builder()
        .synchronous()
        .cache(dir)
        .callback(ran.clone())
        .build()
        .unwrap();
    let value = tracing::subscriber::with_default(events.clone(), || client.compute(graph));
    let warnings = events
        .all()
        .into_iter()
        .filter(|e| e.starts_with("delayed::cache"))
        .collect();
    (value.unwrap(), warnings)
}

/// Writes garbage into half of `files` and cuts the others short.
fn spoil(files: &[PathBuf]) {
    for (i, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).unwrap();
        let spoiled = if i % 2 == 0 {
            vec![0xc1; bytes.len()]
        } else {
            bytes[..bytes.len() / 2].to_vec()
        };
        std::fs::write(file, spoiled).unwrap();
    }
}

#[test]
fn a_corrupt_or_truncated_entry_is_a_miss_with_a_warning() {
    let dir = scratch("corrupt");
    let ran = Arc::new(Ran::default());
    let graph = || sum_big(big(7));
    let expected = graph().uncached().compute().unwrap();
    let (value, warnings) = computed_with_warnings(&dir, &ran, &graph());
    assert_eq!((value, warnings.len()), (expected, 0));
    // The large value has a file of its own; the others live in the index.
    let contents = files(&dir, "content-v2");
    assert_eq!(contents.len(), 1, "{contents:?}");
    spoil(&contents);
    ran.clear();
    let (value, warnings) = computed_with_warnings(&dir, &ran, &graph());
    assert_eq!(value, expected);
    // `big` ran again; `sum_big`, keyed by `big`'s key, was read.
    assert_eq!(ran.ran(), ["big"]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("could not read cache entry"),
        "{warnings:?}"
    );
    // Now the index: a line that does not match its hash is no entry.
    let index = files(&dir, "index-v5");
    assert!(index.len() >= 4, "{index:?}");
    spoil(&index);
    ran.clear();
    let (value, _) = computed_with_warnings(&dir, &ran, &graph());
    assert_eq!(value, expected);
    assert_eq!(ran.ran(), ["big", "sum_big"]);
}

#[test]
fn a_store_that_cannot_be_written_leaves_the_compute_uncached_with_a_warning() {
    let dir = scratch("unwritable");
    std::fs::create_dir_all(&dir).unwrap();
    // A directory inside a file: every write fails, as on a full disk or a
    // read-only mount (a test running as root could write anywhere else).
    let file = dir.join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let store = file.join("cache");
    let ran = Arc::new(Ran::default());
    let (value, warnings) = computed_with_warnings(&store, &ran, &pipeline(&[7]));
    assert_eq!(value, pipeline(&[7]).uncached().compute().unwrap());
    assert_eq!(ran.ran(), ["clean", "list", "load", "total"]);
    assert!(
        warnings.iter().any(|w| w.contains("could not")),
        "{warnings:?}"
    );
}

#[test]
fn cached_on_a_function_that_is_not_cached_names_the_task() {
    #[delayed]
    fn plain(x: u32) -> u32 {
        x
    }
    let err = plain(1).cached().compute().unwrap_err();
    assert_eq!(err.kind(), delayed::ErrorKind::Config);
    assert_eq!(err.key().unwrap().name(), "plain");
    assert!(
        err.to_string()
            .contains("write `#[delayed(cache)]` on `plain`"),
        "{err}"
    );
}

#[test]
fn the_progress_bar_counts_the_tasks_read_from_the_cache() {
    let dir = scratch("progress");
    let log = dir.with_extension("log");
    let bar = delayed::diagnostics::ProgressBar::lines(
        std::fs::File::create(&log).unwrap(),
        std::time::Duration::from_secs(60),
    );
    let client = Client::builder()
        .cache(&dir)
        .callback(Arc::new(bar.clone()))
        .build()
        .unwrap();
    client.compute(&pipeline(&[5, 6])).unwrap();
    assert_eq!(bar.cached(), 0);
    client.compute(&pipeline(&[5, 6])).unwrap();
    // Five cached tasks, and the list that gathers two of them for `total`.
    assert_eq!((bar.cached(), bar.position()), (6, 6));
    let lines = std::fs::read_to_string(&log).unwrap();
    let last = lines.lines().last().unwrap();
    assert!(
        last.starts_with("[00:00:00] 6/6 tasks (6 cached) done in"),
        "{lines}"
    );
    std::fs::remove_file(&log).unwrap();
}

#[test]
fn the_profile_draws_tasks_read_from_the_cache_in_their_own_style() {
    let dir = scratch("profile");
    let profiler = delayed::diagnostics::Profiler::new();
    let client = Client::builder()
        .cache(&dir)
        .callback(Arc::new(profiler.clone()))
        .build()
        .unwrap();
    client.compute(&clean(load(8))).unwrap();
    profiler.clear();
    client.compute(&(clean(load(8)), clean(load(9)))).unwrap();
    let records = profiler.records();
    let mut cached: Vec<&str> = records
        .iter()
        .filter(|r| r.cached)
        .map(|r| r.function.as_str())
        .collect();
    cached.sort();
    assert_eq!(cached, ["clean", "load"]);
    let svg = profiler.to_svg();
    assert_eq!(svg.matches(r#"class="task cached""#).count(), 2, "{svg}");
    assert_eq!(svg.matches(r#"class="task""#).count(), 2, "{svg}");
    assert_eq!(svg.matches(", cached)</title>").count(), 2);
}

#[delayed(cache)]
async fn fetched(page: u32) -> String {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    format!("page {page}")
}

#[test]
fn async_tasks_are_cached_too_on_either_client() {
    let dir = scratch("async");
    let ran = Arc::new(Ran::default());
    let pages = || (0..4).map(fetched).collect::<Vec<_>>();
    let threaded = client(&dir, &ran);
    assert_eq!(threaded.compute(&pages()).unwrap()[3], "page 3");
    assert_eq!(ran.ran().len(), 4);
    ran.clear();
    let synchronous = Client::builder()
        .synchronous()
        .cache(&dir)
        .callback(ran.clone())
        .build()
        .unwrap();
    assert_eq!(synchronous.compute(&pages()).unwrap()[3], "page 3");
    assert_eq!(threaded.compute(&pages()).unwrap()[0], "page 0");
    assert_eq!((ran.ran().len(), ran.cached()), (0, 8));
}

/// Each cached task's verdict before computing `x`, as `name verdict`.
fn verdicts_of<T: delayed::TaskValue + Clone>(client: &Client, x: &Delayed<T>) -> Vec<String> {
    let plan = client.explain(x).unwrap();
    plan.tasks()
        .iter()
        .map(|t| format!("{} {}", t.key.name(), t.verdict))
        .collect()
}

#[test]
fn explain_before_a_compute_predicts_what_it_reads_and_runs() {
    let dir = scratch("dry-run");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    let verdicts = |x: &Delayed<u64>| verdicts_of(&client, x);
    // Nothing written yet: every task is new, and nothing ran to say so.
    assert!(
        verdicts(&pipeline(&[1, 2]))
            .iter()
            .all(|v| v.ends_with("miss: never computed"))
    );
    assert!(ran.ran().is_empty());
    client.compute(&pipeline(&[1, 2])).unwrap();
    assert!(
        verdicts(&pipeline(&[1, 2]))
            .iter()
            .all(|v| v.ends_with(" hit"))
    );
    // One new day: what the plan says would run is what runs.
    let predicted: Vec<String> = verdicts(&pipeline(&[1, 3]))
        .into_iter()
        .filter(|v| !v.ends_with(" hit"))
        .map(|v| v.split(' ').next().unwrap().to_owned())
        .collect();
    ran.clear();
    client.compute(&pipeline(&[1, 3])).unwrap();
    let mut predicted = predicted;
    predicted.sort();
    // The list gathering the summaries for `total` is no cached task: it
    // runs when something it gathers did.
    let ran: Vec<&str> = ran
        .ran()
        .into_iter()
        .filter(|&name| name != "list")
        .collect();
    assert_eq!(predicted, ran);
    // A task fed by one that is not cached cannot be known before it runs;
    // by key, one fed by a cached task that misses still can.
    let fed = verdicts_of(&client, &summed_by_key(fetch(9)));
    assert_eq!(
        fed,
        ["summed_by_key known once it runs: input 1: `fetch` runs first"]
    );
    let by_value = verdicts_of(&client, &described_by_value(parity(11)));
    assert_eq!(
        by_value,
        [
            "parity miss: never computed",
            "described_by_value known once it runs: input 1: `parity` runs first"
        ]
    );
}

#[test]
fn the_graph_picture_draws_tasks_read_from_the_cache_pale_and_dotted() {
    let dir = scratch("picture");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    client.compute(&clean(load(21))).unwrap();
    let again = (clean(load(21)), clean(load(22)));
    assert_eq!(
        delayed::visualize(&again)
            .to_svg()
            .matches("node cached")
            .count(),
        0
    );
    client.compute(&again).unwrap();
    let svg = delayed::visualize(&again).to_svg();
    assert_eq!(svg.matches(r#"class="node cached""#).count(), 2, "{svg}");
    assert_eq!(svg.matches("(read from the cache)</title>").count(), 2);
    let dot = delayed::visualize(&again).to_dot();
    assert_eq!(dot.matches("rounded,filled,dotted").count(), 2, "{dot}");
}

#[delayed(cache)]
fn listed(prices: std::collections::BTreeMap<String, u32>) -> String {
    prices
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn a_map_of_handles_is_keyed_by_its_keys_as_well_as_its_values() {
    let dir = scratch("map");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    let map = |a: &str, b: &str| {
        let entries = [(a.to_string(), doubled(1)), (b.to_string(), doubled(2))];
        listed(
            entries
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
    };
    assert_eq!(
        client.compute(&map("apple", "banana")).unwrap(),
        "apple=2,banana=4"
    );
    // The same handles in the same order under other keys: another value,
    // not a hit.
    assert_eq!(
        client.compute(&map("cherry", "damson")).unwrap(),
        "cherry=2,damson=4"
    );
    assert_eq!(
        client.compute(&map("apple", "banana")).unwrap(),
        "apple=2,banana=4"
    );
}

#[derive(Clone, serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Meters(f64);

#[delayed]
impl Meters {
    #[delayed(cache)]
    fn new(x: f64) -> Meters {
        Meters(x)
    }

    #[delayed(cache)]
    fn doubled(&self) -> Meters {
        Meters(self.0 * 2.0)
    }
}

#[delayed(cache)]
fn first<T>(items: Vec<T>) -> Option<T>
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    items.into_iter().next()
}

#[test]
fn methods_and_generic_functions_are_cached_too() {
    let dir = scratch("methods");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    let graph = || {
        (
            Meters::new(1.5).doubled(),
            first(vec![3_u8, 4]),
            first(vec!["a".to_string()]),
        )
    };
    let expected = (Meters(3.0), Some(3), Some("a".to_string()));
    assert_eq!(client.compute(&graph()).unwrap(), expected);
    assert_eq!(ran.ran(), ["doubled", "first", "first", "new"]);
    ran.clear();
    assert_eq!(client.compute(&graph()).unwrap(), expected);
    assert_eq!((ran.ran().len(), ran.cached()), (0, 4));
}

static FLAKY_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Fails its first attempt: retried, then cached.
#[delayed(pure, cache, retries = 2, backoff = "1ms")]
fn flaky_square(x: u64) -> Result<u64, String> {
    match FLAKY_RUNS.fetch_add(1, Ordering::SeqCst) {
        0 => Err("not yet".into()),
        _ => Ok(x * x),
    }
}

#[test]
fn a_cached_task_keeps_its_retries_and_purity() {
    let dir = scratch("retries");
    let ran = Arc::new(Ran::default());
    let client = client(&dir, &ran);
    // Pure: two calls are one task, run once (twice, with its retry).
    let (a, b) = (flaky_square(7), flaky_square(7));
    assert_eq!(a.key(), b.key());
    assert_eq!(client.compute(&(a, b)).unwrap(), (49, 49));
    assert_eq!(FLAKY_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(client.compute(&flaky_square(7)).unwrap(), 49);
    assert_eq!(FLAKY_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(ran.cached(), 1);
}
