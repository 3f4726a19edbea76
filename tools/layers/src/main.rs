//! `cargo run -p delayed-layers [SRC]`: checks the layers of
//! `delayed-runtime/src` (or of `SRC`) against the table in its `lib.rs`;
//! prints every forbidden import and import circle, and exits 1 if any.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let src = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../delayed-runtime/src"),
        PathBuf::from,
    );
    match delayed_layers::check(&src) {
        Ok(report) => {
            println!("{report}");
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("delayed-layers: {error}");
            ExitCode::from(2)
        }
    }
}
