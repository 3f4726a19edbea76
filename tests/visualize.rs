//! Pictures of task graphs: DOT checked structurally, SVG parsed, PNG
//! decoded, summaries for large graphs.

mod common;

use delayed::{Delayed, delayed};

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn dec(x: i64) -> i64 {
    x - 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

/// A task's tooltip: its key, and with `distributed` a note that a client
/// with workers sends it to them, as it does these registered functions.
fn tooltip(key: &delayed::Key) -> String {
    if cfg!(feature = "distributed") {
        format!("{key} (on a worker)")
    } else {
        key.to_string()
    }
}

fn seed() -> Vec<Delayed<i64>> {
    (0..10).map(|i| add(inc(i), dec(i))).collect()
}

#[test]
fn dot_has_a_node_per_task_and_an_edge_per_input() {
    let l = seed();
    let dot = delayed::visualize(&l).to_dot();
    assert!(dot.starts_with("digraph"));
    let nodes: Vec<&str> = dot.lines().filter(|l| l.contains("[label=")).collect();
    assert_eq!(nodes.len(), 30);
    for name in ["inc", "dec", "add"] {
        let count = nodes
            .iter()
            .filter(|l| l.contains(&format!("label=\"{name}\"")))
            .count();
        assert_eq!(count, 10, "{name}");
    }
    assert_eq!(dot.lines().filter(|l| l.contains("->")).count(), 20);
    // Keys are the tooltips; the outputs have a bold border.
    assert!(dot.contains(&format!("tooltip=\"{}\"", tooltip(l[0].key()))));
    assert_eq!(dot.matches("penwidth").count(), 10);
}

#[test]
fn svg_parses_with_a_box_per_task_and_a_path_per_edge() {
    let l = seed();
    let svg = delayed::visualize(&l).to_svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let class = |node: &roxmltree::Node, name: &str| node.attribute("class") == Some(name);
    let boxes: Vec<_> = doc.descendants().filter(|n| class(n, "node")).collect();
    let edges = doc.descendants().filter(|n| class(n, "edge")).count();
    assert_eq!(boxes.len(), 30);
    assert_eq!(edges, 20);
    let titles: Vec<String> = boxes
        .iter()
        .filter_map(|b| b.children().find(|c| c.has_tag_name("title")))
        .filter_map(|t| t.text().map(str::to_owned))
        .collect();
    assert!(titles.contains(&tooltip(l[3].key())));
    // Dependencies are drawn above the tasks that take them.
    let top = |key: &str| {
        let b = boxes
            .iter()
            .find(|b| b.children().any(|c| c.text() == Some(key)))
            .unwrap();
        let rect = b.children().find(|c| c.has_tag_name("rect")).unwrap();
        rect.attribute("y").unwrap().parse::<f64>().unwrap()
    };
    let inc_key = titles.iter().find(|t| t.starts_with("inc-")).unwrap();
    let add_key = titles.iter().find(|t| t.starts_with("add-")).unwrap();
    assert!(top(inc_key) < top(add_key));
}

#[test]
fn a_hundred_task_picture_has_no_overlapping_boxes() {
    // Layers of different widths with shared inputs.
    let base: Vec<Delayed<i64>> = (0..40).map(inc).collect();
    let mid: Vec<Delayed<i64>> = (0..40)
        .map(|i| add(&base[i], &base[(i * 7) % 40]))
        .collect();
    let top: Vec<Delayed<i64>> = (0..20).map(|i| add(&mid[i], &mid[39 - i])).collect();
    let svg = delayed::visualize(&top).to_svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let rects: Vec<(f64, f64, f64)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("rx").is_some())
        .map(|r| {
            let number = |name| r.attribute(name).unwrap().parse::<f64>().unwrap();
            (number("x"), number("y"), number("width"))
        })
        .collect();
    assert_eq!(rects.len(), 100);
    for (i, a) in rects.iter().enumerate() {
        for b in &rects[i + 1..] {
            let same_row = (a.1 - b.1).abs() < 1.0;
            let apart = a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0;
            assert!(!same_row || apart, "{a:?} overlaps {b:?}");
        }
    }
}

