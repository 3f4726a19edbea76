//! The dashboard, over HTTP as a page sees it: the event stream's counts
//! while a compute runs and when it ends, failures with their key and
//! cause, the graph's picture and the page itself; then in a real browser
//! (headless Chromium, driven through ChromeDriver), the DOM the page
//! renders, with a screenshot.

mod common;
#[path = "common/http.rs"]
mod http;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Gate;
use delayed::{Client, Delayed, delayed};
use serde_json::{Value, json};

static HTTP_GATE: Gate = Gate::new();
static BROWSER_GATE: Gate = Gate::new();

#[delayed]
fn quick(x: i64) -> i64 {
    x
}

#[delayed]
fn held(x: i64) -> i64 {
    HTTP_GATE.wait();
    x
}

#[delayed]
fn held_for_browser(x: i64) -> i64 {
    BROWSER_GATE.wait();
    x
}

#[delayed]
fn total(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

#[delayed]
fn fails(x: i64) -> Result<i64, String> {
    Err(format!("disk full while writing part {x}"))
}

/// The counts of function `name` in the frame's first compute.
fn counts(frame: &Value, name: &str) -> Option<(u64, u64, u64, u64)> {
    let compute = frame["computes"].get(0)?;
    let f = compute["functions"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)?;
    let n = |k: &str| f[k].as_u64().unwrap();
    Some((n("done"), n("running"), n("waiting"), n("failed")))
}

fn address(client: &Client) -> SocketAddr {
    client
        .dashboard()
        .expect("built with a dashboard")
        .address()
}

/// Four quick tasks, two held ones and their total: what the tests watch.
fn work(held_task: impl Fn(i64) -> Delayed<i64>) -> Delayed<i64> {
    let mut parts: Vec<Delayed<i64>> = (1..=4).map(quick).collect();
    parts.extend((5..=6).map(held_task));
    total(parts)
}

#[test]
fn the_event_stream_counts_tasks_while_they_run_and_at_the_end() {
    common::within(60, || {
        let client = Client::builder().dashboard("127.0.0.1:0").build().unwrap();
        let address = address(&client);
        let mut events = http::events(address, "/events");
        let running = client.submit(&work(held));

        let frame = events.until("4 quick done, 2 held running, total waiting", |f| {
            counts(f, "quick") == Some((4, 0, 0, 0))
                && counts(f, "held") == Some((0, 2, 0, 0))
                && counts(f, "total") == Some((0, 0, 1, 0))
        });
        let compute = &frame["computes"][0];
        assert_eq!(compute["running"], true);
        // The tasks written: the list gathering the parts is not one.
        assert_eq!(compute["tasks"], 7);
        // The graph is small, so each node has its state: the held tasks
        // run, the quick ones are done, and the total is not ready yet.
        let states = compute["states"].as_str().unwrap();
        assert_eq!(states.matches('d').count(), 4, "{states}");
        assert_eq!(states.matches('r').count(), 2, "{states}");
        // The total waits, and so does the list that gathers its parts.
        assert_eq!(states.matches('w').count(), 2, "{states}");
        assert_eq!(states.len(), 8, "{states}");

        // The picture of the graph numbers each task for the page.
        let id = compute["id"].as_u64().unwrap();
        let svg = http::get(address, &format!("/graph/{id}"));
        assert_eq!(svg.status, 200);
        assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
        assert_eq!(svg.body.matches("data-task=").count(), 8, "{}", svg.body);
        assert_eq!(http::get(address, "/graph/0").status, 404);

        HTTP_GATE.open();
        assert_eq!(running.wait().unwrap(), 1 + 2 + 3 + 4 + 5 + 6);
        let frame = events.until("the compute finished", |f| {
            f["computes"][0]["running"] == false
        });
        assert_eq!(frame["computes"][0]["ok"], true);
        assert_eq!(counts(&frame, "quick"), Some((4, 0, 0, 0)));
        assert_eq!(counts(&frame, "held"), Some((2, 0, 0, 0)));
        assert_eq!(counts(&frame, "total"), Some((1, 0, 0, 0)));
        assert_eq!(frame["past"][0]["id"].as_u64(), Some(id));
        assert_eq!(frame["past"][0]["ok"], true);
        // A page that opens now is sent every task's bar: the seven tasks
        // written (the list gathering the parts is none), each on the row
        // of a thread that ran a task.
        let (name, history) = http::events(address, "/events").next_event();
        assert_eq!(name, "history");
        let history: Vec<Value> = serde_json::from_str(&history).unwrap();
        let drawn = |function: &str| history.iter().filter(|b| b[3] == function).count();
        assert_eq!((drawn("quick"), drawn("held"), drawn("total")), (4, 2, 1));
        assert_eq!(history.len(), 7, "{history:?}");
        let rows = frame["threads"].as_u64().unwrap();
        assert!(
            history.iter().all(|b| b[0].as_u64().unwrap() < rows),
            "{history:?}"
        );
        assert!(history.iter().all(|b| b[4] == true));
    });
}

#[test]
fn a_failed_task_shows_with_its_key_and_cause() {
    common::within(60, || {
        let client = Client::builder().dashboard("127.0.0.1:0").build().unwrap();
        let address = address(&client);
        let bad = fails(3);
        let error = client
            .compute(&total(vec![bad.clone(), quick(1)]))
            .unwrap_err();
        assert_eq!(error.key(), Some(bad.key()));

        // A page that opens now gets the task stream's recent bars first:
        // the failed task's among them, marked failed.
        let mut events = http::events(address, "/events");
        let (name, history) = events.next_event();
        assert_eq!(name, "history");
        let history: Vec<Value> = serde_json::from_str(&history).unwrap();
        let bar = history.iter().find(|bar| bar[3] == "fails").unwrap();
        assert_eq!(bar[4], false, "{bar}");
        // Then the newest frame.
        let frame = events.until("the failure", |f| {
            !f["failures"].as_array().unwrap().is_empty()
                && !f["past"].as_array().unwrap().is_empty()
        });
        let failure = &frame["failures"][0];
        assert_eq!(failure["key"], bad.key().to_string());
        assert_eq!(failure["function"], "fails");
        assert_eq!(failure["error"], "disk full while writing part 3");
        assert_eq!(frame["past"][0]["ok"], false);
        let shown = frame["past"][0]["error"].as_str().unwrap();
        assert!(shown.contains(&bad.key().to_string()), "{shown}");

        // The same frame as plain JSON.
        let state = http::get(address, "/state");
        assert_eq!(state.header("content-type"), Some("application/json"));
        let state: Value = serde_json::from_str(&state.body).unwrap();
        assert_eq!(state["failures"][0]["key"], bad.key().to_string());
    });
}

#[test]
fn the_page_is_served_whole_from_the_binary() {
    // A bare port is on loopback.
    let client = Client::builder().dashboard("0").build().unwrap();
    assert!(address(&client).ip().is_loopback(), "{}", address(&client));
    let page = http::get(address(&client), "/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("new EventSource(\"/events\")"));
    // Nothing from elsewhere: no CDN, no external script or style.
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
}

#[test]
fn an_address_in_use_is_an_error_that_names_it() {
    let first = Client::builder().dashboard("127.0.0.1:0").build().unwrap();
    let taken = address(&first).to_string();
    let error = Client::builder().dashboard(&taken).build().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "could not serve the dashboard at `{taken}`: give another address, \
             or port 0 for any free one"
        )
    );
    let source = std::error::Error::source(&error).unwrap();
    let io = source.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn a_dashboard_of_its_own_is_a_callback_like_any_other() {
    common::within(60, || {
        let dashboard = delayed::diagnostics::Dashboard::serve("127.0.0.1:0").unwrap();
        let mut events = http::events(dashboard.address(), "/events");
        // Registered on one client (`dashboard.register()` would show every
        // client's computes, the other tests' among them).
        let synchronous = Client::builder()
            .synchronous()
            .callback(std::sync::Arc::new(dashboard.clone()))
            .build()
            .unwrap();
        synchronous.compute(&quick(41).map(|x| x + 1)).unwrap();
        let frame = events.until("the synchronous compute", |f| {
            counts(f, "quick") == Some((1, 0, 0, 0)) && f["computes"][0]["running"] == false
        });
        assert_eq!(counts(&frame, "map"), Some((1, 0, 0, 0)));
        assert_eq!(frame["computes"][0]["ok"], true);
    });
}

