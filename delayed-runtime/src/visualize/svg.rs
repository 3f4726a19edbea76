//! SVG pictures, laid out by [`super::layout`].

use std::fmt::Write;

use super::drawing::{Drawing, colour, escape, thousands};
use super::layout::NODE_HEIGHT;

pub(super) fn write(drawing: &Drawing) -> String {
    let layout = drawing.layout();
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="#666"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
"##,
        w = layout.width,
        h = layout.height,
    );
    out.push_str("<g class=\"edges\">\n");
    let half = NODE_HEIGHT / 2.0;
    for &(from, to, count) in &drawing.arrows {
        let (x1, y1) = layout.centres[from];
        let (x2, y2) = layout.centres[to];
        // From the input's side that faces the task to the task's side
        // that faces the input: bottom to top, or right to left (or the
        // other way, for an arrow the summary had to turn around).
        let (start, end, middle) = if drawing.left_to_right {
            let (h1, h2) = (
                drawing.boxes[from].half_width(layout.widths[from]),
                drawing.boxes[to].half_width(layout.widths[to]),
            );
            let (start, end) = if x1 <= x2 {
                ((x1 + h1, y1), (x2 - h2, y2))
            } else {
                ((x1 - h1, y1), (x2 + h2, y2))
            };
            (start, end, (start.0 + end.0) / 2.0)
        } else {
            let (h1, h2) = (
                drawing.boxes[from].half_height(),
                drawing.boxes[to].half_height(),
            );
            let (start, end) = if y1 <= y2 {
                ((x1, y1 + h1), (x2, y2 - h2))
            } else {
                ((x1, y1 - h1), (x2, y2 + h2))
            };
            (start, end, (start.1 + end.1) / 2.0)
        };
        let curve = if drawing.left_to_right {
            format!(
                "M {:.1} {:.1} C {middle:.1} {:.1}, {middle:.1} {:.1}, {:.1} {:.1}",
                start.0, start.1, start.1, end.1, end.0, end.1
            )
        } else {
            format!(
                "M {:.1} {:.1} C {:.1} {middle:.1}, {:.1} {middle:.1}, {:.1} {:.1}",
                start.0, start.1, start.0, end.0, end.0, end.1
            )
        };
        let _ = writeln!(
            out,
            r##"<path class="edge" d="{curve}" stroke="#888" stroke-width="1.2" fill="none" marker-end="url(#arrow)"/>"##,
        );
        let (label_x, label_y) = ((start.0 + end.0) / 2.0 + 4.0, (start.1 + end.1) / 2.0);
        if drawing.summary || count > 1 {
            let _ = writeln!(
                out,
                r##"<text class="edge-label" x="{label_x:.1}" y="{label_y:.1}" font-size="11" fill="#555">{}</text>"##,
                thousands(count),
            );
        }
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for (i, b) in drawing.boxes.iter().enumerate() {
        let (x, y) = layout.centres[i];
        // Each task's node number, for pages that colour it by state.
        let task = if drawing.summary {
            String::new()
        } else {
            format!(r#" data-task="{i}""#)
        };
        if b.junction {
            let _ = writeln!(
                out,
                r##"<g class="junction"{task}><title>{}</title><circle cx="{x:.1}" cy="{y:.1}" r="{}" fill="#666"/></g>"##,
                escape(&b.tooltip),
                b.half_height(),
            );
            continue;
        }
        let width = layout.widths[i];
        let (fill, radius) = if b.value {
            ("#eeeeee", 2.0)
        } else {
            (colour(b.name), 10.0)
        };
        let stroke = if b.output { 2.5 } else { 1.0 };
        let dashed = match (b.on_worker, b.cached) {
            (true, _) => r#" stroke-dasharray="5 3""#,
            (false, true) => r#" stroke-dasharray="2 2" fill-opacity="0.4""#,
            (false, false) => "",
        };
        let class = if b.cached { "node cached" } else { "node" };
        let _ = writeln!(
            out,
            r##"<g class="{class}"{task}><title>{}</title><rect x="{:.1}" y="{:.1}" width="{width:.1}" height="{NODE_HEIGHT:.1}" rx="{radius}" fill="{fill}" stroke="#333" stroke-width="{stroke}"{dashed}/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
            escape(&b.tooltip),
            x - width / 2.0,
            y - half,
            y + 4.5,
            escape(&b.label),
        );
    }
    out.push_str("</g>\n</svg>\n");
    out
}
