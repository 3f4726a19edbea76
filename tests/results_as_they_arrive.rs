//! Running computes and results as they arrive: `submit` returns at once,
//! `as_completed` yields in completion order (synchronised with channels,
//! not sleeps), a failure fails only the handles that need it, and
//! cancelling frees what has not run.

mod common;

use common::{Gate, within};
use delayed::{Client, Delayed, delayed};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Tasks that each wait for their own go-ahead, so the test decides the
/// order they finish in.
struct Gates {
    senders: Mutex<HashMap<u64, mpsc::Sender<()>>>,
    receivers: Mutex<HashMap<u64, mpsc::Receiver<()>>>,
}

impl Gates {
    fn new(ids: impl IntoIterator<Item = u64>) -> Gates {
        let (mut senders, mut receivers) = (HashMap::new(), HashMap::new());
        for id in ids {
            let (sender, receiver) = mpsc::channel();
            senders.insert(id, sender);
            receivers.insert(id, receiver);
        }
        Gates {
            senders: Mutex::new(senders),
            receivers: Mutex::new(receivers),
        }
    }

    fn wait(&self, id: u64) {
        let receiver = self.receivers.lock().unwrap().remove(&id).unwrap();
        receiver.recv_timeout(Duration::from_secs(20)).unwrap();
    }

    fn open(&self, id: u64) {
        self.senders.lock().unwrap()[&id].send(()).unwrap();
    }
}

#[test]
fn as_completed_yields_in_the_order_tasks_finish() {
    static GATES: Mutex<Option<Arc<Gates>>> = Mutex::new(None);
    #[delayed]
    fn gated(id: u64) -> u64 {
        let gates = GATES.lock().unwrap().clone().unwrap();
        gates.wait(id);
        id * 10
    }
    let gates = Arc::new(Gates::new(0..3));
    *GATES.lock().unwrap() = Some(gates.clone());
    let client = Client::builder().threads(3).build().unwrap();
    let handles: Vec<Delayed<u64>> = (0..3).map(gated).collect();
    let mut arriving = client.as_completed(&handles);
    // Open the gates in the order 2, 0, 1, reading each result before
    // opening the next.
    let order = within(30, move || {
        let mut order = Vec::new();
        for id in [2, 0, 1] {
            gates.open(id);
            let (index, value) = arriving.next().unwrap();
            order.push((index, value.unwrap()));
        }
        assert!(arriving.next().is_none());
        order
    });
    assert_eq!(order, [(2, 20), (0, 0), (1, 10)]);
}

#[test]
fn shared_tasks_run_once_and_a_failure_fails_only_the_handles_that_need_it() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn load(x: i64) -> i64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        x
    }
    #[delayed]
    fn check(x: i64, limit: i64) -> Result<i64, String> {
        if x > limit {
            Err(format!("{x} is over {limit}"))
        } else {
            Ok(x)
        }
    }
    #[delayed]
    fn double(x: i64) -> i64 {
        2 * x
    }
    for client in [
        Client::builder().threads(2).build().unwrap(),
        Client::synchronous(),
    ] {
        RUNS.store(0, Ordering::SeqCst);
        let base = load(5);
        let failing = check(&base, 1);
        let handles: HashMap<&str, Delayed<i64>> = [
            ("ok", double(&base)),
            ("failed", failing.clone()),
            ("after failed", double(&failing)),
            ("plain", check(&base, 10)),
        ]
        .into();
        let results: HashMap<&str, Result<i64, delayed::Error>> =
            within(30, move || client.as_completed(&handles).collect());
        assert_eq!(RUNS.load(Ordering::SeqCst), 1, "the shared task ran once");
        assert_eq!(results["ok"].as_ref().unwrap(), &10);
        assert_eq!(results["plain"].as_ref().unwrap(), &5);
        let failed = results["failed"].as_ref().unwrap_err();
        assert_eq!(failed.key(), Some(failing.key()));
        assert!(failed.to_string().ends_with("failed"), "{failed}");
        let after = results["after failed"].as_ref().unwrap_err();
        assert!(after.to_string().contains("did not run"), "{after}");
        assert!(
            after.to_string().contains(&failing.key().to_string()),
            "{after}"
        );
    }
}

#[test]
fn as_completed_is_a_stream_too() {
    #[delayed]
    async fn fetch(id: u64) -> String {
        tokio::time::sleep(Duration::from_millis(id)).await;
        format!("page {id}")
    }
    let handles: Vec<Delayed<String>> = (1..=4).map(fetch).collect();
    let pages = within(30, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use futures_core::Stream;
            let mut arriving = delayed::as_completed(&handles).unwrap();
            let mut pages = Vec::new();
            while let Some((index, page)) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut arriving).poll_next(cx)).await
            {
                pages.push((index, page.unwrap()));
            }
            pages.sort();
            pages
        })
    });
    assert_eq!(pages.len(), 4);
    assert_eq!(pages[3], (3, "page 4".to_string()));
}

