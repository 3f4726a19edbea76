//! The README's example and the guide's async example, built and run in a
//! fresh crate that depends on `delayed` as an outside user's would, with
//! only the dependencies the docs tell users to add: a setup step the docs
//! leave out fails here.
//!
//! It builds a crate from scratch (a minute or two), so it runs when
//! `DELAYED_OUTSIDE_USER_TEST=1`, which `.ci/run` sets; otherwise it says
//! that it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first ```rust block of a Markdown file, as a program: hidden lines
/// (`# …`) shown; without a `main`, the items (`use`, attributes,
/// functions) stay at the top and the statements become the body of a
/// `main` that returns a `Result`, as rustdoc runs it.
fn program(markdown: &str) -> String {
    let start = markdown.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let end = start + markdown[start..].find("\n```").expect("the block ends");
    let lines: Vec<&str> = markdown[start..end]
        .lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .filter(|line| !line.starts_with("Ok::<"))
        .collect();
    if lines.iter().any(|line| line.contains("fn main")) {
        return lines.join("\n");
    }
    let (mut top, mut body) = (String::new(), String::new());
    let mut in_item = false;
    for line in lines {
        let starts_item = ["use ", "#[", "fn ", "async fn ", "struct ", "static "]
            .iter()
            .any(|prefix| line.starts_with(prefix));
        if in_item || starts_item {
            top.push_str(line);
            top.push('\n');
            // An attribute or an opening line carries on to the next line;
            // a `}` at the start of a line, or a one-line item, ends it.
            in_item = if starts_item {
                line.starts_with("#[") || line.ends_with('{')
            } else {
                !line.starts_with('}')
            };
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    format!("{top}\nfn main() -> Result<(), Box<dyn std::error::Error>> {{\n{body}Ok(())\n}}\n")
}

#[test]
fn the_readme_and_the_async_guide_build_in_a_fresh_crate() {
    if std::env::var_os("DELAYED_OUTSIDE_USER_TEST").is_none() {
        eprintln!(
            "skipped: set DELAYED_OUTSIDE_USER_TEST=1 to build the README's example in a \
             fresh crate (a minute or two; .ci/run does)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let crate_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outside-user");
    let _ = std::fs::remove_dir_all(crate_dir.join("src"));
    std::fs::create_dir_all(crate_dir.join("src/bin")).unwrap();
    // What the README's "Using it in your crate" says to add: `delayed`,
    // and tokio with `time` for async tasks that call tokio.
    let readme = read("README.md");
    for said in [
        "cargo add delayed",
        "tokio = { version = \"1\", features = [\"time\"] }",
    ] {
        assert!(readme.contains(said), "the README no longer says `{said}`");
    }
    let manifest = format!(
        "[package]\nname = \"outside-user\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\ndelayed = {{ path = {root:?} }}\n\
         tokio = {{ version = \"1\", features = [\"time\"] }}\n\n[workspace]\n",
        root = root.display().to_string()
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        crate_dir.join("src/bin/readme.rs"),
        program(&read("README.md")),
    )
    .unwrap();
    let guide = read("docs/src/best-practices.md");
    let async_section = &guide[guide.find("## Prefer `async fn` for I/O").unwrap()..];
    std::fs::write(
        crate_dir.join("src/bin/guide_async.rs"),
        program(async_section),
    )
    .unwrap();
    for bin in ["readme", "guide_async"] {
        let output = Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--bin", bin])
            .current_dir(&crate_dir)
            // Shared between runs, so that only the first builds tokio.
            .env("CARGO_TARGET_DIR", crate_dir.join("target"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{bin}` failed in a fresh crate:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
