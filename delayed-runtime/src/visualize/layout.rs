//! A layered ("Sugiyama") layout: dependencies before their dependents
//! (above them, or left of them), one row per layer, rows ordered to keep
//! edges short, and rows too long for a page wrapped.
//!
//! Every step is a loop over nodes or edges (no recursion), and the work
//! is linear in the graph's size apart from sorting each row.

/// Where each node goes, in pixels, and the size of the whole drawing.
pub(crate) struct Layout {
    /// Centre of each node.
    pub(crate) centres: Vec<(f64, f64)>,
    pub(crate) widths: Vec<f64>,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

pub(crate) const NODE_HEIGHT: f64 = 34.0;
const ROW_GAP: f64 = 64.0;
/// Between the rows a wrapped layer is cut into.
const WRAP_GAP: f64 = 22.0;
const NODE_GAP: f64 = 18.0;
const MARGIN: f64 = 24.0;
const SWEEPS: usize = 6;
/// The longest a row of boxes may be, in pixels, before it wraps: about a
/// page's width top to bottom, a screen's height left to right.
const MAX_ROW: [f64; 2] = [1_600.0, 1_000.0];

/// Lays out `widths.len()` nodes joined by `edges`, each `(from, to)` with
/// `from < to` (nodes are numbered dependencies first).
pub(crate) fn layout(widths: Vec<f64>, edges: &[(usize, usize)], left_to_right: bool) -> Layout {
    let n = widths.len();
    // Layer: the longest path from a node without inputs.
    let mut layer = vec![0_usize; n];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(from, to) in edges {
        debug_assert!(from < to, "edges go from a dependency to a later node");
        incoming[to].push(from);
        outgoing[from].push(to);
    }
    for to in 0..n {
        layer[to] = incoming[to]
            .iter()
            .map(|&from| layer[from] + 1)
            .max()
            .unwrap_or(0);
    }
    let layers = layer.iter().max().map_or(0, |&l| l + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (node, &l) in layer.iter().enumerate() {
        rows[l].push(node);
    }

    // Order each row by the mean position of its neighbours in the rows
    // already placed, sweeping down and up a few times.
    let mut position = vec![0.0_f64; n];
    let place = |rows: &[Vec<usize>], position: &mut [f64]| {
        for row in rows {
            let len = row.len().max(1) as f64;
            for (i, &node) in row.iter().enumerate() {
                position[node] = (i as f64 + 0.5) / len;
            }
        }
    };
    place(&rows, &mut position);
    for sweep in 0..SWEEPS {
        let down = sweep % 2 == 0;
        let order: Vec<usize> = if down {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for l in order {
            let neighbours = if down { &incoming } else { &outgoing };
            let mut keyed: Vec<(f64, usize)> = rows[l]
                .iter()
                .map(|&node| {
                    let around = &neighbours[node];
                    let key = if around.is_empty() {
                        position[node]
                    } else {
                        around.iter().map(|&m| position[m]).sum::<f64>() / around.len() as f64
                    };
                    (key, node)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            rows[l] = keyed.into_iter().map(|(_, node)| node).collect();
            let len = rows[l].len() as f64;
            for (i, &node) in rows[l].iter().enumerate() {
                position[node] = (i as f64 + 0.5) / len;
            }
        }
    }

    // Pixels along each row (x top to bottom, y left to right): the
    // first row packed, each later row placed at the mean of its inputs,
    // then pushed apart where boxes would overlap.
    let along: Vec<f64> = if left_to_right {
        vec![NODE_HEIGHT; n]
    } else {
        widths.clone()
    };
    let across: Vec<f64> = if left_to_right {
        widths.clone()
    } else {
        vec![NODE_HEIGHT; n]
    };
    let max_row = MAX_ROW[usize::from(left_to_right)];
    let mut x = vec![0.0_f64; n];
    // Each layer cut into rows no longer than `max_row`.
    let mut wrapped: Vec<Vec<Vec<usize>>> = Vec::with_capacity(layers);
    for (l, row) in rows.iter().enumerate() {
        let packed_length: f64 = row.iter().map(|&node| along[node] + NODE_GAP).sum();
        if packed_length > max_row {
            // Too long for one row: cut it, in order, and pack each part.
            let mut parts: Vec<Vec<usize>> = vec![Vec::new()];
            let mut length = 0.0;
            for &node in row {
                let size = along[node] + NODE_GAP;
                if length + size > max_row && !parts.last().unwrap().is_empty() {
                    parts.push(Vec::new());
                    length = 0.0;
                }
                length += size;
                parts.last_mut().unwrap().push(node);
            }
            for part in &parts {
                let mut packed = 0.0;
                for &node in part {
                    x[node] = packed + along[node] / 2.0;
                    packed += along[node] + NODE_GAP;
                }
            }
            wrapped.push(parts);
            continue;
        }
        let desired: Vec<f64> = row
            .iter()
            .scan(0.0, |packed, &node| {
                let here = *packed + along[node] / 2.0;
                *packed += along[node] + NODE_GAP;
                let around = &incoming[node];
                Some(if l == 0 || around.is_empty() {
                    here
                } else {
                    around.iter().map(|&m| x[m]).sum::<f64>() / around.len() as f64
                })
            })
            .collect();
        let mut placed = desired.clone();
        for i in 1..row.len() {
            let gap = (along[row[i - 1]] + along[row[i]]) / 2.0 + NODE_GAP;
            placed[i] = placed[i].max(placed[i - 1] + gap);
        }
        // Pushing apart moved boxes on; move the row back by the mean shift.
        let shift =
            placed.iter().zip(&desired).map(|(p, d)| p - d).sum::<f64>() / row.len().max(1) as f64;
        for (i, &node) in row.iter().enumerate() {
            x[node] = placed[i] - shift;
        }
        wrapped.push(vec![row.clone()]);
    }
    let start = (0..n)
        .map(|i| x[i] - along[i] / 2.0)
        .fold(f64::INFINITY, f64::min);
    let end = (0..n)
        .map(|i| x[i] + along[i] / 2.0)
        .fold(f64::NEG_INFINITY, f64::max);
    // Across the rows: each row as thick as its thickest box.
    let mut y = vec![0.0_f64; n];
    let mut offset = MARGIN;
    for (l, parts) in wrapped.iter().enumerate() {
        if l > 0 {
            offset += ROW_GAP;
        }
        for (p, part) in parts.iter().enumerate() {
            if p > 0 {
                offset += WRAP_GAP;
            }
            let thickness = part.iter().map(|&node| across[node]).fold(0.0, f64::max);
            for &node in part {
                y[node] = offset + thickness / 2.0;
            }
            offset += thickness;
        }
    }
    let length = if n == 0 { 0.0 } else { end - start };
    let thickness = offset - MARGIN;
    let centres = (0..n)
        .map(|i| {
            let along = x[i] - start + MARGIN;
            if left_to_right {
                (y[i], along)
            } else {
                (along, y[i])
            }
        })
        .collect();
    let (width, height) = (length + 2.0 * MARGIN, thickness + 2.0 * MARGIN);
    let (width, height) = if left_to_right {
        (height, width)
    } else {
        (width, height)
    };
    Layout {
        centres,
        widths,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_sit_above_their_dependents() {
        // 0 -> 2, 1 -> 2, 2 -> 3
        let l = layout(vec![50.0; 4], &[(0, 2), (1, 2), (2, 3)], false);
        let y = |i: usize| l.centres[i].1;
        assert_eq!(y(0), y(1));
        assert!(y(0) < y(2) && y(2) < y(3));
        // Nodes in a row do not overlap.
        let (a, b) = (l.centres[0].0, l.centres[1].0);
        assert!((a - b).abs() >= 50.0 + NODE_GAP - 1e-9);
        assert!(l.width >= 2.0 * 50.0 && l.height > 3.0 * NODE_HEIGHT);
    }

    #[test]
    fn crossing_edges_are_untangled() {
        // Two chains given in crossed order: 0 -> 3, 1 -> 2.
        let l = layout(vec![40.0; 4], &[(0, 3), (1, 2)], false);
        let x = |i: usize| l.centres[i].0;
        assert_eq!(x(0) < x(1), x(3) < x(2));
    }

    #[test]
    fn a_wide_layer_wraps_into_rows_no_longer_than_a_page() {
        // 300 inputs of one task: one layer of 300 boxes 60 px wide.
        let edges: Vec<(usize, usize)> = (0..300).map(|i| (i, 300)).collect();
        let l = layout(vec![60.0; 301], &edges, false);
        assert!(l.width <= MAX_ROW[0] + 2.0 * MARGIN, "{}", l.width);
        let rows: std::collections::BTreeSet<u64> =
            (0..300).map(|i| l.centres[i].1 as u64).collect();
        assert_eq!(rows.len(), (300.0_f64 * 78.0 / MAX_ROW[0]).ceil() as usize);
        // The task is still below all of its inputs.
        assert!((0..300).all(|i| l.centres[i].1 < l.centres[300].1));
    }

    #[test]
    fn left_to_right_puts_dependencies_left_of_their_dependents() {
        let l = layout(vec![50.0, 80.0, 50.0], &[(0, 2), (1, 2)], true);
        let (x, y) = (|i: usize| l.centres[i].0, |i: usize| l.centres[i].1);
        assert_eq!(x(0), x(1)); // one layer, one column...
        assert!(y(0) != y(1)); // ...stacked
        assert!(x(2) > x(1) + 80.0 / 2.0);
        assert!(l.width > l.height, "{}×{}", l.width, l.height);
    }
}
