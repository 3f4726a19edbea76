//! A progress bar for computes, drawn with `indicatif`.

use std::sync::Arc;

use indicatif::{ProgressDrawTarget, ProgressStyle};

use super::{Callback, ComputeFinish, ComputeStart, Registration, TaskFinish, register};

/// A progress bar over the tasks of each compute: Dask's `ProgressBar`.
///
/// It shows tasks done out of the total, the elapsed time, the rate and an
/// estimate of the time left. It draws on standard error only when that is
/// a terminal, so logs and pipes stay clean; on failure it clears itself.
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
#[derive(Clone, Debug)]
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
}

impl ProgressBar {
    /// A bar drawn on standard error when it is a terminal, hidden
    /// otherwise.
    ///
    /// ```
    /// let bar = delayed::diagnostics::ProgressBar::new();
    /// let _shown = bar.register();
    /// ```
    pub fn new() -> ProgressBar {
        ProgressBar::with_target(ProgressDrawTarget::stderr())
    }

    /// A bar that counts but never draws: for tests, or to read the
    /// progress from another thread.
    ///
    /// ```
    /// let bar = delayed::diagnostics::ProgressBar::hidden();
    /// assert_eq!(bar.position(), 0);
    /// ```
    pub fn hidden() -> ProgressBar {
        ProgressBar::with_target(ProgressDrawTarget::hidden())
    }

    fn with_target(target: ProgressDrawTarget) -> ProgressBar {
        let bar = indicatif::ProgressBar::with_draw_target(Some(0), target);
        let style = ProgressStyle::with_template(
            "[{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} tasks  {per_sec}  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("█▉▊▋▌▍▎▏ ");
        bar.set_style(style);
        ProgressBar { bar }
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

    /// Tasks in the current (or last) compute.
    ///
    /// ```
    /// assert_eq!(delayed::diagnostics::ProgressBar::hidden().length(), Some(0));
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
}

/// Marks a bar cleared after a failure.
const CLEARED: &str = "failed";

impl Default for ProgressBar {
    fn default() -> ProgressBar {
        ProgressBar::new()
    }
}

impl Callback for ProgressBar {
    fn start(&self, compute: &ComputeStart<'_>) {
        self.bar.reset();
        self.bar.set_message("");
        self.bar.set_length(compute.tasks as u64);
    }

    fn task_finish(&self, _task: &TaskFinish<'_>) {
        self.bar.inc(1);
    }

    fn finish(&self, compute: &ComputeFinish<'_>) {
        if compute.ok {
            self.bar.finish();
        } else {
            self.bar.set_message(CLEARED);
            self.bar.finish_and_clear();
        }
    }
}
