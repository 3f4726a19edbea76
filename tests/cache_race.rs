//! Two processes racing on one cache key compute it once (feature
//! `cache`): this test binary starts two copies of itself on one cache
//! directory. Run with `DELAYED_CACHE_RACE` set to that directory, a copy
//! computes a slow cached task and prints its value instead of testing.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use delayed::{Client, delayed};

/// Appends a line to `log` (so that the test counts the runs), then
/// waits long enough for the other process to look the key up meanwhile.
#[delayed(cache)]
fn slow_square(log: String, x: u64) -> u64 {
    common::log_run(&log, &format!("run in {}", std::process::id()));
    std::thread::sleep(Duration::from_millis(500));
    x * x
}

fn main() {
    if let Some(dir) = std::env::var_os("DELAYED_CACHE_RACE") {
        let dir = std::path::PathBuf::from(dir);
        let log = dir.join("runs.log").to_string_lossy().into_owned();
        let client = Client::builder()
            .cache(dir.join("cache"))
            .build()
            .expect("a client");
        // Both copies start the compute together: each says it is ready,
        // then waits for the word.
        std::fs::write(dir.join(format!("ready-{}", std::process::id())), b"").expect("ready");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.join("go").exists() {
            assert!(Instant::now() < deadline, "no word to go");
            std::thread::sleep(Duration::from_millis(1));
        }
        let value = client.compute(&slow_square(log, 12)).expect("the compute");
        println!("{value}");
        return;
    }
    two_processes_racing_on_one_key_compute_it_once();
    println!("test two_processes_racing_on_one_key_compute_it_once ... ok");
}

fn two_processes_racing_on_one_key_compute_it_once() {
    let dir = std::env::temp_dir().join(format!("delayed-cache-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&me)
                .env("DELAYED_CACHE_RACE", &dir)
                .stdout(Stdio::piped())
                .spawn()
                .expect("a copy of this test starts")
        })
        .collect();
    let started = Instant::now();
    let ready = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("ready-"))
            .count()
    };
    while ready() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the copies did not get ready"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::write(dir.join("go"), b"").unwrap();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("a copy of this test ends");
            assert!(output.status.success(), "{output:?}");
            String::from_utf8(output.stdout).unwrap()
        })
        .collect();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the copies took {:?}",
        started.elapsed()
    );
    assert_eq!(outputs, ["144\n", "144\n"]);
    let runs = std::fs::read_to_string(dir.join("runs.log")).unwrap();
    assert_eq!(runs.lines().count(), 1, "{runs}");
    std::fs::remove_dir_all(&dir).unwrap();
}