#[test]
fn submit_returns_at_once_and_the_handle_waits_awaits_and_reports_progress() {
    static GATE: Gate = Gate::new();
    #[delayed]
    fn held(x: u64) -> u64 {
        GATE.wait();
        x
    }
    #[delayed]
    fn inc(x: u64) -> u64 {
        x + 1
    }
    let client = Client::builder().threads(2).build().unwrap();
    let mut running = client.submit(&inc(held(1)));
    // It returned while its first task is still held.
    assert!(!running.is_finished());
    assert_eq!(running.progress(), (0, 2));
    assert!(running.wait_timeout(Duration::from_millis(1)).is_none());
    GATE.open();
    let value = within(30, move || running.wait_timeout(Duration::from_secs(20)));
    assert_eq!(value.unwrap().unwrap(), 2);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let awaited = runtime.block_on(client.submit(&vec![inc(1), inc(2)]));
    assert_eq!(awaited.unwrap(), [2, 3]);
    let synchronous = Client::synchronous().submit(&(inc(5), inc(6)));
    assert_eq!(within(30, move || synchronous.wait().unwrap()), (6, 7));
}

#[test]
fn cancelling_stops_waiting_tasks_and_frees_their_inputs() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    static GATE: Gate = Gate::new();
    struct Big(#[allow(dead_code)] Vec<u8>);
    impl Drop for Big {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }
    #[delayed]
    fn make(n: usize) -> Arc<Big> {
        Arc::new(Big(vec![0; n]))
    }
    #[delayed]
    fn blocker(x: u64) -> u64 {
        GATE.wait();
        x
    }
    #[delayed]
    fn use_big(big: &Arc<Big>, after: u64) -> usize {
        STARTED.fetch_add(1, Ordering::SeqCst);
        big.0.len() + after as usize
    }
    let client = Client::builder().threads(1).build().unwrap();
    let before = blocker(1);
    let big = make(1 << 20);
    // `use_big` waits for the blocker, which waits for the gate.
    let running = client.submit(&use_big(&big, before));
    drop(big);
    common::wait_until("the big value", || {
        running.progress().0 >= 1 || DROPPED.load(Ordering::SeqCst) > 0
    });
    running.cancel();
    GATE.open();
    let err = within(30, move || running.wait().unwrap_err());
    assert!(err.is_cancelled(), "{err}");
    common::wait_until("the input to be freed", || {
        DROPPED.load(Ordering::SeqCst) == 1
    });
    assert_eq!(
        STARTED.load(Ordering::SeqCst),
        0,
        "the waiting task never ran"
    );
}

#[test]
fn a_task_can_submit_on_its_own_one_thread_client_and_wait() {
    use std::sync::OnceLock;
    static CLIENT: OnceLock<Client> = OnceLock::new();
    #[delayed]
    fn double(x: u64) -> u64 {
        2 * x
    }
    #[delayed]
    fn outer(x: u64) -> u64 {
        let client = CLIENT.get().unwrap();
        let running = client.submit(&vec![double(x), double(x + 1)]);
        running.wait().unwrap().iter().sum()
    }
    let client = CLIENT.get_or_init(|| Client::builder().threads(1).build().unwrap());
    let tasks: Vec<Delayed<u64>> = (0..3).map(outer).collect();
    let values = within(30, move || client.compute(&tasks).unwrap());
    assert_eq!(values, [2, 6, 10]);
}

#[test]
fn stop_on_error_ends_the_iteration_at_the_first_error() {
    #[delayed]
    fn check(x: i64) -> Result<i64, String> {
        if x == 0 { Err("zero".into()) } else { Ok(x) }
    }
    let client = Client::builder().threads(1).build().unwrap();
    let handles: Vec<Delayed<i64>> = (0..5).map(check).collect();
    let results: Vec<_> = within(30, move || {
        client.as_completed(&handles).stop_on_error().collect()
    });
    assert!(results.last().unwrap().1.is_err());
    assert_eq!(results.iter().filter(|(_, r)| r.is_err()).count(), 1);
}

#[test]
fn the_default_client_is_the_entered_one_then_the_process_default() {
    let entered = Client::builder().threads(3).build().unwrap();
    let guard = entered.enter();
    assert_eq!(Client::current().unwrap().threads(), Some(3));
    let on_another_thread = std::thread::spawn(|| Client::current().unwrap().threads())
        .join()
        .unwrap();
    assert_ne!(on_another_thread, Some(3), "a guard is the thread's own");
    drop(guard);
    assert_ne!(Client::current().unwrap().threads(), Some(3));
}