// `.ci/run` runs this file with `--features png` too.
#[cfg(feature = "png")]
#[test]
fn png_decodes_to_the_svg_size() {
    let l = seed();
    let picture = delayed::visualize(&l);
    let png = picture.to_png().unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    let svg = picture.to_svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let size = |name| {
        doc.root_element()
            .attribute(name)
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!((width, height), (size("width"), size("height")));
    assert!(width > 500 && height > 100, "{width}×{height}");
}

#[test]
fn large_graphs_are_summarised_by_function() {
    let l: Vec<Delayed<i64>> = (0..1_000).map(|i| add(inc(i), dec(i))).collect();
    let dot = delayed::visualize(&l).to_dot();
    let nodes: Vec<&str> = dot
        .lines()
        .filter(|l| l.contains("[label=") && !l.contains("->"))
        .collect();
    assert_eq!(nodes.len(), 3, "{dot}");
    assert!(dot.contains("label=\"inc × 1,000\""));
    assert!(dot.contains("label=\"add × 1,000\""));
    assert_eq!(
        dot.lines()
            .filter(|l| l.contains("-> ") && l.contains("label=\"1,000\""))
            .count(),
        2
    );
    // The threshold can be raised.
    let full = delayed::visualize(&l).max_nodes(5_000).to_dot();
    assert_eq!(
        full.lines()
            .filter(|l| l.contains("[label=") && !l.contains("->"))
            .count(),
        3_000
    );
}

#[delayed]
fn combine(a: i64, b: i64) -> i64 {
    a + b
}

#[delayed]
fn total(parts: Vec<i64>) -> i64 {
    parts.iter().sum()
}

#[test]
fn a_summary_keeps_the_layers_of_a_reduction_apart_with_their_real_edges() {
    // 480 leaves, combined in pairs twice, then gathered into a total.
    let leaves: Vec<Delayed<i64>> = (0..480).map(inc).collect();
    let pairs = |level: &[Delayed<i64>]| -> Vec<Delayed<i64>> {
        level
            .chunks(2)
            .map(|p| combine(p[0].clone(), p[1].clone()))
            .collect()
    };
    let first = pairs(&leaves);
    let second = pairs(&first);
    let sum = total(second);
    let dot = delayed::visualize(&sum).to_dot();
    let node = |label: &str| {
        let line = dot
            .lines()
            .find(|l| l.contains(&format!("[label=\"{label}\"")))
            .unwrap_or_else(|| panic!("no box {label}: {dot}"));
        line.trim().split(' ').next().unwrap().to_owned()
    };
    let (inc, first, second, total) = (
        node("inc × 480"),
        node("combine × 240"),
        node("combine × 120"),
        node("total × 1"),
    );
    let junction = dot
        .lines()
        .find(|l| l.contains("shape=point"))
        .map(|l| l.trim().split(' ').next().unwrap().to_owned())
        .expect("the list is a junction");
    // Each edge is a real one, with its own count.
    for (from, to, count) in [
        (&inc, &first, "480"),
        (&first, &second, "240"),
        (&second, &junction, "120"),
        (&junction, &total, "1"),
    ] {
        let edge = format!("{from} -> {to} [label=\"{count}\"]");
        assert!(dot.contains(&edge), "no {edge}: {dot}");
    }
    assert_eq!(dot.matches(" -> ").count(), 4, "{dot}");
    // Only the total is an output.
    assert_eq!(dot.matches("penwidth=2.5").count(), 1, "{dot}");
    assert!(
        dot.lines()
            .any(|l| l.contains("total × 1") && l.contains("penwidth"))
    );
}

#[test]
fn a_million_link_chain_visualises_as_a_summary_on_a_small_stack() {
    let svg = common::within(300, || {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let mut tip = inc(0);
                for _ in 1..1_000_000 {
                    tip = inc(tip);
                }
                let svg = tip.visualize().to_svg();
                drop(tip);
                svg
            })
            .unwrap()
            .join()
            .unwrap()
    });
    assert!(svg.contains("inc × 1,000,000 (999,999 chained)"), "{svg}");
}

