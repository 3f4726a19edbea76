//! The delayed pipeline against plain polars on the same files.

use std::path::PathBuf;

use delayed::{ErrorKind, compute};
use delayed_polars_example::{
    DelayedDataFrame, pipeline, polars_alone, read_csv, sequential, write_checkouts,
};

/// A small data set of its own for each test, removed afterwards.
struct Data(PathBuf);

impl Data {
    fn new(name: &str) -> Data {
        let dir =
            std::env::temp_dir().join(format!("delayed-polars-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Data(dir)
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_delayed_pipeline_ranks_titles_as_plain_polars_does() {
    let data = Data::new("ranking");
    let paths = write_checkouts(&data.0, 4, 3_000).unwrap();
    let work = pipeline(&paths, 5);
    let (totals, top, records) = compute!(work.totals, work.top, work.records).unwrap();
    assert_eq!(records, 4 * 3_000);
    let expected = sequential(&paths, 5).unwrap();
    assert!(totals.equals(&expected), "{totals}\n{expected}");
    assert!(polars_alone(&paths, 5).unwrap().equals(&expected));
    assert_eq!(top.height(), 10);
    assert!(top.equals(&expected.head(Some(10))));
    // The filter took effect: fewer checkouts than in all records.
    let all = sequential(&paths, 0).unwrap();
    let sum = |frame: &polars::prelude::DataFrame| -> i64 {
        use polars::prelude::ChunkAgg;
        frame
            .column("checkouts")
            .unwrap()
            .i64()
            .unwrap()
            .sum()
            .unwrap()
    };
    assert!(sum(&totals) < sum(&all));
}

#[test]
fn the_generated_files_are_the_same_every_time() {
    let data = Data::new("same");
    let first = write_checkouts(&data.0, 2, 500).unwrap();
    let bytes: Vec<Vec<u8>> = first.iter().map(|p| std::fs::read(p).unwrap()).collect();
    std::fs::remove_dir_all(&data.0).unwrap();
    let again = write_checkouts(&data.0, 2, 500).unwrap();
    for (path, before) in again.iter().zip(&bytes) {
        assert_eq!(&std::fs::read(path).unwrap(), before);
    }
    let frame = read_csv(again[1].clone()).unwrap();
    assert_eq!(frame.height(), 500);
    let names: Vec<&str> = frame
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["title", "checkouts", "month"]);
}

#[test]
fn a_lazy_method_that_fails_names_its_task() {
    let data = Data::new("fails");
    let paths = write_checkouts(&data.0, 1, 100).unwrap();
    let frame = delayed::delayed(read_csv).try_call(paths[0].clone());
    let checkouts = frame.column("checkouts");
    assert_eq!(checkouts.compute().unwrap().len(), 100);
    let missing = frame.column("nope");
    let err = missing.compute().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.key().unwrap().name(), "column");
    assert!(err.to_string().contains("column-"), "{err}");
}

#[test]
fn a_missing_file_fails_the_read_naming_it() {
    let read = delayed::delayed(read_csv).try_call(PathBuf::from("/nonexistent/checkouts.csv"));
    let err = read.height().compute().unwrap_err();
    assert_eq!(err.key().unwrap().name(), "read_csv");
}
