//! Worker processes serving tasks from Redis Streams (feature
//! `distributed`), against a real `redis-server` this test starts on a
//! free port, with workers started from this test binary itself: run with
//! `DELAYED_WORKER` set, it serves tasks instead of testing.
//!
//! Without `redis-server` on the PATH the tests print a notice and pass;
//! with `DELAYED_REQUIRE_REDIS=1` (as `.ci/run` sets) they fail instead.
//! Every wait has a deadline, so a hang fails the test rather than
//! stalling the run.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use delayed::__private::{
    Argument, Link, Outcome, REJECTED, RedisBroker, TASKS, TaskMessage, WORKERS,
};
use delayed::distributed::{LocalCluster, decode, encode};
use delayed::{Client, Delayed, delayed};

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

/// Appends a line to `log` (so that a test counts the runs), then waits.
#[delayed]
fn logged(log: String, ms: u64, x: i64) -> i64 {
    common::log_run(&log, "run");
    std::thread::sleep(Duration::from_millis(ms));
    x
}

#[delayed]
fn fails(x: i64) -> Result<i64, String> {
    Err(format!("no {x}"))
}

#[delayed]
fn big(n: usize) -> Vec<u8> {
    vec![7; n]
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

/// The length of a value.
#[delayed]
fn length(v: Vec<u8>) -> usize {
    v.len()
}

/// The process a task ran in.
#[delayed]
fn process() -> u32 {
    std::process::id()
}

/// Leaves a mark named `me` in `dir`, and waits up to 20 s for the mark
/// of `other`: whether it came, which it does only if the two tasks run
/// at the same time.
#[delayed]
fn meet(dir: String, me: String, other: String) -> bool {
    let dir = std::path::Path::new(&dir);
    std::fs::write(dir.join(&me), "here").expect("the mark is written");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if dir.join(&other).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The process a task ran in, with its argument: generic, with two
/// instantiations registered for workers.
#[delayed]
fn tagged<T: Clone>(x: T) -> (u32, T) {
    (std::process::id(), x)
}

#[delayed]
fn repeat<const N: usize>(v: Vec<u8>) -> Vec<u8> {
    v.repeat(N)
}

delayed::register!(tagged::<String>, tagged::<Vec<u8>>, repeat::<3>);

/// The process a task ran in, on a worker with a GPU.
#[delayed(resources(gpu = 1))]
fn on_gpu(x: i64) -> (u32, i64) {
    (std::process::id(), x)
}

/// When a task on the GPU ran, in microseconds since the epoch: from,
/// to.
#[delayed(resources(gpu = 1))]
fn gpu_span(ms: u64) -> (u64, u64) {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64
    };
    let from = now();
    std::thread::sleep(Duration::from_millis(ms));
    (from, now())
}

/// Says what it does as it does it, `lines` times.
#[delayed]
fn chatty(lines: u32) -> u32 {
    for line in 0..lines {
        tracing::info!(line, "loading part");
    }
    tracing::debug!("too verbose to travel");
    lines
}

/// The resources of the worker it runs on, as its environment says.
#[delayed(resources(gpu = 1))]
fn resources_of_my_worker() -> String {
    std::env::var("DELAYED_WORKER_RESOURCES").unwrap_or_default()
}

/// A task that has no value for odd numbers.
#[delayed]
fn even_only(x: i64) -> Result<i64, delayed::Error> {
    if x % 2 == 1 {
        Err(delayed::Error::skip_because(format!("{x} is odd")))
    } else {
        Ok(x)
    }
}

/// `x` when it is at most the limit written in the file `limit`.
#[delayed]
fn under_limit(limit: String, x: i64) -> Result<i64, String> {
    let limit: i64 = std::fs::read_to_string(&limit)
        .map_err(|e| e.to_string())?
        .trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    if x > limit {
        Err(format!("{x} is over {limit}"))
    } else {
        Ok(x)
    }
}

fn main() {
    // In a worker process: serve until killed.
    if let Err(error) = delayed::distributed::serve_if_worker() {
        eprintln!("worker stopped: {error:?}");
        std::process::exit(1);
    }
    // A client process that computes one task and prints its value, for
    // the test of TLS (its trust comes from its environment).
    if let Ok(url) = std::env::var("DELAYED_TEST_ADD") {
        let value = Client::builder()
            .redis(url)
            .build()
            .and_then(|client| client.compute(&add(40, 2)));
        match value {
            Ok(value) => println!("{value}"),
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        }
        return;
    }
    // A client process, for the test that kills one mid-compute.
    if let Ok(url) = std::env::var("DELAYED_TEST_CLIENT") {
        let log = std::env::var("DELAYED_TEST_LOG").expect("a run log");
        let client = Client::builder()
            .redis(url)
            .build()
            .expect("the client connects");
        let tasks: Vec<Delayed<i64>> = (0..20).map(|i| logged(log.clone(), 200, i)).collect();
        let _ = client.compute(&tasks);
        return;
    }
    let Some(redis) = Redis::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the client side");
    let tests: Vec<(&str, Test)> = vec![
        (
            "a_client_computes_a_graph_on_worker_processes",
            a_client_computes_a_graph_on_worker_processes,
        ),
        (
            "a_worker_runs_as_many_tasks_at_once_as_it_has_threads",
            a_worker_runs_as_many_tasks_at_once_as_it_has_threads,
        ),
        (
            "a_local_cluster_uses_a_broker_it_is_given_and_leaves_it_running",
            a_local_cluster_uses_a_broker_it_is_given_and_leaves_it_running,
        ),
        (
            "registered_instantiations_of_generic_functions_run_on_workers",
            registered_instantiations_of_generic_functions_run_on_workers,
        ),
        (
            "a_local_cluster_starts_its_processes_and_stops_them_when_dropped",
            a_local_cluster_starts_its_processes_and_stops_them_when_dropped,
        ),
        (
            "a_chain_goes_to_a_worker_in_messages_of_64_tasks",
            a_chain_goes_to_a_worker_in_messages_of_64_tasks,
        ),
        (
            "a_message_s_chain_passes_each_result_on_and_stops_at_a_failure",
            a_message_s_chain_passes_each_result_on_and_stops_at_a_failure,
        ),
        (
            "a_chain_s_task_is_reported_before_a_long_one_after_it_ends",
            a_chain_s_task_is_reported_before_a_long_one_after_it_ends,
        ),
        (
            "a_chain_whose_worker_is_killed_runs_again_from_its_first_task",
            a_chain_whose_worker_is_killed_runs_again_from_its_first_task,
        ),
        (
            "results_come_back_from_two_worker_processes",
            results_come_back_from_two_worker_processes,
        ),
        (
            "a_task_of_a_killed_worker_is_run_by_another",
            a_task_of_a_killed_worker_is_run_by_another,
        ),
        (
            "a_paused_worker_runs_its_task_twice_and_it_is_recorded_once",
            a_paused_worker_runs_its_task_twice_and_it_is_recorded_once,
        ),
        (
            "a_task_that_loses_its_workers_too_often_fails_saying_so",
            a_task_that_loses_its_workers_too_often_fails_saying_so,
        ),
        (
            "a_chain_that_loses_its_workers_too_often_fails_at_its_first_task_not_done",
            a_chain_that_loses_its_workers_too_often_fails_at_its_first_task_not_done,
        ),
        (
            "bad_messages_are_rejected_and_the_other_tasks_go_on",
            bad_messages_are_rejected_and_the_other_tasks_go_on,
        ),
        (
            "a_failing_task_reports_its_key_and_cause",
            a_failing_task_reports_its_key_and_cause,
        ),
        (
            "a_result_over_the_payload_limit_fails_naming_the_task",
            a_result_over_the_payload_limit_fails_naming_the_task,
        ),
        (
            "a_broker_lost_mid_compute_fails_it_in_bounded_time",
            a_broker_lost_mid_compute_fails_it_in_bounded_time,
        ),
        (
            "an_unreachable_broker_is_a_clear_error_in_bounded_time",
            an_unreachable_broker_is_a_clear_error_in_bounded_time,
        ),
        (
            "the_diagnostics_and_persist_work_on_a_client_with_workers",
            the_diagnostics_and_persist_work_on_a_client_with_workers,
        ),
        (
            "results_read_only_by_workers_stay_on_the_broker_and_are_released",
            results_read_only_by_workers_stay_on_the_broker_and_are_released,
        ),
        (
            "a_redis_restarted_mid_compute_with_append_only_persistence_loses_nothing",
            a_redis_restarted_mid_compute_with_append_only_persistence_loses_nothing,
        ),
        (
            "a_broker_with_a_password_takes_its_user_and_refuses_others",
            a_broker_with_a_password_takes_its_user_and_refuses_others,
        ),
        (
            "a_killed_client_leaves_the_workers_serving_and_its_keys_expire",
            a_killed_client_leaves_the_workers_serving_and_its_keys_expire,
        ),
        (
            "a_task_needing_a_gpu_runs_only_on_the_worker_that_has_one",
            a_task_needing_a_gpu_runs_only_on_the_worker_that_has_one,
        ),
        (
            "a_local_cluster_s_worker_with_a_gpu_runs_the_gpu_tasks",
            a_local_cluster_s_worker_with_a_gpu_runs_the_gpu_tasks,
        ),
        (
            "keep_going_skips_and_replays_work_with_tasks_on_workers",
            keep_going_skips_and_replays_work_with_tasks_on_workers,
        ),
        (
            "a_task_s_tracing_events_on_a_worker_reach_the_client_s_subscriber",
            a_task_s_tracing_events_on_a_worker_reach_the_client_s_subscriber,
        ),
    ];
    #[cfg(feature = "cache")]
    let tests = [
        tests,
        vec![(
            "a_redis_cache_is_shared_by_clients_and_their_workers",
            a_redis_cache_is_shared_by_clients_and_their_workers as Test,
        )],
    ]
    .concat();
    #[cfg(feature = "tls")]
    let tests = [
        tests,
        vec![(
            "a_broker_over_tls_serves_the_workers_and_clients_that_trust_it",
            a_broker_over_tls_serves_the_workers_and_clients_that_trust_it as Test,
        )],
    ]
    .concat();
    #[cfg(not(feature = "tls"))]
    let tests = [
        tests,
        vec![(
            "a_tls_address_without_the_tls_feature_says_what_to_add",
            a_tls_address_without_the_tls_feature_says_what_to_add as Test,
        )],
    ]
    .concat();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        eprintln!("test {name} ...");
        test(&redis, &runtime);
        eprintln!("test {name} ... ok");
        ran += 1;
    }
    println!("test result: ok. {ran} passed; 0 failed");
}

