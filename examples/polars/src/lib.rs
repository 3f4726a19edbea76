//! The seed article's pandas section, "Parallelizing pandas with Dask
//! Delayed", as a Rust data engineer writes it: polars DataFrames, read
//! from many CSV files in parallel, filtered and aggregated as tasks, then
//! combined and aggregated once more.
//!
//! ```text
//! cargo run --release -p delayed-polars-example            # the pipeline, timed
//! cargo run --release -p delayed-polars-example -- --measure   # against polars alone
//! ```
//!
//! The data set is the article's library checkouts, one CSV file per
//! month with a row per loan record (`title,checkouts,month`), written by
//! [`write_checkouts`] where it is missing.

use std::io::Write;
use std::path::{Path, PathBuf};

use delayed::{Delayed, delayed};
use polars::prelude::*;

delayed::methods! {
    /// Lazy methods of polars's `DataFrame`, on a `Delayed<DataFrame>`:
    /// each call is a task named after the method.
    impl DataFrame {
        /// How many rows the frame has.
        pub fn height(&self) -> usize;
        /// The first `length` rows (10 for `None`).
        pub fn head(&self, length: Option<usize>) -> DataFrame;
        /// The column `name`; an unknown name fails the task.
        pub fn column(&self, name: &str) -> Result<&Column, PolarsError>;
    }
}

/// Reads one CSV file with a header into a DataFrame: what the article's
/// `delayed(pd.read_csv)` wraps.
pub fn read_csv(path: PathBuf) -> PolarsResult<DataFrame> {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path))?
        .finish()
}

/// The titles of one month's loans borrowed at least `min_checkouts` times
/// in a record, with their total checkouts.
#[delayed]
pub fn popular_titles(frame: &DataFrame, min_checkouts: i64) -> Result<DataFrame, PolarsError> {
    frame
        .clone()
        .lazy()
        .filter(col("checkouts").gt_eq(lit(min_checkouts)))
        .group_by([col("title")])
        .agg([col("checkouts").sum()])
        .collect()
}

/// The months' totals combined: each title's checkouts over all of them,
/// most borrowed first (ties by title).
#[delayed]
pub fn combine(totals: Vec<DataFrame>) -> Result<DataFrame, PolarsError> {
    let frames: Vec<LazyFrame> = totals.into_iter().map(DataFrame::lazy).collect();
    ranked(concat(frames, UnionArgs::default())?).collect()
}

/// `frame`'s titles by total checkouts, most first, ties by title.
fn ranked(frame: LazyFrame) -> LazyFrame {
    frame
        .group_by([col("title")])
        .agg([col("checkouts").sum()])
        .sort(
            ["checkouts", "title"],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
}

/// The pipeline's handles, built at once and computed together.
pub struct Pipeline {
    /// Every title's total checkouts over all months, most first.
    pub totals: Delayed<DataFrame>,
    /// The ten most borrowed titles.
    pub top: Delayed<DataFrame>,
    /// How many loan records the files hold.
    pub records: Delayed<usize>,
}

/// The article's pipeline over `paths`: each file read, filtered and
/// aggregated as tasks of its own, in parallel; then combined.
pub fn pipeline(paths: &[PathBuf], min_checkouts: i64) -> Pipeline {
    let read = delayed(read_csv);
    let frames: Vec<Delayed<DataFrame>> = paths.iter().map(|p| read.try_call(p.clone())).collect();
    let totals = combine(
        frames
            .iter()
            .map(|frame| popular_titles(frame, min_checkouts))
            .collect::<Vec<_>>(),
    );
    Pipeline {
        top: totals.head(Some(10)),
        records: frames.iter().map(DelayedDataFrame::height).sum(),
        totals,
    }
}

/// The same result with plain polars, reading the files one after another.
pub fn sequential(paths: &[PathBuf], min_checkouts: i64) -> PolarsResult<DataFrame> {
    let mut frames = Vec::with_capacity(paths.len());
    for path in paths {
        let frame = read_csv(path.clone())?;
        frames.push(
            frame
                .lazy()
                .filter(col("checkouts").gt_eq(lit(min_checkouts))),
        );
    }
    ranked(concat(frames, UnionArgs::default())?).collect()
}

/// The same result with polars alone: a lazy scan of each file,
/// concatenated, which polars plans and runs in parallel on its own pool.
pub fn polars_alone(paths: &[PathBuf], min_checkouts: i64) -> PolarsResult<DataFrame> {
    let scans = paths
        .iter()
        .map(|path| {
            LazyCsvReader::new(PlRefPath::try_from_path(path)?)
                .with_has_header(true)
                .finish()
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    let all = concat(scans, UnionArgs::default())?;
    ranked(all.filter(col("checkouts").gt_eq(lit(min_checkouts)))).collect()
}

/// The titles of the generated checkouts: a few hundred, drawn unevenly so
/// that some are far more popular than others, as in a real library.
const TITLES: usize = 400;

/// Writes `months` CSV files of `rows` loan records each into `dir`
/// (`checkouts-01.csv`, …), the article's data set in shape: a title, the
/// times it was borrowed in the record, and the month. A file already
/// there of the right size is kept. Returns the files' paths, in order.
///
/// The records are the same on every machine: a fixed generator, no
/// randomness from outside.
pub fn write_checkouts(dir: &Path, months: usize, rows: usize) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::with_capacity(months);
    for month in 1..=months {
        let path = dir.join(format!("checkouts-{month:02}-{rows}.csv"));
        if !path.exists() {
            // Written beside, then renamed: a run stopped midway leaves no
            // half file that a later run would read.
            let partial = path.with_extension("csv.partial");
            let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
            writeln!(out, "title,checkouts,month")?;
            let mut state = month as u64;
            for _ in 0..rows {
                let (a, b) = (next(&mut state), next(&mut state));
                // Squared: low title numbers come up far more often.
                let title = ((a % 1_000) * (a % 1_000) / 1_000 * TITLES as u64 / 1_000) as usize;
                let checkouts = 1 + b % 30;
                writeln!(out, "Title {title:03},{checkouts},2017-{month:02}")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&partial, &path)?;
        }
        paths.push(path);
    }
    Ok(paths)
}

/// splitmix64: a fixed, fast generator of well-spread numbers.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The guide's chapter "DataFrames with polars", whose examples are
/// compiled and run as this crate's doc tests.
#[doc = include_str!("../../../docs/src/dataframes-with-polars.md")]
pub mod guide {}
