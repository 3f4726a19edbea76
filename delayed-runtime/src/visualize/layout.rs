//! A layered ("Sugiyama") layout: dependencies above their dependents, one
//! row per layer, rows ordered to keep edges short.
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
const NODE_GAP: f64 = 18.0;
const MARGIN: f64 = 24.0;
const SWEEPS: usize = 6;

/// Lays out `widths.len()` nodes joined by `edges`, each `(from, to)` with
/// `from < to` (nodes are numbered dependencies first).
pub(crate) fn layout(widths: Vec<f64>, edges: &[(usize, usize)]) -> Layout {
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

    // Pixels: the first row packed, each later row placed under the mean
    // of its inputs, then pushed apart where boxes would overlap.
    let mut x = vec![0.0_f64; n];
    for (l, row) in rows.iter().enumerate() {
        let desired: Vec<f64> = row
            .iter()
            .scan(0.0, |packed, &node| {
                let here = *packed + widths[node] / 2.0;
                *packed += widths[node] + NODE_GAP;
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
            let gap = (widths[row[i - 1]] + widths[row[i]]) / 2.0 + NODE_GAP;
            placed[i] = placed[i].max(placed[i - 1] + gap);
        }
        // Pushing apart moved boxes right; move the row back by the mean shift.
        let shift =
            placed.iter().zip(&desired).map(|(p, d)| p - d).sum::<f64>() / row.len().max(1) as f64;
        for (i, &node) in row.iter().enumerate() {
            x[node] = placed[i] - shift;
        }
    }
    let left = (0..n)
        .map(|i| x[i] - widths[i] / 2.0)
        .fold(f64::INFINITY, f64::min);
    let right = (0..n)
        .map(|i| x[i] + widths[i] / 2.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let centres = (0..n)
        .map(|i| {
            let y = MARGIN + NODE_HEIGHT / 2.0 + layer[i] as f64 * (NODE_HEIGHT + ROW_GAP);
            (x[i] - left + MARGIN, y)
        })
        .collect();
    Layout {
        centres,
        widths,
        width: if n == 0 {
            2.0 * MARGIN
        } else {
            right - left + 2.0 * MARGIN
        },
        height: 2.0 * MARGIN
            + layers as f64 * NODE_HEIGHT
            + layers.saturating_sub(1) as f64 * ROW_GAP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_sit_above_their_dependents() {
        // 0 -> 2, 1 -> 2, 2 -> 3
        let l = layout(vec![50.0; 4], &[(0, 2), (1, 2), (2, 3)]);
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
        let l = layout(vec![40.0; 4], &[(0, 3), (1, 2)]);
        let x = |i: usize| l.centres[i].0;
        assert_eq!(x(0) < x(1), x(3) < x(2));
    }
}