/// One test: the Redis it shares with the others, and a runtime for the
/// client side.
type Test = fn(&Redis, &tokio::runtime::Runtime);

/// A `redis-server` of our own, on a free port, stopped when dropped.
struct Redis {
    server: Child,
    port: u16,
    dir: PathBuf,
    /// Its settings beyond the port, its directory and no persistence.
    settings: Vec<String>,
    /// The certificate of the authority that signed its own, when it
    /// speaks TLS alone.
    tls: Option<PathBuf>,
}

impl Redis {
    fn start() -> Option<Redis> {
        Redis::start_with(&[])
    }

    /// A `redis-server` with `settings` (as in `["--appendonly", "yes"]`)
    /// after ours.
    fn start_with(settings: &[&str]) -> Option<Redis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            let install = "install it with `apt-get install redis-server` (Redis 6.2 or newer)";
            if std::env::var_os("DELAYED_REQUIRE_REDIS").is_some_and(|v| v == "1") {
                panic!("DELAYED_REQUIRE_REDIS=1 but redis-server is not on the PATH: {install}");
            }
            eprintln!("skipped the distributed tests: redis-server is not on the PATH; {install}");
            return None;
        }
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        let setting = |name: &str| {
            let at = settings.iter().position(|s| s == name)?;
            settings.get(at + 1).cloned()
        };
        // A server of TLS alone is reached on its TLS port.
        let port = match setting("--tls-port") {
            Some(port) => port.parse().expect("a port"),
            None => free_port(),
        };
        let tls = setting("--tls-ca-cert-file").map(PathBuf::from);
        let dir = std::env::temp_dir().join(format!("delayed-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for Redis");
        let server = Redis::spawn(port, &dir, &settings);
        let redis = Redis {
            server,
            port,
            dir,
            settings,
            tls,
        };
        redis.wait_until_it_answers();
        Some(redis)
    }

    fn spawn(port: u16, dir: &std::path::Path, settings: &[String]) -> Child {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .args(settings)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(
            self.cli(&["PING"]).as_str(),
            "PONG" | "NOAUTH Authentication required."
        ) {
            assert!(
                Instant::now() < deadline,
                "redis-server answers within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: no shutdown of its own) and starts it
    /// again, on the same port, directory and settings.
    fn restart(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        self.server = Redis::spawn(self.port, &self.dir, &self.settings);
        self.wait_until_it_answers();
    }

    /// How many tasks were delivered to workers and not acknowledged.
    fn tasks_pending(&self) -> usize {
        let summary = self.cli(&["XPENDING", TASKS, "workers"]);
        let count = summary.lines().next().expect("XPENDING's summary");
        count.parse().expect("a count of pending tasks")
    }

    /// The keys matching `pattern`.
    fn keys(&self, pattern: &str) -> Vec<String> {
        let keys = self.cli(&["--scan", "--pattern", pattern]);
        keys.lines().map(str::to_string).collect()
    }

    fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// A command through `redis-cli`, its output trimmed.
    fn cli(&self, args: &[&str]) -> String {
        let mut cli = Command::new("redis-cli");
        if let Some(ca) = &self.tls {
            cli.arg("--tls").arg("--cacert").arg(ca);
        }
        let output = cli
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A worker process: this binary with `DELAYED_WORKER` set.
    fn worker(&self, settings: &[(&str, &str)]) -> Worker {
        worker_of(&self.url(), settings)
    }

    /// A client of this Redis's workers.
    fn client(&self) -> Client {
        Client::builder()
            .redis(self.url())
            .build()
            .expect("the client connects")
    }

    fn broker(&self, runtime: &tokio::runtime::Runtime) -> RedisBroker {
        runtime
            .block_on(RedisBroker::connect(&self.url(), Duration::from_secs(5)))
            .expect("the client connects")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A worker process serving the broker at `url`.
fn worker_of(url: &str, settings: &[(&str, &str)]) -> Worker {
    let child = Command::new(std::env::current_exe().expect("this test binary"))
        .env("DELAYED_WORKER", url)
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("a worker starts");
    Worker(child)
}

/// A worker process, killed when dropped.
struct Worker(Child);

impl Worker {
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} worked");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A task's arguments as they travel, each encoded.
macro_rules! args {
    ($($arg:expr),*) => {
        vec![$(Argument::Value(encode(&$arg).expect("the argument encodes"))),*]
    };
}

fn task(test: &str, key: &str, function: &str, args: Vec<Argument>) -> TaskMessage {
    TaskMessage {
        key: key.to_string(),
        function: format!("distributed::{function}"),
        args,
        uses: 0,
        build: delayed::distributed::build().to_string(),
        reply: format!("delayed:reply:{test}"),
        result: format!("delayed:result:{test}:{key}"),
        then: Vec::new(),
        priority: 0,
        resources: String::new(),
    }
}

/// A task to run after another in its message; `Argument::Previous` in
/// `args` is that one's result.
fn link(test: &str, key: &str, function: &str, args: Vec<Argument>) -> Link {
    Link {
        key: key.to_string(),
        function: format!("distributed::{function}"),
        args,
        result: format!("delayed:result:{test}:{key}"),
        uses: 0,
    }
}

/// Every completion on `test`'s reply stream until `count` have come, by
/// key; fails after `within`.
fn completions(
    broker: &RedisBroker,
    runtime: &tokio::runtime::Runtime,
    test: &str,
    count: usize,
    within: Duration,
) -> BTreeMap<String, Outcome> {
    let reply = format!("delayed:reply:{test}");
    let deadline = Instant::now() + within;
    let mut after = "0".to_string();
    let mut done = BTreeMap::new();
    while done.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{count} completions within {within:?}; got {done:?}"
        );
        let next = runtime
            .block_on(broker.next_done(&reply, &after, left.min(Duration::from_millis(500))))
            .expect("the reply stream reads");
        if let Some(next) = next {
            after = next.id;
            let key = next.key;
            assert!(
                done.insert(key.clone(), next.outcome).is_none(),
                "`{key}` completed once"
            );
        }
    }
    done
}

fn value<T: serde::de::DeserializeOwned>(outcome: &Outcome) -> T {
    match outcome {
        Outcome::Done(bytes) => decode(bytes).expect("the result decodes"),
        Outcome::Failed(report) => panic!("the task failed: {report}"),
        Outcome::Stored => panic!("`next_done` takes a result left on the broker"),
        Outcome::Passed => panic!("a task sent alone passes its result to no other"),
        Outcome::Lost(report) => panic!("the task's workers were lost: {report}"),
        Outcome::Skipped(reason) => panic!("the task skipped: {reason}"),
        Outcome::Logged(_) => panic!("`next_done` passes over log lines"),
    }
}

fn failure(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed(report) => report,
        other => panic!("the task was expected to fail: {other:?}"),
    }
}

/// The report of a task given up because its workers were lost, which a
/// client turns into `ErrorKind::LostWorker`.
fn lost(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Lost(report) => report,
        other => panic!("the task was expected to be given up as lost: {other:?}"),
    }
}

fn a_client_computes_a_graph_on_worker_processes(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let _workers = [redis.worker(&[]), redis.worker(&[])];
    let client = redis.client();
    // Registered functions run on the workers, their inputs sent from here;
    // a closure (`map`) runs here; plain values travel inside the tasks.
    let l: Vec<Delayed<i64>> = (0..200).map(|i| add(inc(i), 1)).collect();
    let total = l[199].map(|x| x * 10);
    let (values, total) = client.compute(&(l, total)).expect("the graph computes");
    assert_eq!(values, (0..200).map(|i| i + 2).collect::<Vec<_>>());
    assert_eq!(total, 2010);
    let processes: Vec<u32> = client
        .compute(&(0..20).map(|_| process()).collect::<Vec<_>>())
        .expect("the tasks run");
    assert!(
        processes.iter().all(|&p| p != std::process::id()),
        "every task ran in a worker: {processes:?}"
    );
    // A task that fails on a worker fails the compute with its key here.
    let failing = fails(3);
    let error = client.compute(&failing).unwrap_err();
    assert_eq!(error.key(), Some(failing.key()));
    let cause = std::error::Error::source(&error)
        .expect("the worker's report")
        .to_string();
    assert!(
        cause.contains("on a worker") && cause.contains("no 3"),
        "{cause}"
    );
}

/// Waits until a worker process serving `redis` says it has `resources`.
fn wait_for_worker_with(redis: &Redis, resources: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let members = redis.cli(&["ZRANGE", WORKERS, "0", "-1"]);
        if members
            .lines()
            .any(|m| m.ends_with(&format!("|{resources}")))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no worker with `{resources}` registered within 20 s");
}

fn a_task_needing_a_gpu_runs_only_on_the_worker_that_has_one(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let plain = redis.worker(&[("DELAYED_WORKER_THREADS", "2")]);
    let gpu = redis.worker(&[
        ("DELAYED_WORKER_THREADS", "2"),
        ("DELAYED_WORKER_RESOURCES", "gpu=1,memory=2GiB"),
    ]);
    wait_for_worker_with(redis, "gpu=1,memory=2GiB");
    let client = redis.client();
    // Plain tasks may go anywhere; the GPU tasks go to the GPU worker only.
    let (ran_on, plain_ran_on) = client
        .compute(&(
            (0..20).map(on_gpu).collect::<Vec<_>>(),
            (0..20).map(|_| process()).collect::<Vec<_>>(),
        ))
        .expect("the tasks run");
    let gpu_pid = gpu.0.id();
    assert!(
        ran_on.iter().all(|&(pid, _)| pid == gpu_pid),
        "every GPU task ran on the GPU worker {gpu_pid}: {ran_on:?} (plain worker {})",
        plain.0.id()
    );
    assert_eq!(
        ran_on.iter().map(|&(_, x)| x).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    assert!(plain_ran_on.iter().all(|&pid| pid != std::process::id()));
    // One GPU: a worker with two threads still runs one GPU task at a time.
    let mut spans = client
        .compute(&(0..4).map(|_| gpu_span(50)).collect::<Vec<_>>())
        .expect("the GPU tasks run");
    spans.sort();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "no two tasks held the one GPU at once: {spans:?}"
    );
    // A caller that says a GPU task needs nothing sends it to any worker,
    // which runs it as the message says.
    let anywhere = (0..10)
        .map(|x| on_gpu(x).with_resources(delayed::Resources::new()))
        .collect::<Vec<_>>();
    let ran_on = client.compute(&anywhere).expect("they run anywhere");
    assert_eq!(ran_on.len(), 10);
    // More than any worker has: an error at once, naming the task and the
    // resource, and saying what the workers have.
    let greedy = on_gpu(1).with_resources([("gpu", 4)]);
    let started = Instant::now();
    let err = client.compute(&greedy).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "at once, never a hang"
    );
    assert_eq!(err.kind(), delayed::ErrorKind::Config);
    assert_eq!(err.key(), Some(greedy.key()));
    let message = err.to_string();
    assert!(message.contains("needs gpu=4"), "{message}");
    assert!(
        message.contains("gpu=1,memory=2GiB"),
        "says what the workers have: {message}"
    );
}

