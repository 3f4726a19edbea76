//! Graphviz DOT text.

use std::fmt::Write;

use super::drawing::{Drawing, colour, escape, thousands};

pub(super) fn write(drawing: &Drawing) -> String {
    let mut out = String::from("digraph delayed {\n");
    out.push_str(if drawing.left_to_right {
        "  rankdir=LR;\n"
    } else {
        "  rankdir=TB;\n"
    });
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\"];\n");
    for (i, b) in drawing.boxes.iter().enumerate() {
        if b.junction {
            let _ = writeln!(
                out,
                "  n{i} [label=\"\", tooltip=\"{}\", shape=point, width=0.12];",
                escape(&b.tooltip),
            );
            continue;
        }
        let shape = match (b.value, b.on_worker, b.cached) {
            (true, _, _) => ", shape=box, style=filled",
            (false, true, _) => ", style=\"rounded,filled,dashed\"",
            (false, false, true) => ", style=\"rounded,filled,dotted\"",
            (false, false, false) => "",
        };
        let border = if b.output { ", penwidth=2.5" } else { "" };
        let fill = if b.value { "#eeeeee" } else { colour(b.name) };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "  n{i} [label=\"{}\", tooltip=\"{}\", fillcolor=\"{fill}\"{shape}{border}];",
            escape(&b.label),
            escape(&b.tooltip),
        );
    }
    for &(from, to, count) in &drawing.arrows {
        if drawing.summary || count > 1 {
            let _ = writeln!(out, "  n{from} -> n{to} [label=\"{}\"];", thousands(count));
        } else {
            let _ = writeln!(out, "  n{from} -> n{to};");
        }
    }
    out.push_str("}\n");
    out
}
