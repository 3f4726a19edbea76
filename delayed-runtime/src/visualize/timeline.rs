//! The profiler's task stream: one row per thread, a bar per task,
//! coloured by function as in the graph pictures.

use std::fmt::Write;

use super::drawing::{colour, escape};
use serde::{Deserialize, Serialize};

/// One task as the profiler saw it. Times are in seconds from the start of
/// the first compute recorded.
///
/// ```
/// let profiler = delayed::diagnostics::Profiler::new();
/// {
///     let _recording = profiler.register();
///     delayed::value(1).map(|x| x + 1).compute()?;
/// }
/// let record = &profiler.records()[0];
/// assert_eq!((record.function.as_str(), record.ok), ("map", true));
/// assert!(record.end >= record.start);
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task's key.
    pub key: String,
    /// Its function's name.
    pub function: String,
    /// The row it is drawn on, numbered in order of first use: the thread
    /// it ran on, or the worker process it ran on.
    pub thread: usize,
    /// The worker process it ran on, by name, when it ran on one (a client
    /// with workers, feature `distributed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// When it started.
    pub start: f64,
    /// When it ended.
    pub end: f64,
    /// Whether it returned a value.
    pub ok: bool,
    /// Whether its value was read from the client's cache (feature
    /// `cache`): drawn pale, with a dashed outline.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// Draws the task stream.
pub(crate) fn write(records: &[TaskRecord]) -> String {
    const LEFT: f64 = 90.0;
    const PLOT: f64 = 900.0;
    const ROW: f64 = 22.0;
    const TOP: f64 = 30.0;
    let threads = records.iter().map(|r| r.thread + 1).max().unwrap_or(0);
    // Each row's label: the worker's name, or the thread's number.
    let mut labels: Vec<String> = (0..threads).map(|row| format!("thread {row}")).collect();
    for record in records {
        if let Some(worker) = &record.worker {
            labels[record.thread] = short(worker);
        }
    }
    let workers = records
        .iter()
        .filter_map(|r| r.worker.as_deref())
        .collect::<std::collections::HashSet<_>>()
        .len();
    let span = records.iter().map(|r| r.end).fold(0.0, f64::max).max(1e-9);
    let mut functions: Vec<&str> = records.iter().map(|r| r.function.as_str()).collect();
    functions.sort_unstable();
    functions.dedup();
    let plot_height = threads as f64 * ROW;
    let legend_top = TOP + plot_height + 40.0;
    let height = legend_top + 22.0 * legend_lines(&functions, PLOT) as f64 + 10.0;
    let width = LEFT + PLOT + 30.0;
    let x = |t: f64| LEFT + t / span * PLOT;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let places = match workers {
        0 => format!("{threads} threads"),
        _ => format!("{} threads and {workers} workers", threads - workers),
    };
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18" font-size="13">task stream: {} tasks on {places} in {:.3} s</text>"#,
        records.len(),
        span
    );
    for (thread, label) in labels.iter().enumerate() {
        let y = TOP + thread as f64 * ROW;
        let _ = writeln!(
            out,
            r#"<text class="row" x="8" y="{:.1}">{}</text>"#,
            y + 15.0,
            escape(label)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{y:.1}" width="{PLOT}" height="{ROW}" fill="{}"/>"##,
            if thread % 2 == 0 {
                "#f7f7f7"
            } else {
                "#ffffff"
            }
        );
    }
    for record in records {
        let y = TOP + record.thread as f64 * ROW + 3.0;
        let (x1, x2) = (x(record.start), x(record.end));
        let stroke = if record.ok { "none" } else { "#d00" };
        // A value read from the cache: pale, outlined in dashes.
        let (class, style, what) = match record.cached {
            true => (
                "task cached",
                format!(
                    r#" fill-opacity="0.35" stroke="{}" stroke-dasharray="3 2""#,
                    colour(&record.function)
                ),
                ", cached",
            ),
            false => ("task", format!(r#" stroke="{stroke}""#), ""),
        };
        let _ = writeln!(
            out,
            r#"<rect class="{class}" x="{x1:.2}" y="{y:.1}" width="{:.2}" height="{:.1}" fill="{}"{style}><title>{} ({:.3} s{what})</title></rect>"#,
            (x2 - x1).max(0.5),
            ROW - 6.0,
            colour(&record.function),
            escape(&record.key),
            record.end - record.start,
        );
    }
    // Axis with round ticks.
    let axis = TOP + plot_height + 4.0;
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{axis:.1}" x2="{:.1}" y2="{axis:.1}" stroke="#333"/>"##,
        LEFT + PLOT
    );
    let step = tick_step(span);
    let mut t = 0.0;
    while t <= span * 1.0001 {
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" y1="{axis:.1}" x2="{0:.1}" y2="{1:.1}" stroke="#333"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{3}</text>"##,
            x(t),
            axis + 5.0,
            axis + 18.0,
            format_seconds(t, step),
        );
        t += step;
    }
    // The legend: entries packed side by side after a heading, wrapping
    // only when a line is full.
    let mut line = 0;
    let _ = writeln!(
        out,
        r#"<text class="legend-heading" x="8" y="{:.1}">functions</text>"#,
        legend_top + 1.0
    );
    let mut lx = LEFT;
    for function in &functions {
        let entry = 20.0 + legend_width(function) + 22.0;
        if lx > LEFT && lx + entry > LEFT + PLOT {
            line += 1;
            lx = LEFT;
        }
        let ly = legend_top + line as f64 * 22.0;
        let _ = writeln!(
            out,
            r#"<rect class="legend" x="{lx:.1}" y="{:.1}" width="14" height="14" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            ly - 11.0,
            colour(function),
            lx + 20.0,
            ly + 1.0,
            escape(function),
        );
        lx += entry;
    }
    out.push_str("</svg>\n");
    out
}

/// The width of a legend entry's name in the 12 px font.
fn legend_width(name: &str) -> f64 {
    name.chars().count() as f64 * 7.0
}

/// How many lines the legend takes in `plot` pixels.
fn legend_lines(functions: &[&str], plot: f64) -> usize {
    let mut lines = 1;
    let mut used = 0.0;
    for function in functions {
        let entry = 20.0 + legend_width(function) + 22.0;
        if used > 0.0 && used + entry > plot {
            lines += 1;
            used = 0.0;
        }
        used += entry;
    }
    lines
}

/// A round step (1, 2 or 5 times a power of ten) giving about 8 ticks.
fn tick_step(span: f64) -> f64 {
    let rough = span / 8.0;
    let power = 10_f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * power)
}

fn format_seconds(t: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{t:.decimals$} s")
}

/// A worker's name as a row's label fits it: `worker-` and the first hex
/// digits of its unique part.
fn short(worker: &str) -> String {
    worker.chars().take(13).collect()
}