fn a_local_cluster_s_worker_with_a_gpu_runs_the_gpu_tasks(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // The cluster returns once its workers serve: the client sees the GPU
    // at once, with no wait of the test's own.
    let cluster = LocalCluster::builder()
        .redis(redis.url())
        .workers(2)
        .worker_with(delayed::Resources::from([("gpu", 1)]))
        .threads_per_worker(1)
        .build()
        .expect("the cluster starts");
    assert_eq!(cluster.workers(), 3);
    let client = cluster.client().expect("the client connects");
    let seen = client
        .compute(
            &(0..12)
                .map(|_| resources_of_my_worker())
                .collect::<Vec<_>>(),
        )
        .expect("the GPU tasks run");
    assert!(seen.iter().all(|r| r == "gpu=1"), "{seen:?}");
}

fn keep_going_skips_and_replays_work_with_tasks_on_workers(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let _workers = [redis.worker(&[]), redis.worker(&[])];
    let client = redis.client();
    // Keep going: what the failure leaves standing is computed.
    let failing = fails(3);
    let (bad, good, downstream) =
        client.compute_settled(&(failing.clone(), add(1, 2), inc(failing.clone())));
    assert_eq!(good.expect("independent of the failure"), 3);
    assert_eq!(bad.as_ref().unwrap_err().key(), Some(failing.key()));
    let downstream = downstream.unwrap_err();
    assert_eq!(downstream.kind(), delayed::ErrorKind::Upstream);
    assert!(
        downstream.to_string().contains(&failing.key().to_string()),
        "{downstream}"
    );
    // A skip on a worker is a skip here, with its reason.
    let settled = client.compute_settled(&(0..4).map(|x| inc(even_only(x))).collect::<Vec<_>>());
    assert_eq!(settled[0].as_ref().unwrap(), &1);
    assert_eq!(settled[2].as_ref().unwrap(), &3);
    let odd = settled[1].as_ref().unwrap_err();
    assert_eq!(odd.kind(), delayed::ErrorKind::Skipped, "{odd:?}");
    assert!(format!("{odd:?}").contains("skipped: 1 is odd"), "{odd:?}");
    // Replay: a task that failed on a worker runs again here, its inputs
    // computed again, and fails the same way until its input is fixed.
    let limit = std::env::temp_dir().join(format!("delayed-limit-{}", std::process::id()));
    std::fs::write(&limit, "5").unwrap();
    let checked = under_limit(limit.display().to_string(), add(4, 3));
    let err = client.compute(&checked).unwrap_err();
    assert_eq!(err.key(), Some(checked.key()));
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        cause.contains("on a worker") && cause.contains("7 is over 5"),
        "{cause}"
    );
    let again = err.replay().unwrap_err();
    assert_eq!(again.key(), err.key());
    assert_eq!(
        std::error::Error::source(&again).unwrap().to_string(),
        "7 is over 5",
        "the same error, this time in this process"
    );
    std::fs::write(&limit, "10").unwrap();
    err.replay().expect("succeeds once the input is fixed");
    let _ = std::fs::remove_file(&limit);
}

