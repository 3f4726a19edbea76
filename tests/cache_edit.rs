//! Editing code between runs recomputes exactly what the edit can change
//! (feature `cache`): this test writes a small crate, builds and runs it,
//! edits it and runs it again, on one cache directory. Each run prints
//! the tasks that ran rather than being read from the cache.
//!
//! The crate is built with cargo, offline, into `target/cache-edit` (kept
//! between runs of this test, so only the first build compiles the
//! dependencies).

use std::path::{Path, PathBuf};
use std::process::Command;

const MAIN: &str = r#"
use delayed::diagnostics::{Callback, TaskFinish};
use delayed::{delayed, Client};
use std::sync::{Arc, Mutex};

#[delayed::tracked]
fn scale(x: u64) -> u64 {
    x * 10 // SCALE
}

#[delayed(cache)]
fn load(n: u64) -> u64 {
    n + 1 // LOAD
}

#[delayed(cache)]
fn double(x: u64) -> u64 {
    x * 2 // DOUBLE
}

#[delayed(cache, uses = [scale])]
fn scaled(x: u64) -> u64 {
    scale(x)
}

#[delayed(cache)]
fn sum(a: u64, b: u64) -> u64 {
    a + b
}

#[derive(Default)]
struct Ran(Mutex<Vec<&'static str>>);

impl Callback for Ran {
    fn task_finish(&self, task: &TaskFinish<'_>) {
        if !task.cached {
            self.0.lock().unwrap().push(task.name);
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("a cache directory");
    let ran = Arc::new(Ran::default());
    let client = Client::builder().cache(dir).callback(ran.clone()).build().unwrap();
    let total = sum(double(load(1)), scaled(load(2)));
    let value = client.compute(&total).unwrap();
    let mut ran = ran.0.lock().unwrap().clone();
    ran.sort();
    println!("{value} ran: [{}]", ran.join(" "));
}
"#;

/// Writes the crate with `main.rs`, builds it and runs it on `cache`;
/// returns what it printed.
fn run(krate: &Path, main: &str, cache: &Path) -> String {
    std::fs::write(krate.join("src/main.rs"), main).unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", workspace.join("target/cache-edit"))
        .status()
        .expect("cargo runs");
    assert!(built.success(), "the edited crate builds");
    let output = Command::new(workspace.join("target/cache-edit/debug/edited"))
        .arg(cache)
        .output()
        .expect("the edited crate runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("delayed-cache-edit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("crate/src")).unwrap();
    dir
}

#[test]
fn an_edit_reruns_the_edited_task_and_its_descendants_only() {
    let dir = scratch();
    let krate = dir.join("crate");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"edited\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ndelayed = {{ path = {:?}, features = [\"cache\"] }}\n\n[workspace]\n",
            workspace.display().to_string()
        ),
    )
    .unwrap();
    // The workspace's versions of every dependency, as an offline build needs.
    std::fs::copy(workspace.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let cache = dir.join("cache");

    assert_eq!(
        run(&krate, MAIN, &cache),
        "34 ran: [double load load scaled sum]"
    );
    assert_eq!(run(&krate, MAIN, &cache), "34 ran: []");
    // A comment and new lines are not code.
    let commented = MAIN.replace(
        "n + 1 // LOAD",
        "// one more than asked\n    n\n        + 1",
    );
    assert_eq!(run(&krate, &commented, &cache), "34 ran: []");
    // The same value by other code: `double` runs again, and `sum`, keyed
    // by `double`'s key; the rest is read.
    let doubled = MAIN.replace("x * 2 // DOUBLE", "x + x");
    assert_eq!(run(&krate, &doubled, &cache), "34 ran: [double sum]");
    // A tracked helper: the function that names it in `uses`, and `sum`.
    let rescaled = doubled.replace("x * 10 // SCALE", "x * 100");
    assert_eq!(run(&krate, &rescaled, &cache), "304 ran: [scaled sum]");
    // A new `version` of `load`: both its tasks, and everything after them.
    let versioned = MAIN.replace(
        "#[delayed(cache)]\nfn load",
        "#[delayed(cache, version = \"2\")]\nfn load",
    );
    assert_ne!(versioned, MAIN);
    assert_eq!(
        run(&krate, &versioned, &cache),
        "34 ran: [double load load scaled sum]"
    );
    // Back to the first version: every entry is still there.
    assert_eq!(run(&krate, MAIN, &cache), "34 ran: []");
    std::fs::remove_dir_all(&dir).unwrap();
}
