//! What every picture draws, before it is written as DOT or SVG: the
//! boxes and arrows of a graph (or of its summary), and the colours and
//! text helpers all the formats share.

use std::collections::HashMap;

use super::layout;
use crate::graph::Graph;
use crate::node::Node;

/// The boxes and arrows of a picture, before layout.
pub(crate) struct Drawing {
    pub(super) boxes: Vec<DrawnBox>,
    /// `(from, to, count)`, with `from < to`.
    pub(super) arrows: Vec<(usize, usize, usize)>,
    pub(super) summary: bool,
    /// Layers run left to right (Graphviz's `rankdir=LR`) rather than top
    /// to bottom.
    pub(super) left_to_right: bool,
}

pub(crate) struct DrawnBox {
    pub(super) label: String,
    pub(super) tooltip: String,
    /// The function name, which picks the colour.
    pub(super) name: &'static str,
    pub(super) value: bool,
    pub(super) output: bool,
    /// A junction that only gathers values into a collection: drawn as a
    /// dot, since the user never wrote it as a task.
    pub(super) junction: bool,
    /// Sent to workers by a client that has them: a dashed border.
    pub(super) on_worker: bool,
    /// Read from the cache in its last compute (feature `cache`): pale,
    /// with a dotted border.
    pub(super) cached: bool,
}

impl DrawnBox {
    /// Half the width of the shape, where arrows meet it left to right.
    pub(super) fn half_width(&self, width: f64) -> f64 {
        if self.junction {
            JUNCTION_RADIUS
        } else {
            width / 2.0
        }
    }

    /// Half the height of the shape, where arrows meet it.
    pub(super) fn half_height(&self) -> f64 {
        if self.junction {
            JUNCTION_RADIUS
        } else {
            layout::NODE_HEIGHT / 2.0
        }
    }
}

/// Adds a task's annotations to its box: its priority and the resources it
/// needs, in the label (`train [priority 10, gpu=1]`) and the tooltip.
fn annotate(node: &Node, label: &mut String, tooltip: &mut String) {
    if let Some(said) = node.annotations() {
        label.push_str(&format!(" [{said}]"));
        tooltip.push_str(&format!("; {said}"));
    }
}

/// Whether a client with workers sends `node` to them.
fn on_worker(node: &Node) -> bool {
    #[cfg(feature = "distributed")]
    return node.runs_on_workers();
    #[cfg(not(feature = "distributed"))]
    {
        let _ = node;
        false
    }
}

/// The tooltip of a task that runs on a worker says so.
const ON_A_WORKER: &str = " (on a worker)";

/// Whether `node`'s last compute read its value from the cache.
fn was_cached(node: &Node) -> bool {
    #[cfg(feature = "cache")]
    return node.cached().is_some_and(|cached| {
        crate::sync::lock(&cached.verdict)
            .as_ref()
            .is_some_and(crate::cache::Verdict::is_hit)
    });
    #[cfg(not(feature = "cache"))]
    {
        let _ = node;
        false
    }
}

/// The tooltip of a task read from the cache says so.
const FROM_THE_CACHE: &str = " (read from the cache)";

/// Each node's kind, for summaries: its function, whether it is a plain
/// value or a junction, whether it runs on a worker, and its annotations,
/// numbered in order of first appearance.
pub(crate) struct Kinds {
    /// Per node, an index into `table`.
    pub(crate) of: Vec<u32>,
    /// `(function, value, junction, on a worker, annotations)`.
    pub(crate) table: Vec<Kind>,
}

