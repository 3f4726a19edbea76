//! A progress bar for computes: drawn with `indicatif` on a terminal, as
//! plain lines at intervals anywhere else (a pipe, a log, CI).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressDrawTarget, ProgressState, ProgressStyle};

use super::{Callback, ComputeFinish, ComputeStart, Registration, TaskFinish, register};

/// A progress bar over the tasks of each compute: Dask's `ProgressBar`.
///
/// It shows tasks done out of the total, the elapsed time, the rate and an
/// estimate of the time left. On a terminal it is a bar on standard error
/// that ends its line when the compute ends (and clears itself when it
/// fails). Anywhere else (`| tee`, a log file, CI) it prints a plain line
/// every few seconds and a last one with the outcome, so that the output
/// shows progress without control characters.
///
/// The estimate of the time left is the tasks left at the rate so far
/// (tasks done over time elapsed), which suits tasks that run side by
/// side; none is shown before a tenth of the tasks is done.
///
/// ```
/// use delayed::{delayed, diagnostics::ProgressBar};
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let bar = ProgressBar::new();
/// {
///     let _shown = bar.register(); // Dask's `with ProgressBar():`
///     delayed::compute(&vec![inc(1), inc(2), inc(3)])?;
/// }
/// assert_eq!((bar.position(), bar.length()), (3, Some(3)));
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone)]
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    /// Where plain lines go, when the bar is not drawn on a terminal.
    lines: Option<Arc<Lines>>,
    /// Tasks of the current compute read from the cache (feature `cache`).
    cached: Arc<AtomicU64>,
}

/// Plain progress lines to a writer.
struct Lines {
    out: Mutex<Box<dyn Write + Send>>,
    every: Duration,
    /// Times below are nanoseconds since this instant: a task reads the
    /// clock, never a lock, to learn whether a line is due.
    origin: Instant,
    /// When the next line is due: read by every task, written by the one
    /// that prints.
    next: AtomicU64,
}

impl Lines {
    /// The time `after` from now, in nanoseconds since `origin`.
    fn now(&self, after: Duration) -> u64 {
        let nanos = (self.origin.elapsed() + after).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }
}

/// How often [`ProgressBar::new`] prints a line when standard error is not
/// a terminal.
const EVERY: Duration = Duration::from_secs(5);

impl ProgressBar {
    /// A bar on standard error: drawn when it is a terminal, a plain line
    /// every 5 seconds otherwise.
    ///
    /// ```
    /// let bar = delayed::diagnostics::ProgressBar::new();
    /// let _shown = bar.register();
    /// ```
    pub fn new() -> ProgressBar {
        if std::io::stderr().is_terminal() {
            ProgressBar::with_target(ProgressDrawTarget::stderr(), None)
        } else {
            ProgressBar::lines(std::io::stderr(), EVERY)
        }
    }