/// The log lines each finished task came home with, by key.
#[derive(Default)]
struct Logs(std::sync::Mutex<Vec<(String, Vec<delayed::diagnostics::LogLine>)>>);

impl delayed::diagnostics::Callback for Logs {
    fn task_finish(&self, task: &delayed::diagnostics::TaskFinish<'_>) {
        (self.0.lock().unwrap()).push((task.key.to_string(), task.logs.to_vec()));
    }
}

fn a_task_s_tracing_events_on_a_worker_reach_the_client_s_subscriber(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // The client's subscriber: the completions are read on its runtime's
    // threads, so a global one.
    let events = common::spans::Events::default();
    tracing::subscriber::set_global_default(events.clone()).expect("the first subscriber");
    let _worker = redis.worker(&[("DELAYED_WORKER_THREADS", "1")]);
    let logs = Arc::new(Logs::default());
    let client = Client::builder()
        .redis(redis.url())
        .callback(logs.clone())
        .build()
        .expect("the client connects");
    let task = chatty(2);
    assert_eq!(client.compute(&task).expect("the task runs"), 2);
    let key = task.key().to_string();
    let ours: Vec<String> = (events.all().into_iter())
        .filter(|event| event.contains(&format!("key={key}")))
        .collect();
    assert_eq!(ours.len(), 2, "two info events, no debug one: {ours:?}");
    for (line, event) in ours.iter().enumerate() {
        assert!(event.starts_with("delayed::worker: "), "{event}");
        assert!(
            event.contains(&format!("loading part line={line}")),
            "{event}"
        );
        assert!(
            event.contains("worker=worker-"),
            "names the worker: {event}"
        );
        assert!(
            event.contains("origin=distributed"),
            "and where it came from: {event}"
        );
    }
    // The callbacks (and so the dashboard) see them beside the task.
    let seen = logs.0.lock().unwrap().clone();
    let (_, lines) = seen
        .iter()
        .find(|(k, _)| *k == key)
        .expect("the task finished");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1].message, "loading part line=1");
    assert_eq!(lines[1].level, delayed::diagnostics::LogLevel::Info);
    // A chatty task is cut at the limit, and the client told how many
    // events were left out.
    let loud = chatty(500);
    client.compute(&loud).expect("the task runs");
    let key = loud.key().to_string();
    let ours: Vec<String> = (events.all().into_iter())
        .filter(|event| event.contains(&format!("key={key}")))
        .collect();
    assert_eq!(
        ours.len(),
        101,
        "100 events and one saying what was left out"
    );
    assert!(
        ours[100].contains("400 more events of this task were left out"),
        "{}",
        ours[100]
    );
}

fn a_worker_runs_as_many_tasks_at_once_as_it_has_threads(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let dir = redis.dir.join("meet");
    std::fs::create_dir_all(&dir).expect("a directory for the marks");
    let dir = dir.to_string_lossy().to_string();
    let _worker = redis.worker(&[("DELAYED_WORKER_THREADS", "2")]);
    let client = redis.client();
    let profiler = delayed::diagnostics::Profiler::new();
    let _profiling = profiler.register();
    let (a, b) = (meet(dir.clone(), "a", "b"), meet(dir, "b", "a"));
    assert_eq!(
        client.compute(&(a, b)).expect("both run"),
        (true, true),
        "the two tasks ran at the same time on one worker"
    );
    // Each thread is a consumer of its own, named.
    let names: std::collections::BTreeSet<String> = profiler
        .records()
        .into_iter()
        .filter_map(|record| record.worker)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // A count of threads that is not one is refused, saying so.
    let refused = Command::new(std::env::current_exe().expect("this test binary"))
        .env("DELAYED_WORKER", redis.url())
        .env("DELAYED_WORKER_THREADS", "0")
        .output()
        .expect("the worker runs");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("`DELAYED_WORKER_THREADS` must be from 1 to 1024, not 0"),
        "{said}"
    );
}

fn a_local_cluster_uses_a_broker_it_is_given_and_leaves_it_running(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let cluster = delayed::distributed::LocalCluster::builder()
        .workers(1)
        .threads_per_worker(1)
        .redis(redis.url())
        .build()
        .expect("a worker starts");
    assert_eq!(cluster.url(), redis.url());
    let client = cluster.client().expect("a client of the cluster");
    let process = client.compute(&process()).expect("the task runs");
    assert_ne!(process, std::process::id());
    drop(client);
    drop(cluster);
    runtime
        .block_on(RedisBroker::connect(&redis.url(), Duration::from_secs(1)))
        .expect("the broker it was given still runs");
    let error = delayed::distributed::LocalCluster::builder()
        .threads_per_worker(0)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("at least one thread"), "{error}");
}

