//! The dashboard's HTTP server: the page, its event stream, the pictures.
//!
//! One task takes a frame from the board a few times a second while
//! anything happens and publishes it; each open page receives the newest
//! frame as a server-sent event. A page that falls behind skips frames
//! rather than queueing them.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_core::Stream;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::board::Board;

/// The page, with its styles and script: nothing is fetched from elsewhere.
const PAGE: &str = include_str!("page.html");

/// How often a frame is taken while a compute runs.
const FRAME: Duration = Duration::from_millis(100);

/// Binds `address` and serves the board on `runtime` until `stop`'s sender
/// is dropped. Returns the address bound (with the port chosen, for `:0`).
pub(crate) fn serve(
    runtime: &Handle,
    address: &str,
    board: Arc<Board>,
    stop: watch::Receiver<()>,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(loopback_by_default(address).as_ref())?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    // The first frame, and the changes it shows: the publisher may first
    // run after a whole compute, which must not count as seen.
    let seen = board.changes();
    let (frames, latest) = watch::channel(Arc::<str>::from(frame_json(&board)));
    let app = Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/state", get(state))
        .route("/graph/{id}", get(graph))
        .with_state(Server {
            board: board.clone(),
            latest,
        });
    let shutdown = stopped(stop.clone());
    runtime.spawn(async move {
        // An I/O error of the listener ends the dashboard, never the compute.
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    });
    runtime.spawn(publish(board, frames, stop, seen));
    Ok(bound)
}

/// Completes when the dashboard is dropped: `stop`'s sender is gone.
pub(super) async fn stopped(mut stop: watch::Receiver<()>) {
    while stop.changed().await.is_ok() {}
}

/// A bare port (`"8787"` or `":8787"`) means that port on loopback: the
/// dashboard is reachable from elsewhere only when an address says so.
fn loopback_by_default(address: &str) -> std::borrow::Cow<'_, str> {
    let port = address.strip_prefix(':').unwrap_or(address);
    match port.parse::<u16>() {
        Ok(port) => format!("127.0.0.1:{port}").into(),
        Err(_) => address.into(),
    }
}

#[derive(Clone)]
struct Server {
    board: Arc<Board>,
    latest: watch::Receiver<Arc<str>>,
}

/// Takes a frame every [`FRAME`] while a compute runs, and once after
/// anything else changed; stops when the dashboard is dropped.
async fn publish(
    board: Arc<Board>,
    frames: watch::Sender<Arc<str>>,
    stop: watch::Receiver<()>,
    mut seen: u64,
) {
    let mut ticks = tokio::time::interval(FRAME);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        if stop.has_changed().is_err() {
            return;
        }
        let changes = board.changes();
        if !board.is_busy() && changes == seen {
            continue;
        }
        seen = changes;
        frames.send_replace(frame_json(&board).into());
    }
}

fn frame_json(board: &Board) -> String {
    serde_json::to_string(&board.frame()).expect("a frame is plain data")
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn state(State(server): State<Server>) -> Response {
    let frame = server.latest.borrow().clone();
    (
        [(header::CONTENT_TYPE, "application/json")],
        frame.to_string(),
    )
        .into_response()
}

async fn graph(State(server): State<Server>, Path(id): Path<u64>) -> Response {
    match server.board.svg(id) {
        Some(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        None => (StatusCode::NOT_FOUND, "no such compute on this dashboard").into_response(),
    }
}

async fn events(State(server): State<Server>) -> impl IntoResponse {
    let mut latest = server.latest.clone();
    // First the task stream's recent bars, then the newest frame at once,
    // then each new one.
    let history = Event::default()
        .event("history")
        .data(server.board.history_json());
    latest.mark_changed();
    Sse::new(Frames::new(history, latest)).keep_alive(KeepAlive::default())
}

/// The frames as a stream of events, newest first, skipping those a slow
/// page had no time for.
struct Frames {
    first: Option<Event>,
    next: Pin<Box<dyn Future<Output = Option<Changed>> + Send>>,
}

/// A new frame, and the receiver to wait for the one after it.
type Changed = (Arc<str>, watch::Receiver<Arc<str>>);

impl Frames {
    fn new(first: Event, latest: watch::Receiver<Arc<str>>) -> Frames {
        Frames {
            first: Some(first),
            next: Box::pin(changed(latest)),
        }
    }
}

/// The next frame, or `None` when the dashboard is gone.
async fn changed(mut latest: watch::Receiver<Arc<str>>) -> Option<Changed> {
    latest.changed().await.ok()?;
    let frame = latest.borrow_and_update().clone();
    Some((frame, latest))
}

impl Stream for Frames {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        match self.next.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some((frame, latest))) => {
                self.next = Box::pin(changed(latest));
                Poll::Ready(Some(Ok(Event::default().data(&*frame))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_by_default;

    #[test]
    fn a_bare_port_is_on_loopback() {
        assert_eq!(loopback_by_default("8787"), "127.0.0.1:8787");
        assert_eq!(loopback_by_default(":8787"), "127.0.0.1:8787");
        assert_eq!(loopback_by_default("0.0.0.0:8787"), "0.0.0.0:8787");
        assert_eq!(loopback_by_default("[::1]:8787"), "[::1]:8787");
        assert_eq!(loopback_by_default("localhost:8787"), "localhost:8787");
    }
}
