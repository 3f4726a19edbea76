//! Logs come home: the `tracing` events a task emits on a worker travel to
//! its client, which emits them again, with the task's key and the
//! worker's name, to its own subscriber, and shows them in the dashboard
//! beside the task.
//!
//! - A worker thread runs under [`Capture`], a subscriber that hands every
//!   call to the subscriber the worker had (its own output is unchanged)
//!   and keeps the events at or above [`LEVEL_VARIABLE`]'s level (`info`
//!   by default, `off` for none) emitted while a task of a message runs.
//! - They go to the client in the reply stream, one entry per task ahead of
//!   its completion, with the task's next recording round trip: no extra
//!   round trip.
//! - Limits, so that a chatty task cannot flood the broker: at most
//!   [`PER_TASK`] events a task, each message cut at [`MESSAGE_BYTES`]
//!   bytes, and at most [`PER_SECOND`] a second for each worker thread
//!   (a burst of as many). Events past them are counted, and the client is
//!   told how many were left out.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

use crate::diagnostics::{LogLevel, LogLine};
use crate::error::Error;

/// The variable that sets the most verbose level a worker sends home:
/// `off`, `error`, `warn`, `info` (the default), `debug` or `trace`.
pub(crate) const LEVEL_VARIABLE: &str = "DELAYED_WORKER_LOG";

/// The most events one task sends home.
pub const PER_TASK: usize = 100;

/// The most events a worker thread sends home in a second.
pub const PER_SECOND: f64 = 1_000.0;

/// The longest message sent home, in bytes; a longer one is cut.
pub const MESSAGE_BYTES: usize = 2_048;

/// The events of one task as they travel to its client.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Batch {
    pub(crate) lines: Vec<LogLine>,
    /// Events left out by the limits.
    pub(crate) dropped: u64,
}

/// The most verbose level to send home, from [`LEVEL_VARIABLE`]; `None`
/// for `off`.
pub(crate) fn level_from_env() -> Result<Option<Level>, Error> {
    let Ok(text) = std::env::var(LEVEL_VARIABLE) else {
        return Ok(Some(Level::INFO));
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => Ok(None),
        "error" => Ok(Some(Level::ERROR)),
        "warn" => Ok(Some(Level::WARN)),
        "info" => Ok(Some(Level::INFO)),
        "debug" => Ok(Some(Level::DEBUG)),
        "trace" => Ok(Some(Level::TRACE)),
        _ => Err(Error::config(format!(
            "`{LEVEL_VARIABLE}` must be `off`, `error`, `warn`, `info`, `debug` or `trace`, \
             not `{text}`"
        ))),
    }
}

/// A `tracing` level as a log line has it.
fn log_level(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

/// What a worker thread keeps of the task running now.
struct Kept {
    /// Set while a task runs: its events are kept.
    running: bool,
    batch: Batch,
    /// The thread's budget of events, refilled at [`PER_SECOND`].
    tokens: f64,
    refilled: Instant,
}

thread_local! {
    static KEPT: RefCell<Kept> = RefCell::new(Kept {
        running: false,
        batch: Batch::default(),
        tokens: PER_SECOND,
        refilled: Instant::now(),
    });
}

/// Keeps the events of the task that runs on this thread from now on.
pub(crate) fn start_task() {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        kept.running = true;
        kept.batch = Batch::default();
    });
}

/// Stops keeping events, and gives those of the task that ran: `None` when
/// it emitted none.
pub(crate) fn end_task() -> Option<Batch> {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        kept.running = false;
        let batch = std::mem::take(&mut kept.batch);
        (!batch.lines.is_empty() || batch.dropped > 0).then_some(batch)
    })
}

/// A subscriber that hands everything to the one the worker had, and
/// keeps the events of the running task at or above `level`.
pub(crate) struct Capture {
    inner: Dispatch,
    level: Level,
}

impl Capture {
    /// Captures over `inner`, the thread's subscriber until now.
    pub(crate) fn new(inner: Dispatch, level: Level) -> Capture {
        Capture { inner, level }
    }