fn registered_instantiations_of_generic_functions_run_on_workers(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let _worker = redis.worker(&[]);
    let client = redis.client();
    let here = std::process::id();
    let text = tagged("a".to_string());
    // A registered instantiation's result feeds another on the worker.
    let bytes = tagged(repeat::<3>(big(2)));
    // Not registered: these run here, in the same graph.
    let number = tagged(7_u8);
    let twice = repeat::<2>(vec![1_u8]);
    let (text, bytes, number, twice) = client
        .compute(&(text, bytes, number, twice))
        .expect("the graph computes");
    assert_eq!(text.1, "a");
    assert_ne!(text.0, here, "`tagged::<String>` ran on a worker");
    assert_eq!(bytes, (text.0, vec![7; 6]));
    assert_eq!(number, (here, 7));
    assert_eq!(twice, [1, 1]);
}

fn a_local_cluster_starts_its_processes_and_stops_them_when_dropped(
    _redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let cluster = LocalCluster::new(2).expect("redis-server and two workers start");
    assert_eq!(cluster.workers(), 2);
    let client = cluster.client().expect("a client of the cluster");
    let processes: Vec<u32> = client
        .compute(&(0..10).map(|_| process()).collect::<Vec<_>>())
        .expect("the tasks run");
    assert!(processes.iter().all(|&p| p != std::process::id()));
    let url = cluster.url().to_string();
    drop(client);
    drop(cluster);
    let gone = runtime.block_on(RedisBroker::connect(&url, Duration::from_secs(1)));
    assert!(gone.is_err(), "the cluster's redis-server stopped with it");
}

/// How many times Redis ran `command` since its statistics were reset,
/// also from scripts.
fn calls(redis: &Redis, command: &str) -> usize {
    let stats = redis.cli(&["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap().parse().expect("a count")
        })
}

fn a_chain_goes_to_a_worker_in_messages_of_64_tasks(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // A Redis of its own, whose counts are all this test's.
    let redis = Redis::start().expect("a redis-server starts");
    let _workers = [redis.worker(&[]), redis.worker(&[])];
    let client = redis.client();
    assert_eq!(client.compute(&inc(0)).expect("the workers serve"), 1);
    redis.cli(&["CONFIG", "RESETSTAT"]);
    let profiler = delayed::diagnostics::Profiler::new();
    let _profiling = profiler.register();
    let mut tip = inc(0);
    for _ in 1..150 {
        tip = inc(tip);
    }
    // Beside it, a value read by two tasks, two tasks read by one, and a
    // task with retries, which the client applies: none goes in another's
    // message.
    let shared = inc(1000);
    let (a, b) = (add(&shared, 1), add(&shared, 2));
    let joined = add(a, b);
    let retried = inc(inc(2000).with_retries(1));
    // A chain whose priority changes in the middle is split there: three
    // messages for its 10 tasks.
    let mut annotated = inc(0);
    for link in 1..10 {
        annotated = match link {
            5 => inc(annotated).with_priority(3),
            _ => inc(annotated),
        };
    }
    let values = client.compute(&(tip, joined, retried, annotated));
    assert_eq!(values.expect("it computes"), (150, 2005, 2002, 10));
    // One entry on the task stream for each message, and one on the reply
    // stream for each task: the chain of 150 went in 3 messages.
    assert_eq!(
        calls(&redis, "xadd"),
        (3 + 150) + (4 + 4) + (2 + 2) + (3 + 10)
    );
    let records = profiler.records();
    assert_eq!(records.len(), 166);
    assert!(
        records.iter().all(|r| r.worker.is_some()),
        "every task ran on a worker"
    );
    // The stream keeps no task that is done.
    assert_eq!(redis.cli(&["XLEN", TASKS]), "0");
}

fn a_message_s_chain_passes_each_result_on_and_stops_at_a_failure(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "links";
    let _worker = redis.worker(&[]);
    let broker = redis.broker(runtime);
    // 1 + 1, + 10, then a failure, and a task it never reaches.
    let mut message = task(test, "first", "add", args![1_i64, 1_i64]);
    let mut ten = link(test, "second", "add", args![10_i64]);
    ten.args.insert(0, Argument::Previous);
    message.then = vec![
        ten,
        link(test, "third", "fails", vec![Argument::Previous]),
        link(test, "fourth", "inc", vec![Argument::Previous]),
    ];
    runtime.block_on(broker.submit(&message)).unwrap();
    // The first task of a message has nothing before it to read.
    let orphan = task(test, "orphan", "inc", vec![Argument::Previous]);
    runtime.block_on(broker.submit(&orphan)).unwrap();
    let done = completions(&broker, runtime, test, 4, Duration::from_secs(20));
    assert_eq!(done["first"], Outcome::Passed);
    assert_eq!(done["second"], Outcome::Passed);
    assert!(failure(&done["third"]).contains("no 12"), "{done:?}");
    assert!(!done.contains_key("fourth"), "not run after a failure");
    let report = failure(&done["orphan"]);
    assert!(
        report.contains("task `orphan` reads the result of the task before it"),
        "{report}"
    );
    // Both entries were acknowledged.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(redis.tasks_pending(), 0);
}

fn a_chain_s_task_is_reported_before_a_long_one_after_it_ends(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "early";
    let log = redis.dir.join("early.log");
    let _worker = redis.worker(&[]);
    let broker = redis.broker(runtime);
    // A trivial task, then one of 3 s.
    let mut message = task(test, "quick", "add", args![1_i64, 1_i64]);
    let mut long = args![log.to_str().unwrap(), 3000_u64];
    long.push(Argument::Previous);
    message.then = vec![link(test, "long", "logged", long)];
    runtime.block_on(broker.submit(&message)).unwrap();
    wait_for_runs(&log, 1);
    // The first is reported while the second runs.
    let done = completions(&broker, runtime, test, 1, Duration::from_secs(1));
    assert_eq!(done["quick"], Outcome::Passed);
    assert_eq!(done.len(), 1, "{done:?}");
    let done = completions(&broker, runtime, test, 2, Duration::from_secs(20));
    assert_eq!(value::<i64>(&done["long"]), 2);
}

fn a_chain_whose_worker_is_killed_runs_again_from_its_first_task(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let lease = [("DELAYED_LEASE_MS", "600")];
    let log = redis.dir.join("killed-chain.log");
    let path = log.to_str().unwrap().to_string();
    let first = redis.worker(&lease);
    let client = redis.client();
    let mut tip = logged(path.clone(), 300, 7);
    for _ in 1..4 {
        tip = logged(path.clone(), 300, tip);
    }
    std::thread::scope(|scope| {
        let computed = scope.spawn(|| client.compute(&tip));
        wait_for_runs(&log, 2);
        first.signal("-KILL");
        let _second = redis.worker(&lease);
        assert_eq!(computed.join().unwrap().expect("the chain computes"), 7);
    });
    // Two links ran on the killed worker, then all four on the other.
    assert!(runs(&log) >= 6, "{} runs", runs(&log));
}

fn results_come_back_from_two_worker_processes(redis: &Redis, runtime: &tokio::runtime::Runtime) {
    let test = "many";
    let _workers = [redis.worker(&[]), redis.worker(&[])];
    let broker = redis.broker(runtime);
    for i in 0..50_i64 {
        let message = task(test, &format!("add-{i}"), "add", args![i, 1_i64]);
        runtime.block_on(broker.submit(&message)).unwrap();
    }
    let done = completions(&broker, runtime, test, 50, Duration::from_secs(30));
    for i in 0..50_i64 {
        assert_eq!(value::<i64>(&done[&format!("add-{i}")]), i + 1);
    }
    assert_eq!(redis.tasks_pending(), 0);
}