    /// Plain lines to `out` every `every`, and one when each compute ends:
    /// for a log file, or to show progress where no terminal is.
    ///
    /// ```
    /// use delayed::diagnostics::ProgressBar;
    /// use std::time::{Duration, Instant};
    ///
    /// let log = std::fs::File::create(std::env::temp_dir().join("progress.log"))?;
    /// let bar = ProgressBar::lines(log, Duration::from_secs(10));
    /// let client = delayed::Client::builder().callback(std::sync::Arc::new(bar)).build()?;
    /// client.compute(&delayed::value(1).map(|x| x + 1))?;
    /// // Done before the first line was due: only the last one.
    /// let log = std::fs::read_to_string(std::env::temp_dir().join("progress.log"))?;
    /// assert!(log.starts_with("[00:00:00] 1/1 tasks done in 0.0"), "{log}");
    /// assert_eq!(log.lines().count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lines(out: impl Write + Send + 'static, every: Duration) -> ProgressBar {
        let lines = Lines {
            out: Mutex::new(Box::new(out)),
            every,
            origin: Instant::now(),
            next: AtomicU64::new(u64::MAX),
        };
        ProgressBar::with_target(ProgressDrawTarget::hidden(), Some(Arc::new(lines)))
    }

    /// A bar that counts but never draws: for tests, or to read the
    /// progress from another thread.
    ///
    /// ```
    /// let bar = delayed::diagnostics::ProgressBar::hidden();
    /// assert_eq!(bar.position(), 0);
    /// ```
    pub fn hidden() -> ProgressBar {
        ProgressBar::with_target(ProgressDrawTarget::hidden(), None)
    }

    fn with_target(target: ProgressDrawTarget, lines: Option<Arc<Lines>>) -> ProgressBar {
        // No length until a compute starts: nothing is drawn before.
        let bar = indicatif::ProgressBar::with_draw_target(None, target);
        let cached = Arc::new(AtomicU64::new(0));
        let shown = cached.clone();
        let style = ProgressStyle::with_template(
            "[{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} tasks{cached}{rate}{left}",
        )
        .expect("the template is valid")
        .with_key(
            "cached",
            move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write_cached(out, shown.load(Ordering::Relaxed));
            },
        )
        .with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write_rate(out, state.pos(), state.elapsed());
            },
        )
        .with_key(
            "left",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let len = state.len().unwrap_or(0);
                let _ = write_left(out, state.pos(), len, state.elapsed());
            },
        )
        .progress_chars("█▉▊▋▌▍▎▏ ");
        bar.set_style(style);
        ProgressBar { bar, lines, cached }
    }

    /// Shows this bar for every compute until the guard is dropped.
    ///
    /// ```
    /// let _shown = delayed::diagnostics::ProgressBar::new().register();
    /// ```
    pub fn register(&self) -> Registration {
        register(Arc::new(self.clone()))
    }

    /// Tasks finished in the current (or last) compute.
    ///
    /// ```
    /// assert_eq!(delayed::diagnostics::ProgressBar::hidden().position(), 0);
    /// ```
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// Tasks of the current (or last) compute whose values were read from
    /// the client's cache rather than computed (feature `cache`); they
    /// count in [`position`](Self::position) too.
    ///
    /// ```
    /// assert_eq!(delayed::diagnostics::ProgressBar::hidden().cached(), 0);
    /// ```
    pub fn cached(&self) -> u64 {
        self.cached.load(Ordering::Relaxed)
    }

    /// Tasks in the current (or last) compute; `None` before the first.
    ///
    /// ```
    /// assert_eq!(delayed::diagnostics::ProgressBar::hidden().length(), None);
    /// ```
    pub fn length(&self) -> Option<u64> {
        self.bar.length()
    }

    /// Whether the bar was cleared, as it is when a compute fails.
    ///
    /// ```
    /// assert!(!delayed::diagnostics::ProgressBar::hidden().is_cleared());
    /// ```
    pub fn is_cleared(&self) -> bool {
        self.bar.is_finished() && self.bar.message() == CLEARED
    }

    /// The plain line for the bar's state now; `outcome` for the last one.
    fn line(&self, outcome: Option<&ComputeFinish<'_>>) -> String {
        let (pos, len) = (self.bar.position(), self.bar.length().unwrap_or(0));
        let elapsed = outcome.map_or_else(|| self.bar.elapsed(), |c| c.elapsed);
        let mut line = format!("[{}] {pos}/{len} tasks", clock(elapsed));
        let _ = write_cached(&mut line, self.cached());
        let _ = match outcome {
            None => write_rate(&mut line, pos, elapsed)
                .and_then(|()| write_left(&mut line, pos, len, elapsed)),
            Some(compute) if compute.ok => write!(line, " done in {}", seconds(elapsed))
                .and_then(|()| write_rate(&mut line, pos, elapsed)),
            Some(_) => write!(line, ", failed after {}", seconds(elapsed)),
        };
        line
    }

    fn print(lines: &Lines, line: &str) {
        let mut out = lines.out.lock().unwrap_or_else(PoisonError::into_inner);
        // Progress is best effort: a closed pipe must not fail the compute.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// Marks a bar cleared after a failure.
const CLEARED: &str = "failed";

/// ` (3 cached)`, once a task was read from the cache.
fn write_cached(out: &mut dyn std::fmt::Write, cached: u64) -> std::fmt::Result {
    match cached {
        0 => Ok(()),
        n => write!(out, " ({n} cached)"),
    }
}

/// `  4.0 tasks/s`, once a task is done.
fn write_rate(out: &mut dyn std::fmt::Write, pos: u64, elapsed: Duration) -> std::fmt::Result {
    let secs = elapsed.as_secs_f64();
    if pos == 0 || secs <= 0.0 {
        return Ok(());
    }
    let rate = pos as f64 / secs;
    if rate >= 100.0 {
        write!(out, "  {rate:.0} tasks/s")
    } else {
        write!(out, "  {rate:.1} tasks/s")
    }
}

/// `  about 4 s left`: the tasks left at the rate so far, once a tenth of
/// the tasks is done (a basis for a rate) and while some are left.
fn write_left(
    out: &mut dyn std::fmt::Write,
    pos: u64,
    len: u64,
    elapsed: Duration,
) -> std::fmt::Result {
    if pos == 0 || pos >= len || pos * 10 < len {
        return Ok(());
    }
    let left = elapsed.mul_f64((len - pos) as f64 / pos as f64);
    write!(out, "  about {} left", seconds(left))
}

/// `0.25 s`, `7.0 s`, `42 s`, `2 min 5 s`, `1 h 3 min`.
fn seconds(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{:.2} s", d.as_secs_f64()),
        1..10 => format!("{:.1} s", d.as_secs_f64()),
        10..60 => format!("{secs} s"),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// `00:01:05`.
fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

impl Default for ProgressBar {
    fn default() -> ProgressBar {
        ProgressBar::new()
    }
}

impl std::fmt::Debug for ProgressBar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressBar")
            .field("position", &self.position())
            .field("length", &self.length())
            .field("lines", &self.lines.is_some())
            .finish()
    }
}