    fn keeps(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && *metadata.level() <= self.level
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let inner = self.inner.register_callsite(metadata);
        match self.keeps(metadata) {
            // Whether a task runs changes: ask each time.
            true if !inner.is_always() => Interest::sometimes(),
            _ => inner,
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        (self.keeps(metadata) && KEPT.with(|kept| kept.borrow().running))
            || self.inner.enabled(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values);
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows);
    }

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        if self.keeps(metadata) {
            KEPT.with(|kept| keep(&mut kept.borrow_mut(), event));
        }
        if self.inner.enabled(metadata) {
            self.inner.event(event);
        }
    }

    fn enter(&self, span: &Id) {
        self.inner.enter(span);
    }

    fn exit(&self, span: &Id) {
        self.inner.exit(span);
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
}

/// Keeps `event` for the running task, within the limits.
fn keep(kept: &mut Kept, event: &Event<'_>) {
    if !kept.running {
        return;
    }
    let now = Instant::now();
    let refill = now.duration_since(kept.refilled).as_secs_f64() * PER_SECOND;
    kept.tokens = (kept.tokens + refill).min(PER_SECOND);
    kept.refilled = now;
    if kept.batch.lines.len() >= PER_TASK || kept.tokens < 1.0 {
        kept.batch.dropped += 1;
        return;
    }
    kept.tokens -= 1.0;
    let mut message = Message(String::new());
    event.record(&mut message);
    let mut message = message.0;
    if message.len() > MESSAGE_BYTES {
        let mut cut = MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    kept.batch.lines.push(LogLine {
        level: log_level(event.metadata().level()),
        target: event.metadata().target().to_string(),
        message,
    });
}

/// An event's message, then its other fields as `name=value`.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            if !fields.is_empty() {
                self.0.push(' ');
                self.0.push_str(&fields);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

/// Emits a batch that came home from worker `worker` for the task `key`
/// to this process's subscriber, target `delayed::worker`, with the task's
/// key, the worker's name and the event's own target as fields; returns
/// its lines, for the callbacks.
pub(crate) fn emit(batch: Batch, key: &str, worker: &str) -> Vec<LogLine> {
    let mut lines = batch.lines;
    for line in &lines {
        let (origin, message) = (&line.target, &line.message);
        macro_rules! at {
            ($level:expr) => {
                tracing::event!(
                    target: "delayed::worker",
                    $level,
                    key = %key,
                    worker = %worker,
                    origin = %origin,
                    "{message}"
                )
            };
        }
        match line.level {
            LogLevel::Error => at!(Level::ERROR),
            LogLevel::Warn => at!(Level::WARN),
            LogLevel::Info => at!(Level::INFO),
            LogLevel::Debug => at!(Level::DEBUG),
            LogLevel::Trace => at!(Level::TRACE),
        }
    }
    if batch.dropped > 0 {
        let message = format!(
            "{} more events of this task were left out: a worker sends at most {PER_TASK} a \
             task and {PER_SECOND} a second for each of its threads",
            batch.dropped
        );
        tracing::warn!(target: "delayed::worker", key = %key, worker = %worker, "{message}");
        lines.push(LogLine {
            level: LogLevel::Warn,
            target: "delayed::worker".into(),
            message,
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_s_events_are_kept_within_the_limits() {
        let capture = Capture::new(Dispatch::none(), Level::INFO);
        tracing::subscriber::with_default(capture, || {
            tracing::info!("before any task: not kept");
            start_task();
            tracing::info!(rows = 3, "loaded");
            tracing::debug!("too verbose: not kept");
            tracing::warn!(target: "mine", "{}", "x".repeat(3 * MESSAGE_BYTES));
            for i in 0..2 * PER_TASK {
                tracing::info!(i, "chatty");
            }
            let batch = end_task().expect("events were kept");
            assert_eq!(batch.lines.len(), PER_TASK);
            assert_eq!(batch.dropped, (2 * PER_TASK + 2 - PER_TASK) as u64);
            assert_eq!(batch.lines[0].message, "loaded rows=3");
            assert_eq!(batch.lines[0].level, LogLevel::Info);
            assert_eq!(batch.lines[1].target, "mine");
            assert!(batch.lines[1].message.len() <= MESSAGE_BYTES + '…'.len_utf8());
            tracing::info!("after the task: not kept");
            assert!(end_task().is_none());
        });
    }
}