fn a_task_of_a_killed_worker_is_run_by_another(redis: &Redis, runtime: &tokio::runtime::Runtime) {
    let test = "killed";
    let lease = [("DELAYED_LEASE_MS", "600")];
    let log = redis.dir.join("killed.log");
    let broker = redis.broker(runtime);
    let first = redis.worker(&lease);
    let args = args![log.to_str().unwrap(), 1500_u64, 7_i64];
    runtime
        .block_on(broker.submit(&task(test, "slow", "logged", args)))
        .unwrap();
    wait_for_runs(&log, 1);
    first.signal("-KILL");
    drop(first);
    let _second = redis.worker(&lease);
    let done = completions(&broker, runtime, test, 1, Duration::from_secs(20));
    assert_eq!(value::<i64>(&done["slow"]), 7);
    assert_eq!(runs(&log), 2, "run again after its worker was killed");
}

fn a_paused_worker_runs_its_task_twice_and_it_is_recorded_once(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "paused";
    let lease = [("DELAYED_LEASE_MS", "500")];
    let log = redis.dir.join("paused.log");
    let broker = redis.broker(runtime);
    let first = redis.worker(&lease);
    let args = args![log.to_str().unwrap(), 1000_u64, 5_i64];
    runtime
        .block_on(broker.submit(&task(test, "twice", "logged", args)))
        .unwrap();
    wait_for_runs(&log, 1);
    first.signal("-STOP");
    let _second = redis.worker(&lease);
    let done = completions(&broker, runtime, test, 1, Duration::from_secs(20));
    assert_eq!(value::<i64>(&done["twice"]), 5);
    first.signal("-CONT");
    // The first run finishes too: its result is not recorded again, and
    // the client hears of the task once.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(runs(&log), 2);
    let reply = format!("delayed:reply:{test}");
    assert_eq!(redis.cli(&["XLEN", &reply]), "1");
    assert_eq!(redis.tasks_pending(), 0);
}

fn a_task_that_loses_its_workers_too_often_fails_saying_so(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "lost";
    let settings = [("DELAYED_LEASE_MS", "300"), ("DELAYED_RETRIES", "1")];
    let log = redis.dir.join("lost.log");
    let broker = redis.broker(runtime);
    let args = args![log.to_str().unwrap(), 60_000_u64, 1_i64];
    runtime
        .block_on(broker.submit(&task(test, "doomed", "logged", args)))
        .unwrap();
    // Delivered, and lost with its worker, twice: one retry allowed.
    lose_two_workers(redis, &settings, &log, 1);
    let _third = redis.worker(&settings);
    let done = completions(&broker, runtime, test, 1, Duration::from_secs(20));
    let report = lost(&done["doomed"]);
    assert!(
        report.contains("task `doomed` was delivered 3 times"),
        "{report}"
    );
    assert!(report.contains("workers were lost"), "{report}");
    assert_eq!(runs(&log), 2, "not run a third time");
}

fn a_chain_that_loses_its_workers_too_often_fails_at_its_first_task_not_done(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "lost-chain";
    let settings = [("DELAYED_LEASE_MS", "300"), ("DELAYED_RETRIES", "1")];
    let log = redis.dir.join("lost-chain.log");
    let broker = redis.broker(runtime);
    // A first task of 50 ms, recorded before the next starts; then one
    // that never ends.
    let mut message = task(
        test,
        "first",
        "logged",
        args![log.to_str().unwrap(), 50_u64, 1_i64],
    );
    let mut endless = args![log.to_str().unwrap(), 60_000_u64];
    endless.push(Argument::Previous);
    message.then = vec![link(test, "endless", "logged", endless)];
    runtime.block_on(broker.submit(&message)).unwrap();
    // Delivered, and lost with its worker in the second task, twice.
    lose_two_workers(redis, &settings, &log, 2);
    let _third = redis.worker(&settings);
    // The third delivery runs nothing: the first task keeps its record,
    // and the client hears that the second failed, which it waits for.
    let done = completions(&broker, runtime, test, 2, Duration::from_secs(20));
    assert_eq!(done["first"], Outcome::Passed);
    let report = lost(&done["endless"]);
    assert!(
        report.contains("task `endless` was delivered 3 times"),
        "{report}"
    );
    assert_eq!(runs(&log), 4, "not run a third time");
}

fn bad_messages_are_rejected_and_the_other_tasks_go_on(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "bad";
    let _worker = redis.worker(&[]);
    let broker = redis.broker(runtime);
    let rejected_before: usize = redis.cli(&["XLEN", REJECTED]).parse().unwrap_or(0);
    let garbage = [
        redis.cli(&["XADD", TASKS, "*", "task", "not MessagePack at all"]),
        redis.cli(&["XADD", TASKS, "*", "other", "field"]),
    ];
    let unknown = task(test, "unknown", "nowhere", args![1_i64]);
    let undecodable = task(test, "undecodable", "add", args!["one", "two"]);
    let good = task(test, "good", "add", args![40_i64, 2_i64]);
    let mut foreign = task(test, "foreign", "add", args![1_i64, 2_i64]);
    foreign.build = "0123456789abcdef".to_string();
    for message in [&unknown, &undecodable, &good, &foreign] {
        runtime.block_on(broker.submit(message)).unwrap();
    }
    let done = completions(&broker, runtime, test, 4, Duration::from_secs(20));
    assert_eq!(value::<i64>(&done["good"]), 42);
    let foreign = failure(&done["foreign"]);
    assert!(
        foreign.contains(
            "comes from another build of the program than this worker's \
                          (build 0123456789abcdef against"
        ),
        "{foreign}"
    );
    let unknown = failure(&done["unknown"]);
    assert!(
        unknown.contains("no task function `distributed::nowhere`"),
        "{unknown}"
    );
    let undecodable = failure(&done["undecodable"]);
    assert!(
        undecodable.contains("could not decode the arguments"),
        "{undecodable}"
    );
    let rejected: usize = redis.cli(&["XLEN", REJECTED]).parse().unwrap();
    assert_eq!(
        rejected,
        rejected_before + 2,
        "both entries that are not tasks are reported"
    );
    // In either order: the worker's threads take them side by side.
    let last = redis.cli(&["XREVRANGE", REJECTED, "+", "-", "COUNT", "2"]);
    assert!(last.contains("no `task` field"), "{last}");
    assert!(last.contains("could not decode a `"), "{last}");
    // Reported, they are gone from the task stream.
    for id in &garbage {
        assert_eq!(redis.cli(&["XRANGE", TASKS, id, id]), "", "{id}");
    }
}

fn a_failing_task_reports_its_key_and_cause(redis: &Redis, runtime: &tokio::runtime::Runtime) {
    let test = "failing";
    let _worker = redis.worker(&[]);
    let broker = redis.broker(runtime);
    runtime
        .block_on(broker.submit(&task(test, "fails-3", "fails", args![3_i64])))
        .unwrap();
    let done = completions(&broker, runtime, test, 1, Duration::from_secs(20));
    let report = failure(&done["fails-3"]);
    assert!(report.contains("task `fails-"), "the task's key: {report}");
    assert!(report.contains("no 3"), "its cause: {report}");
}

fn a_result_over_the_payload_limit_fails_naming_the_task(
    redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let test = "payload";
    let _worker = redis.worker(&[("DELAYED_MAX_PAYLOAD", "1000")]);
    let broker = redis.broker(runtime);
    for (key, n) in [("small", 10_usize), ("large", 5000)] {
        runtime
            .block_on(broker.submit(&task(test, key, "big", args![n])))
            .unwrap();
    }
    let done = completions(&broker, runtime, test, 2, Duration::from_secs(20));
    assert_eq!(value::<Vec<u8>>(&done["small"]), vec![7; 10]);
    let report = failure(&done["large"]);
    assert!(
        report.contains("task `large`") && report.contains("over the limit of 1000"),
        "{report}"
    );
}