/// A kind of node, for summaries: `(function, value, junction, on a
/// worker, annotations)`, the last its priority and a hash of its
/// resources (0, 0 for none).
pub(crate) type Kind = (&'static str, bool, bool, bool, (i32, u64));

/// A task's annotations as a summary tells them apart: its priority, and
/// its resources hashed by value (each task holds its own copy).
fn annotation_of(node: &Node) -> (i32, u64) {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let resources = node.resources().map_or(0, |resources| {
        BuildHasherDefault::<DefaultHasher>::default().hash_one(&**resources)
    });
    (node.priority(), resources)
}

impl Kinds {
    /// One pass over the nodes; neighbours mostly share a kind, which is
    /// then looked up once.
    pub(crate) fn of(graph: &Graph) -> Kinds {
        // Read only when the graph has annotations.
        let annotated = graph.has_priorities() || graph.has_resources();
        let mut index: HashMap<Kind, u32> = HashMap::new();
        let mut table = Vec::new();
        let mut of = Vec::with_capacity(graph.len());
        let mut last: Option<(Kind, u32)> = None;
        for i in 0..graph.len() as u32 {
            let node = graph.node(i);
            let kind = (
                node.key.name(),
                node.is_value(),
                node.is_junction(),
                on_worker(node),
                if annotated {
                    annotation_of(node)
                } else {
                    (0, 0)
                },
            );
            let k = match last {
                Some((seen, k))
                    if std::ptr::eq(seen.0, kind.0)
                        && (seen.1, seen.2, seen.3, seen.4) == (kind.1, kind.2, kind.3, kind.4) =>
                {
                    k
                }
                _ => *index.entry(kind).or_insert_with(|| {
                    table.push(kind);
                    (table.len() - 1) as u32
                }),
            };
            last = Some((kind, k));
            of.push(k);
        }
        Kinds { of, table }
    }
}

/// In a summary, a function found at more depths than this is drawn as
/// one box rather than one per depth.
const MAX_DEPTHS: usize = 8;

/// The radius of a junction's dot.
const JUNCTION_RADIUS: f64 = 5.0;

impl Drawing {
    /// One box per task.
    fn full(graph: &Graph) -> Drawing {
        let mut outputs = vec![false; graph.len()];
        for &root in &graph.roots {
            outputs[root as usize] = true;
        }
        let boxes = (0..graph.len() as u32)
            .map(|i| {
                let node = graph.node(i);
                let on_worker = on_worker(node);
                let cached = was_cached(node);
                let mut tooltip = node.key.to_string();
                let mut label = node.key.name().to_owned();
                annotate(node, &mut label, &mut tooltip);
                if on_worker {
                    tooltip.push_str(ON_A_WORKER);
                }
                if cached {
                    tooltip.push_str(FROM_THE_CACHE);
                }
                DrawnBox {
                    label,
                    tooltip,
                    name: node.key.name(),
                    value: node.is_value(),
                    output: outputs[i as usize],
                    junction: node.is_junction(),
                    on_worker,
                    cached,
                }
            })
            .collect();
        let mut arrows: HashMap<(usize, usize), usize> = HashMap::new();
        for to in 0..graph.len() as u32 {
            for &from in graph.deps(to) {
                *arrows.entry((from as usize, to as usize)).or_insert(0) += 1;
            }
        }
        let mut arrows: Vec<_> = arrows.into_iter().map(|((f, t), c)| (f, t, c)).collect();
        arrows.sort_unstable();
        Drawing {
            boxes,
            arrows,
            summary: false,
            left_to_right: false,
        }
    }

    /// One box per function and depth (values and junctions apart from
    /// tasks), with counts, and the real edges between the boxes: the
    /// layers of a reduction tree stay apart. A function found at more
    /// than [`MAX_DEPTHS`] depths (a chain, a deep tree) is one box, with
    /// the edges inside it counted as chained.
    /// Every task of a graph of at most `max_nodes`, a summary of a
    /// larger one (from `kinds`, when the caller has them already).
    pub(super) fn of(graph: &Graph, max_nodes: usize, kinds: Option<&Kinds>) -> Drawing {
        match kinds {
            _ if graph.len() <= max_nodes => Drawing::full(graph),
            Some(kinds) => Drawing::summary_of(graph, kinds),
            None => Drawing::summary_of(graph, &Kinds::of(graph)),
        }
    }

    /// The summary, given each node's kind: the only pass over the nodes
    /// themselves, which the dashboard shares.
    fn summary_of(graph: &Graph, kinds: &Kinds) -> Drawing {
        let n = graph.len();
        // Each node's depth: the longest path to it from a node without
        // inputs (nodes are numbered dependencies first).
        let mut depth = vec![0_u32; n];
        for i in 0..n as u32 {
            depth[i as usize] = graph
                .deps(i)
                .iter()
                .map(|&d| depth[d as usize] + 1)
                .max()
                .unwrap_or(0);
        }
        // The depths each kind is found at, up to one more than shown.
        let mut depths: Vec<Vec<u32>> = vec![Vec::new(); kinds.table.len()];
        let mut last = (u32::MAX, u32::MAX);
        for (&k, &d) in kinds.of.iter().zip(&depth) {
            if (k, d) == last {
                continue;
            }
            last = (k, d);
            let seen = &mut depths[k as usize];
            if seen.len() <= MAX_DEPTHS && !seen.contains(&d) {
                seen.push(d);
            }
        }
        // Groups are keyed by kind and depth (`u32::MAX` for a kind found
        // at too many depths), numbered in the order their first node
        // appears, which is topological.
        let mut group_of: HashMap<(u32, u32), usize> = HashMap::new();
        let mut member = Vec::with_capacity(n);
        let mut counts: Vec<usize> = Vec::new();
        let mut firsts: Vec<u32> = Vec::new();
        // Neighbouring nodes mostly share a group and an arrow: each is
        // looked up in its table only when it differs from the last one.
        let mut last: Option<(u32, u32, usize)> = None;
        for (i, (&k, &at)) in kinds.of.iter().zip(&depth).enumerate() {
            let d = if depths[k as usize].len() > MAX_DEPTHS {
                u32::MAX
            } else {
                at
            };
            let group = match last {
                Some((seen, at, group)) if seen == k && at == d => group,
                _ => {
                    let next = group_of.len();
                    *group_of.entry((k, d)).or_insert(next)
                }
            };
            last = Some((k, d, group));
            if group == counts.len() {
                counts.push(0);
                firsts.push(i as u32);
            }
            counts[group] += 1;
            member.push(group);
        }
        let mut outputs = vec![0_usize; counts.len()];
        for &root in &graph.roots {
            outputs[member[root as usize]] += 1;
        }
        let mut inner = vec![0_usize; counts.len()];
        let mut arrows: HashMap<(usize, usize), usize> = HashMap::new();
        let mut pending: Option<((usize, usize), usize)> = None;
        for to in 0..graph.len() as u32 {
            for &from in graph.deps(to) {
                let (a, b) = (member[from as usize], member[to as usize]);
                if a == b {
                    inner[a] += 1;
                    continue;
                }
                // Between groups the layout needs a forward direction.
                let arrow = (a.min(b), a.max(b));
                match &mut pending {
                    Some((last, count)) if *last == arrow => *count += 1,
                    _ => {
                        if let Some((last, count)) = pending.replace((arrow, 1)) {
                            *arrows.entry(last).or_insert(0) += count;
                        }
                    }
                }
            }
        }
        if let Some((last, count)) = pending {
            *arrows.entry(last).or_insert(0) += count;
        }
        let boxes = (0..counts.len())
            .map(|g| {
                let node = graph.node(firsts[g]);
                let mut label = format!("{} × {}", node.key.name(), thousands(counts[g]));
                if inner[g] > 0 {
                    label.push_str(&format!(" ({} chained)", thousands(inner[g])));
                }
                let mut tooltip = format!("{} tasks like {}", thousands(counts[g]), node.key);
                if outputs[g] > 0 && outputs[g] < counts[g] {
                    tooltip.push_str(&format!(", {} of them outputs", thousands(outputs[g])));
                }
                annotate(node, &mut label, &mut tooltip);
                let on_worker = kinds.table[kinds.of[firsts[g] as usize] as usize].3;
                if on_worker {
                    tooltip.push_str(ON_A_WORKER);
                }
                DrawnBox {
                    tooltip,
                    label,
                    name: node.key.name(),
                    value: node.is_value(),
                    output: outputs[g] > 0,
                    junction: node.is_junction(),
                    on_worker,
                    // A summary's box stands for many tasks.
                    cached: false,
                }
            })
            .collect();
        let mut arrows: Vec<_> = arrows.into_iter().map(|((f, t), c)| (f, t, c)).collect();
        arrows.sort_unstable();
        Drawing {
            boxes,
            arrows,
            summary: true,
            left_to_right: false,
        }
    }

    pub(super) fn layout(&self) -> layout::Layout {
        let widths = self
            .boxes
            .iter()
            .map(|b| {
                if b.junction {
                    2.0 * JUNCTION_RADIUS
                } else {
                    text_width(&b.label) + 24.0
                }
            })
            .collect();
        let edges: Vec<(usize, usize)> = self.arrows.iter().map(|&(f, t, _)| (f, t)).collect();
        layout::layout(widths, &edges, self.left_to_right)
    }
}

/// `12345` as `12,345`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The width of `text` in the 13 px sans font the pictures use.
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 7.6
}

/// A pleasant colour per function name, the same in every picture.
pub(crate) fn colour(name: &str) -> &'static str {
    const PALETTE: [&str; 10] = [
        "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
        "#bc80bd", "#ccebc5",
    ];
    let hash = name
        .bytes()
        .fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    PALETTE[hash as usize % PALETTE.len()]
}

/// Escapes text for XML and DOT strings.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}