#[test]
fn save_picks_the_format_from_the_extension() {
    let dir = std::env::temp_dir().join(format!("delayed-visualize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let picture = delayed::visualize(&seed());
    for name in ["g.dot", "g.svg"] {
        picture.save(dir.join(name)).unwrap();
    }
    let read = |name| std::fs::read(dir.join(name)).unwrap();
    assert!(read("g.dot").starts_with(b"digraph"));
    assert!(read("g.svg").starts_with(b"<svg"));
    let png = picture.save(dir.join("g.png"));
    if cfg!(feature = "png") {
        png.unwrap();
        assert!(read("g.png").starts_with(b"\x89PNG"));
    } else {
        let err = png.unwrap_err().to_string();
        assert!(err.contains("(`.png` needs the `png` feature)"), "{err}");
    }

    let err = picture.save(dir.join("g.gif")).unwrap_err();
    assert!(
        err.to_string()
            .contains("name a `.dot`, `.svg` or `.png` file"),
        "{err}"
    );
    let err = delayed::diagnostics::Profiler::new()
        .save(dir.join("t.dot"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("name a `.svg`, `.json` or `.png` file"),
        "{err}"
    );
    let err = picture.save(dir.join("missing/g.svg")).unwrap_err();
    assert!(err.to_string().starts_with("could not write"), "{err}");
    let io = std::error::Error::source(&err).unwrap();
    assert!(io.downcast_ref::<std::io::Error>().is_some());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The `list` task a `Vec` argument makes used to be drawn as a task the
/// user never wrote.
#[test]
fn a_collection_argument_is_drawn_as_a_junction() {
    #[delayed]
    fn total(values: Vec<i64>) -> i64 {
        values.iter().sum()
    }
    let picture = delayed::visualize(&total(vec![inc(1), inc(2)]));
    let dot = picture.to_dot();
    assert!(!dot.contains("label=\"list\""), "{dot}");
    assert_eq!(dot.matches("shape=point").count(), 1, "{dot}");
    let svg = picture.to_svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let junctions: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("junction"))
        .collect();
    assert_eq!(junctions.len(), 1);
    let title = junctions[0].first_element_child().unwrap().text().unwrap();
    assert!(title.starts_with("list-"), "{title}");
    let boxes = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("node"))
        .count();
    assert_eq!(boxes, 3, "two inc and one total");
}

#[test]
fn a_task_s_priority_and_resources_show_in_its_box_and_tooltip() {
    let plain = inc(1);
    let urgent = dec(plain.clone())
        .with_priority(10)
        .with_resources([("gpu", 1)]);
    let dot = delayed::visualize(&urgent).to_dot();
    assert!(dot.contains("label=\"dec [priority 10, gpu=1]\""), "{dot}");
    assert!(
        dot.contains(&format!("{}; priority 10, gpu=1", urgent.key())),
        "{dot}"
    );
    // A task without annotations is drawn as before.
    assert!(dot.contains("label=\"inc\""), "{dot}");
    let svg = delayed::visualize(&urgent).to_svg();
    assert!(svg.contains("dec [priority 10, gpu=1]"), "{svg}");
}

#[test]
fn a_summary_draws_a_function_s_annotated_tasks_apart() {
    let tasks: Vec<Delayed<i64>> = (0..20)
        .map(|i| match i < 10 {
            true => inc(i),
            false => inc(i).with_priority(5),
        })
        .collect();
    let dot = delayed::visualize(&tasks).max_nodes(5).to_dot();
    assert!(dot.contains("label=\"inc × 10\""), "{dot}");
    assert!(dot.contains("label=\"inc × 10 [priority 5]\""), "{dot}");
}