fn a_broker_lost_mid_compute_fails_it_in_bounded_time(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // A Redis of its own, to stop in the middle.
    let mut redis = Redis::start().expect("a second redis-server starts");
    let log = redis.dir.join("lost-broker.log");
    let _worker = redis.worker(&[]);
    let client = redis.client();
    let mut running = client.submit(&vec![logged(log.to_str().unwrap().to_string(), 5_000, 1)]);
    wait_for_runs(&log, 1);
    let stopped = Instant::now();
    let _ = redis.server.kill();
    let _ = redis.server.wait();
    let error = running
        .wait_timeout(Duration::from_secs(15))
        .expect("the compute ends within 15 s")
        .unwrap_err();
    assert!(stopped.elapsed() < Duration::from_secs(15));
    assert_eq!(error.kind(), delayed::ErrorKind::Broker, "{error:?}");
    let shown = format!("{error:?}");
    assert!(
        shown.contains("the broker at `redis://127.0.0.1:"),
        "{shown}"
    );
}

fn an_unreachable_broker_is_a_clear_error_in_bounded_time(
    _redis: &Redis,
    runtime: &tokio::runtime::Runtime,
) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let start = Instant::now();
    let url = format!("redis://app:secret@127.0.0.1:{port}");
    let error = runtime
        .block_on(RedisBroker::connect(&url, Duration::from_secs(2)))
        .err()
        .expect("nothing listens there");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind(), delayed::ErrorKind::Broker);
    let shown = error.to_string();
    assert!(shown.contains("could not reach the broker"), "{shown}");
    assert!(
        shown.contains(&format!("redis://app:***@127.0.0.1:{port}")),
        "{shown}"
    );
    assert!(!shown.contains("secret"), "{shown}");
}

fn the_diagnostics_and_persist_work_on_a_client_with_workers(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let _workers = [redis.worker(&[]), redis.worker(&[])];
    let client = redis.client();
    let profiler = delayed::diagnostics::Profiler::new();
    let progress = delayed::diagnostics::ProgressBar::hidden();
    let (_profiling, _counting) = (profiler.register(), progress.register());
    let l: Vec<Delayed<i64>> = (0..40).map(|i| add(inc(i), 1)).collect();
    let doubled = l[0].map(|x| x * 2);
    let (values, doubled) = client.compute(&(l, doubled)).expect("the graph computes");
    assert_eq!(values, (2..42).collect::<Vec<_>>());
    assert_eq!(doubled, 4);
    assert_eq!((progress.position(), progress.length()), (81, Some(81)));
    // The profiler draws the tasks that ran on workers on a row for each
    // worker, named, and the closure on a thread of this process.
    let records = profiler.records();
    let remote: Vec<&str> = records.iter().filter_map(|r| r.worker.as_deref()).collect();
    assert_eq!(remote.len(), 80, "every `add` and `inc` ran on a worker");
    assert!(
        remote.iter().all(|w| w.starts_with("worker-")),
        "{remote:?}"
    );
    let here = records
        .iter()
        .find(|r| r.function == "map")
        .expect("the closure ran");
    assert_eq!(here.worker, None);
    assert!(
        records
            .iter()
            .filter(|r| r.worker.is_some())
            .all(|r| r.thread != here.thread)
    );
    let svg = profiler.to_svg();
    assert!(
        svg.contains(&remote[0][..13]),
        "a row is labelled with its worker"
    );
    // A persisted value computed on a worker is held here.
    let persisted = client.persist(&add(20, 22)).expect("the task runs");
    assert_eq!(
        client
            .compute(&persisted.map(|x| x + 1))
            .expect("it is read"),
        43
    );
}