// ---------------------------------------------------------------------
// In a real browser.

/// Chromium's flags on a machine with no network: no sandbox (we may be
/// root), no background connections that a closed network refuses.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1100",
];

fn find(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
}

/// ChromeDriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    address: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session, closed when dropped, also when the test fails:
/// killing ChromeDriver alone would leave Chromium running.
struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        http::delete(self.driver.address, &format!("/session/{}", self.id));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver(chromedriver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        address: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(driver.address).is_ok() {
            let status = http::get(driver.address, "/status");
            let ready: Value = serde_json::from_str(&status.body).unwrap();
            if ready["value"]["ready"] == true {
                return driver;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `script` in the page and returns its value.
fn execute(driver: &Driver, session: &str, script: &str) -> Value {
    let response = http::post_json(
        driver.address,
        &format!("/session/{session}/execute/sync"),
        &json!({ "script": script, "args": [] }),
    );
    let body: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(response.status, 200, "the script failed: {body}");
    body["value"].clone()
}

#[test]
fn the_page_renders_progress_and_failures_in_headless_chromium() {
    let required = std::env::var_os("DELAYED_REQUIRE_CHROMIUM").is_some_and(|v| v == "1");
    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        assert!(
            !required,
            "DELAYED_REQUIRE_CHROMIUM=1, but chromium or chromedriver is not on PATH: \
             install them with `apt-get install -y chromium chromium-driver`"
        );
        eprintln!(
            "skipped: the browser test needs headless Chromium and ChromeDriver \
             (`apt-get install -y chromium chromium-driver`)"
        );
        return;
    };
    common::within(120, move || {
        let client = Client::builder().dashboard("127.0.0.1:0").build().unwrap();
        // A compute that failed, then one that runs while the page is open.
        let bad = fails(7);
        client.compute(&bad).unwrap_err();
        let running = client.submit(&work(held_for_browser));

        let driver = start_driver(&chromedriver);
        let user_data =
            std::env::temp_dir().join(format!("delayed-chromium-{}", std::process::id()));
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", user_data.display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "goog:chromeOptions": { "binary": chromium, "args": args }
        }}});
        let created = http::post_json(driver.address, "/session", &capabilities);
        let created: Value = serde_json::from_str(&created.body).unwrap();
        let session = Session {
            driver: &driver,
            id: created["value"]["sessionId"]
                .as_str()
                .unwrap_or_else(|| panic!("no session: {created}"))
                .to_owned(),
        };
        let session = session.id.as_str();
        let url = client.dashboard().unwrap().url();
        let navigated = http::post_json(
            driver.address,
            &format!("/session/{session}/url"),
            &json!({ "url": url }),
        );
        assert_eq!(navigated.status, 200, "{}", navigated.body);

        // What the page shows once the held tasks run.
        let deadline = Instant::now() + Duration::from_secs(30);
        let shown = loop {
            let shown = execute(
                &driver,
                session,
                "const held = document.getElementById('fn-held_for_browser');
                 const quick = document.getElementById('fn-quick');
                 const key = document.querySelector('.failure .key');
                 return {
                   held_running: held && held.dataset.running,
                   quick_done: quick && quick.dataset.done,
                   counts: held && held.querySelector('.counts').textContent,
                   failed_key: key && key.textContent,
                   cause: document.querySelector('.failure .cause')?.textContent,
                   status: document.getElementById('status').textContent,
                   graph_nodes: document.querySelectorAll('#graph [data-task]').length,
                   running_nodes: document.querySelectorAll('#graph .s-r').length,
                 };",
            );
            if shown["held_running"] == "2"
                && shown["quick_done"] == "4"
                && shown["failed_key"].is_string()
                && shown["running_nodes"] == 2
            {
                break shown;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show the running compute within 30 s: {shown}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(shown["counts"], "0 done, 2 running, 0 waiting of 2");
        assert_eq!(shown["failed_key"], bad.key().to_string());
        assert_eq!(shown["cause"], "disk full while writing part 7");
        assert!(
            shown["status"].as_str().unwrap().ends_with("running"),
            "{shown}"
        );
        assert_eq!(shown["graph_nodes"], 8); // and the list's junction

        let screenshot = http::get(driver.address, &format!("/session/{session}/screenshot"));
        let screenshot: Value = serde_json::from_str(&screenshot.body).unwrap();
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(screenshot["value"].as_str().unwrap())
            .unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
        std::fs::write(&saved, &png).unwrap();
        eprintln!("the dashboard's screenshot: {}", saved.display());
        if std::env::var_os("DELAYED_UPDATE_PICTURES").is_some_and(|v| v == "1") {
            std::fs::write("docs/src/images/dashboard.png", &png).unwrap();
        }

        BROWSER_GATE.open();
        assert_eq!(running.wait().unwrap(), 21);
        let _ = std::fs::remove_dir_all(user_data);
    });
}

/// Cached in `square_cached`'s tests: the dashboard counts the tasks read
/// from the cache (features `dashboard` and `cache`).
#[cfg(feature = "cache")]
#[delayed(cache)]
fn square_cached(x: i64) -> i64 {
    x * x
}

#[cfg(feature = "cache")]
#[test]
fn tasks_read_from_the_cache_are_counted_as_cached() {
    common::within(60, || {
        let dir =
            std::env::temp_dir().join(format!("delayed-dashboard-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let client = Client::builder()
            .dashboard("127.0.0.1:0")
            .cache(&dir)
            .build()
            .unwrap();
        let address = address(&client);
        let squares = |n: i64| (0..n).map(square_cached).collect::<Vec<_>>();
        client.compute(&squares(3)).unwrap();
        let mut events = http::events(address, "/events");
        client.compute(&squares(5)).unwrap();
        let frame = events.until("the second compute finished", |f| {
            f["computes"][0]["running"] == false && counts(f, "square_cached") == Some((5, 0, 0, 0))
        });
        let function = &frame["computes"][0]["functions"][0];
        assert_eq!(function["name"], "square_cached");
        // Three read from the cache, two run.
        assert_eq!(function["cached"], 3);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
