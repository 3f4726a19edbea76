//! The rule on the real tree: `delayed-runtime/src` follows its own
//! layer table, and a bad import planted in a copy of it is caught.

use std::path::{Path, PathBuf};

fn runtime_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../delayed-runtime/src")
}

#[test]
fn the_runtime_is_a_layered_dag() {
    let report = delayed_layers::check(&runtime_src()).unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(report.files > 40, "{report}");
}

#[test]
fn an_executor_import_planted_in_the_graph_layer_is_caught() {
    let copy = std::env::temp_dir().join(format!("delayed-layers-runtime-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    copy_dir(&runtime_src(), &copy);
    let node = copy.join("node.rs");
    let mut text = std::fs::read_to_string(&node).unwrap();
    text.push_str("\n#[allow(unused_imports)]\nuse crate::executor::Run;\n");
    std::fs::write(&node, text).unwrap();
    let report = delayed_layers::check(&copy).unwrap();
    std::fs::remove_dir_all(&copy).unwrap();
    assert!(!report.is_clean());
    let bad = report
        .violations
        .iter()
        .find(|v| v.file == "node.rs")
        .unwrap_or_else(|| panic!("the planted import is reported: {report}"));
    assert_eq!(
        (bad.from_layer.as_str(), bad.to_layer.as_str()),
        ("Graph", "Run")
    );
    assert_eq!(bad.target, "executor/mod.rs");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