fn results_read_only_by_workers_stay_on_the_broker_and_are_released(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // Without a cache, each reader fetches its input from the broker; with
    // one, mostly from the worker that wrote it.
    for cache in ["0", "268435456"] {
        // A Redis of its own, whose keys are all this test's.
        let redis = Redis::start().expect("a redis-server starts");
        let settings = [("DELAYED_WORKER_CACHE", cache)];
        let _workers = [redis.worker(&settings), redis.worker(&settings)];
        let client = redis.client();
        // 40 values of 100 kB, each read by two tasks on workers (a value
        // read by one would pass to it on the worker that made it); and
        // more tasks than a client has on the broker at once.
        let sizes: Vec<Delayed<usize>> = (0..40)
            .flat_map(|i| {
                let value = big(100_000 + i);
                [length(&value), length(&value)]
            })
            .collect();
        let counted: Vec<Delayed<i64>> = (0..600).map(inc).collect();
        let (sizes, counted) = client
            .compute(&(sizes, counted))
            .expect("the graph computes");
        assert_eq!(
            sizes,
            (0..40)
                .flat_map(|i| [100_000 + i, 100_000 + i])
                .collect::<Vec<_>>()
        );
        assert_eq!(counted, (1..=600).collect::<Vec<_>>());
        // Each task has its result key; once read, the large values are
        // released to the empty marker, and no run's own key is left.
        let count = "local keys, held = redis.call('KEYS', 'delayed:result:*'), 0 \
                     for _, k in ipairs(keys) do \
                     if redis.call('STRLEN', k) > 0 then held = held + 1 end end \
                     return {#keys, held}";
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let counts = redis.cli(&["EVAL", count, "0"]);
            let counts: Vec<usize> = counts.lines().map(|n| n.parse().unwrap()).collect();
            assert_eq!(counts[0], 720, "a key for each task (cache {cache})");
            if counts[1] == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the values are released within 10 s; {} are not (cache {cache})",
                counts[1]
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn a_redis_restarted_mid_compute_with_append_only_persistence_loses_nothing(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let mut redis = Redis::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
        .expect("a redis-server starts");
    let log = redis.dir.join("restart.log");
    let _worker = redis.worker(&[("DELAYED_LEASE_MS", "2000")]);
    let client = redis.client();
    let log_path = log.to_str().unwrap().to_string();
    let tasks: Vec<Delayed<i64>> = (0..6).map(|i| logged(log_path.clone(), 300, i)).collect();
    let mut running = client.submit(&tasks);
    wait_for_runs(&log, 2);
    // Killed, so that only what the append-only file holds comes back.
    redis.restart();
    let values = running
        .wait_timeout(Duration::from_secs(60))
        .expect("the compute ends within 60 s")
        .expect("the compute completes");
    assert_eq!(values, (0..6).collect::<Vec<_>>());
    // The client goes on with the broker it found again.
    assert_eq!(client.compute(&add(40, 2)).expect("a new compute runs"), 42);
}

fn a_broker_with_a_password_takes_its_user_and_refuses_others(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // An ACL user `app` with every right, and no access without it.
    let redis = Redis::start_with(&[
        "--user", "default", "off", "--user", "app", "on", ">s3cret", "~*", "&*", "+@all",
    ])
    .expect("a redis-server starts");
    let at = |credentials: &str| format!("redis://{credentials}127.0.0.1:{}", redis.port);
    let _worker = worker_of(&at("app:s3cret@"), &[]);
    let client = Client::builder()
        .redis(at("app:s3cret@"))
        .build()
        .expect("the client connects as `app`");
    assert_eq!(client.compute(&add(40, 2)).expect("the task runs"), 42);
    for (credentials, shown_as) in [("app:wrong@", "app:***@"), ("", "")] {
        let error = Client::builder()
            .redis(at(credentials))
            .build()
            .expect_err("the broker refuses the client");
        let shown = error.to_string();
        assert!(
            shown.contains(&format!(
                "the broker at `{}` refused the credentials",
                at(shown_as)
            )),
            "{shown}"
        );
        assert!(!shown.contains("wrong"), "no password in messages: {shown}");
    }
}

fn a_killed_client_leaves_the_workers_serving_and_its_keys_expire(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let redis = Redis::start().expect("a redis-server starts");
    let log = redis.dir.join("killed-client.log");
    let _worker = redis.worker(&[("DELAYED_RESULT_TTL_MS", "2000")]);
    let mut dead = Command::new(std::env::current_exe().expect("this test binary"))
        .env("DELAYED_TEST_CLIENT", redis.url())
        .env("DELAYED_TEST_LOG", &log)
        .stdout(Stdio::null())
        .spawn()
        .expect("a client process starts");
    wait_for_runs(&log, 1);
    dead.kill().expect("the client is killed");
    dead.wait().expect("the client is gone");
    // The worker serves another client, after the dead one's tasks.
    let client = redis.client();
    let l: Vec<Delayed<i64>> = (0..10).map(|i| add(i, 1)).collect();
    assert_eq!(
        client.compute(&l).expect("the tasks run"),
        (1..=10).collect::<Vec<_>>()
    );
    drop(client);
    assert!(
        !redis.keys("delayed:re*").is_empty(),
        "the clients had keys"
    );
    // Every key of both clients expires: results and reply streams.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = redis.keys("delayed:re*");
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the clients' keys expire within 30 s: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(not(feature = "tls"))]
fn a_tls_address_without_the_tls_feature_says_what_to_add(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    let url = redis.url().replace("redis://", "rediss://");
    let error = Client::builder()
        .redis(url)
        .build()
        .expect_err("no TLS without the feature");
    let shown = error.to_string();
    assert!(
        shown.contains("needs the `tls` feature of delayed"),
        "{shown}"
    );
}

#[cfg(feature = "tls")]
fn a_broker_over_tls_serves_the_workers_and_clients_that_trust_it(
    _shared: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    // An authority, and a certificate it signed for 127.0.0.1, by openssl.
    let certificates = std::env::temp_dir().join(format!("delayed-tls-{}", std::process::id()));
    std::fs::create_dir_all(&certificates).expect("a directory for the certificates");
    let file = |name: &str| certificates.join(name).to_str().unwrap().to_string();
    std::fs::write(file("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    for command in [
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=delayed-test-ca",
        "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile ext.cnf",
    ] {
        let made = Command::new("openssl")
            .args(command.split(' '))
            .current_dir(&certificates)
            .output()
            .expect("openssl runs");
        assert!(made.status.success(), "openssl {command}: {made:?}");
    }
    // TLS alone: the plain port is closed.
    let port = free_port().to_string();
    let (ca, cert, key) = (file("ca.pem"), file("server.pem"), file("server.key"));
    let redis = Redis::start_with(&[
        "--port",
        "0",
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "no",
    ])
    .expect("a redis-server with TLS starts");
    assert!(redis.url().starts_with("rediss://"));
    // rustls trusts what `SSL_CERT_FILE` holds.
    let trusting = [("SSL_CERT_FILE", ca.as_str())];
    let _worker = worker_of(&redis.url(), &trusting);
    let client = |trust: &[(&str, &str)]| {
        Command::new(std::env::current_exe().expect("this test binary"))
            .env("DELAYED_TEST_ADD", redis.url())
            .envs(trust.iter().copied())
            .output()
            .expect("a client process runs")
    };
    let trusted = client(&trusting);
    assert!(trusted.status.success(), "{trusted:?}");
    assert_eq!(String::from_utf8_lossy(&trusted.stdout).trim(), "42");
    // A client that does not trust the authority does not connect.
    let stranger = client(&[("SSL_CERT_FILE", "/dev/null")]);
    assert!(!stranger.status.success(), "{stranger:?}");
    let said = String::from_utf8_lossy(&stranger.stderr);
    assert!(
        said.contains("could not reach the broker at `rediss://127.0.0.1:"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&certificates);
}

/// Starts a worker with `settings` and kills it once the tasks it took
/// have logged `runs` more runs, twice.
fn lose_two_workers(redis: &Redis, settings: &[(&str, &str)], log: &std::path::Path, runs: usize) {
    for lost in 1..=2 {
        let worker = redis.worker(settings);
        wait_for_runs(log, lost * runs);
        worker.signal("-KILL");
    }
}

fn runs(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}

/// Waits until the task has started `count` times.
fn wait_for_runs(log: &std::path::Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while runs(log) < count {
        assert!(Instant::now() < deadline, "{count} runs within 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Cached on Redis: each run appends to `log`, so that the test counts
/// the runs wherever they happen (here or on a worker).
#[cfg(feature = "cache")]
#[delayed(cache)]
fn cached_square(log: String, x: i64) -> i64 {
    common::log_run(&log, &format!("run {x}"));
    x * x
}

#[cfg(feature = "cache")]
fn a_redis_cache_is_shared_by_clients_and_their_workers(
    redis: &Redis,
    _runtime: &tokio::runtime::Runtime,
) {
    use delayed::cache::{RedisStore, Store};
    use std::sync::Arc;
    let log = std::env::temp_dir().join(format!("delayed-redis-cache-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let runs = || std::fs::read_to_string(&log).map_or(0, |text| text.lines().count());
    let squares = |xs: std::ops::Range<i64>| -> Vec<Delayed<i64>> {
        xs.map(|x| cached_square(log.to_string_lossy().into_owned(), x))
            .collect()
    };
    let store = || Arc::new(RedisStore::open(&redis.url()).expect("a Redis URL"));
    // One machine computes four squares, in its own process.
    let here = Client::builder().cache_store(store()).build().unwrap();
    assert_eq!(here.compute(&squares(0..4)).unwrap(), [0, 1, 4, 9]);
    assert_eq!(runs(), 4);
    // Another, with workers, reads those four and computes two more on them.
    let _workers = [redis.worker(&[])];
    let there = Client::builder()
        .redis(redis.url())
        .cache_store(store())
        .build()
        .expect("the client connects");
    assert_eq!(there.compute(&squares(0..6)).unwrap(), [0, 1, 4, 9, 16, 25]);
    assert_eq!(runs(), 6);
    // And back: all six are hits.
    assert_eq!(here.compute(&squares(0..6)).unwrap(), [0, 1, 4, 9, 16, 25]);
    assert_eq!(runs(), 6);
    // Entries live under the store's prefix, and a claim is released.
    let bytes = store().get("no-such-key").unwrap();
    assert_eq!(bytes, None);
    let claim = store().lock("k").unwrap();
    assert!(claim.is_some());
    drop(claim);
    // Not released, the claim would hold for its lease of 10 minutes.
    let (sender, receiver) = std::sync::mpsc::channel();
    let retaken = store();
    std::thread::spawn(move || {
        let _ = sender.send(retaken.lock("k").map(|claim| claim.is_some()).ok());
    });
    let again = receiver.recv_timeout(Duration::from_secs(10));
    assert_eq!(again, Ok(Some(true)), "a released claim is free at once");
    std::fs::remove_file(&log).unwrap();
}