impl Callback for ProgressBar {
    fn start(&self, compute: &ComputeStart<'_>) {
        // The length first, then the reset that draws: the first frame is
        // 0 of the tasks, never a full bar of 0/0.
        self.bar.set_length(compute.tasks as u64);
        self.cached.store(0, Ordering::Relaxed);
        self.bar.set_message("");
        self.bar.reset();
        if let Some(lines) = &self.lines {
            lines.next.store(lines.now(lines.every), Ordering::Release);
        }
    }

    fn task_finish(&self, task: &TaskFinish<'_>) {
        if task.cached {
            self.cached.fetch_add(1, Ordering::Relaxed);
        }
        self.bar.inc(1);
        let Some(lines) = &self.lines else { return };
        let due = lines.next.load(Ordering::Acquire);
        // One task prints each line: the one that moves the deadline.
        if lines.now(Duration::ZERO) >= due
            && lines
                .next
                .compare_exchange(
                    due,
                    lines.now(lines.every),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            ProgressBar::print(lines, &self.line(None));
        }
    }

    /// The bar keeps its own clock: tasks need no timing.
    fn times_tasks(&self) -> bool {
        false
    }

    fn finish(&self, compute: &ComputeFinish<'_>) {
        if let Some(lines) = &self.lines {
            lines.next.store(u64::MAX, Ordering::Release);
            ProgressBar::print(lines, &self.line(Some(compute)));
        }
        if compute.ok {
            self.bar.finish();
            if !self.bar.is_hidden() {
                // indicatif leaves the cursor after the bar: end its line,
                // so that what the program prints next starts on its own.
                eprintln!();
            }
        } else {
            self.bar.set_message(CLEARED);
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut String) -> std::fmt::Result) -> String {
        let mut out = String::new();
        f(&mut out).unwrap();
        out
    }

    #[test]
    fn no_rate_before_a_task_is_done_and_no_estimate_before_a_tenth() {
        let second = Duration::from_secs(1);
        assert_eq!(text(|o| write_rate(o, 0, second)), "");
        assert_eq!(text(|o| write_left(o, 0, 30, second)), "");
        // One task of 30 done says little about the rest.
        assert_eq!(text(|o| write_left(o, 2, 30, second)), "");
        assert_eq!(text(|o| write_left(o, 3, 30, second)), "  about 9.0 s left");
    }

    #[test]
    fn the_estimate_is_the_tasks_left_at_the_rate_so_far() {
        // 10 of 30 done in 5 s: the 20 left take 10 s at that rate,
        // however many of them run side by side.
        let elapsed = Duration::from_secs(5);
        assert_eq!(
            text(|o| write_left(o, 10, 30, elapsed)),
            "  about 10 s left"
        );
        assert_eq!(text(|o| write_rate(o, 10, elapsed)), "  2.0 tasks/s");
        assert_eq!(text(|o| write_rate(o, 1_000, elapsed)), "  200 tasks/s");
        // Nothing left, no estimate.
        assert_eq!(text(|o| write_left(o, 30, 30, elapsed)), "");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(Duration::from_millis(250)), "0.25 s");
        assert_eq!(seconds(Duration::from_millis(7_040)), "7.0 s");
        assert_eq!(seconds(Duration::from_secs(42)), "42 s");
        assert_eq!(seconds(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(seconds(Duration::from_secs(3_780)), "1 h 3 min");
        assert_eq!(clock(Duration::from_secs(3_725)), "01:02:05");
    }
}
