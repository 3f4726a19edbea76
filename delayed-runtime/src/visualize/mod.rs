//! Pictures of task graphs: Dask's `visualize()`, with no Graphviz needed.
//!
//! [`visualize`] snapshots the graph behind anything computable into a
//! [`Visualization`], which writes Graphviz DOT text, an SVG drawn with our
//! own layered layout, or a PNG rendered from that SVG in pure Rust.

mod dot;
mod layout;
#[cfg(feature = "png")]
mod png;
mod svg;
pub(crate) mod timeline;

use std::collections::HashMap;
use std::path::Path;

use crate::computable::Computable;
use crate::error::Error;
use crate::graph::Graph;
use crate::graph::Roots;
use crate::handle::Delayed;
use crate::node::Node;
use crate::value::TaskValue;

/// Above this many tasks, a picture groups tasks by function instead of
/// drawing each one; see [`Visualization::max_nodes`].
///
/// ```
/// let many: Vec<_> = (0..=delayed::DEFAULT_MAX_NODES as i64).map(delayed::value).collect();
/// let dot = delayed::visualize(&many).to_dot();
/// assert!(dot.contains("value × 501"));
/// ```
pub const DEFAULT_MAX_NODES: usize = 500;

/// Draws the task graph behind `computable`: Dask's `visualize(*l)`.
///
/// Nothing runs: this only walks the graph. Each task is a box labelled
/// with its function's name (its key shows when hovering over it in an SVG
/// viewer), with an arrow from each input to each task that takes it.
/// The outputs have a bold border. Where a collection of handles is passed
/// to a task (`total(vec![a, b])`), the values are gathered at a small dot,
/// a junction rather than a task of its own. With the `distributed`
/// feature, a task that a client with workers sends to them has a dashed
/// border, and its tooltip says "on a worker"; the others run in the
/// client.
///
/// ```
/// use delayed::delayed;
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
/// #[delayed]
/// fn add(x: i64, y: i64) -> i64 { x + y }
///
/// let total = add(inc(1), inc(2));
/// let picture = delayed::visualize(&total);
/// assert!(picture.to_dot().contains("label=\"add\""));
/// let svg = picture.to_svg();
/// assert!(svg.starts_with("<svg"));
/// # let dir = std::env::temp_dir();
/// picture.save(dir.join("total.svg"))?; // also .dot, and .png
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// Graphs of more than [`DEFAULT_MAX_NODES`] tasks are drawn as a summary:
/// one box per function with the number of its tasks, so that a million
/// tasks still make a readable picture (in time linear in the graph).
pub fn visualize<C: Computable + ?Sized>(computable: &C) -> Visualization {
    let mut roots = Roots::default();
    computable.add_roots(&mut roots);
    Visualization::of(roots)
}

/// A task graph ready to be drawn; made by [`visualize`].
///
/// It holds the graph itself: every task behind the handles, with the
/// plain values and captured arguments in it, so those stay alive as long
/// as the `Visualization` does (as they do for the handles). Nothing is
/// computed, so no task's result is ever held.
///
/// ```
/// let picture: delayed::Visualization = delayed::visualize(&delayed::value(1));
/// assert!(picture.to_svg().contains("value"));
/// ```
pub struct Visualization {
    graph: Graph,
    max_nodes: usize,
    left_to_right: bool,
}

impl<T: TaskValue> Delayed<T> {
    /// Draws the task graph behind this handle; see [`visualize`](crate::visualize).
    ///
    /// ```
    /// let picture = delayed::value(1).visualize();
    /// assert!(picture.to_dot().contains("value"));
    /// ```
    pub fn visualize(&self) -> Visualization {
        let mut roots = Roots::default();
        roots.push(self);
        Visualization::of(roots)
    }
}

impl Visualization {
    pub(crate) fn of(roots: Roots<'_>) -> Visualization {
        Visualization {
            graph: Graph::collect(&roots.0),
            max_nodes: DEFAULT_MAX_NODES,
            left_to_right: false,
        }
    }

    /// Draws graphs of more than `max_nodes` tasks as a summary grouped by
    /// function (the default is [`DEFAULT_MAX_NODES`]).
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// let l: Vec<_> = (0..10).map(inc).collect();
    /// let summary = delayed::visualize(&l).max_nodes(5).to_dot();
    /// assert!(summary.contains("inc × 10\""));
    /// ```
    pub fn max_nodes(mut self, max_nodes: usize) -> Visualization {
        self.max_nodes = max_nodes;
        self
    }

    /// Lays the graph out left to right, inputs to the left of the tasks
    /// that take them (Graphviz's `rankdir=LR`), instead of top to bottom:
    /// for graphs deeper than they are wide, and for wide ones on a
    /// screen. Either way a layer too long for a page wraps.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// let chain = inc(inc(inc(1)));
    /// assert!(delayed::visualize(&chain).left_to_right().to_dot().contains("rankdir=LR"));
    /// ```
    pub fn left_to_right(mut self) -> Visualization {
        self.left_to_right = true;
        self
    }

    /// The graph as Graphviz DOT text, laid out top to bottom (or left to
    /// right).
    ///
    /// ```
    /// let dot = delayed::visualize(&delayed::value(1)).to_dot();
    /// assert!(dot.starts_with("digraph"));
    /// ```
    pub fn to_dot(&self) -> String {
        dot::write(&self.drawing())
    }

    /// The graph as an SVG picture.
    ///
    /// ```
    /// let svg = delayed::visualize(&delayed::value(1)).to_svg();
    /// assert!(svg.contains("<title>value-"));
    /// ```
    pub fn to_svg(&self) -> String {
        svg::write(&self.drawing())
    }

    /// The graph as a PNG image, rendered from the SVG in pure Rust (with
    /// an embedded font, so it looks the same on every machine).
    ///
    /// ```
    /// let png = delayed::visualize(&delayed::value(1)).to_png()?;
    /// assert_eq!(&png[1..4], b"PNG");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    #[cfg(feature = "png")]
    pub fn to_png(&self) -> Result<Vec<u8>, Error> {
        render_png(&self.to_svg())
    }

    /// Writes the picture to `path`, in the format its extension names:
    /// `.dot`, `.svg` or `.png`.
    ///
    /// # Errors
    ///
    /// If the extension is none of those, or the file cannot be written.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// let dir = std::env::temp_dir();
    /// delayed::visualize(&inc(1)).save(dir.join("inc.dot"))?;
    /// assert!(delayed::visualize(&inc(1)).save(dir.join("inc.gif")).is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        save_as(
            path.as_ref(),
            "`.dot`, `.svg` or `.png`",
            |extension| match extension {
                "dot" | "gv" => Some(Ok(self.to_dot().into_bytes())),
                "svg" => Some(Ok(self.to_svg().into_bytes())),
                #[cfg(feature = "png")]
                "png" => Some(self.to_png()),
                _ => None,
            },
        )
    }

    /// What to draw: every task, or one box per function.
    fn drawing(&self) -> Drawing {
        let mut drawing = Drawing::of(&self.graph, self.max_nodes, None);
        drawing.left_to_right = self.left_to_right;
        drawing
    }
}

/// The SVG picture of a compute's graph, as [`visualize`] draws it: each
/// task with its node number (`data-task`), or the summary above
/// [`DEFAULT_MAX_NODES`].
#[cfg(feature = "dashboard")]
pub(crate) fn svg_of(graph: &Graph, kinds: &Kinds) -> String {
    svg::write(&Drawing::of(graph, DEFAULT_MAX_NODES, Some(kinds)))
}

/// Writes `path` in the format its extension names: `render` gives the
/// bytes for an extension it knows (lowercase), `None` for others.
pub(crate) fn save_as(
    path: &Path,
    formats: &'static str,
    render: impl FnOnce(&str) -> Option<Result<Vec<u8>, Error>>,
) -> Result<(), Error> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = extension
        .as_deref()
        .and_then(render)
        .ok_or_else(|| Error::unsupported_format(path, formats))??;
    std::fs::write(path, bytes).map_err(|source| Error::io(path, source))
}

/// Renders one of our SVG pictures as PNG.
#[cfg(feature = "png")]
pub(crate) fn render_png(svg: &str) -> Result<Vec<u8>, Error> {
    png::render(svg)
}

/// The boxes and arrows of a picture, before layout.
struct Drawing {
    boxes: Vec<DrawnBox>,
    /// `(from, to, count)`, with `from < to`.
    arrows: Vec<(usize, usize, usize)>,
    summary: bool,
    /// Layers run left to right (Graphviz's `rankdir=LR`) rather than top
    /// to bottom.
    left_to_right: bool,
}

struct DrawnBox {
    label: String,
    tooltip: String,
    /// The function name, which picks the colour.
    name: &'static str,
    value: bool,
    output: bool,
    /// A junction that only gathers values into a collection: drawn as a
    /// dot, since the user never wrote it as a task.
    junction: bool,
    /// Sent to workers by a client that has them: a dashed border.
    on_worker: bool,
}

impl DrawnBox {
    /// Half the width of the shape, where arrows meet it left to right.
    fn half_width(&self, width: f64) -> f64 {
        if self.junction {
            JUNCTION_RADIUS
        } else {
            width / 2.0
        }
    }

    /// Half the height of the shape, where arrows meet it.
    fn half_height(&self) -> f64 {
        if self.junction {
            JUNCTION_RADIUS
        } else {
            layout::NODE_HEIGHT / 2.0
        }
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

/// Each node's kind, for summaries: its function, whether it is a plain
/// value or a junction, and whether it runs on a worker, numbered in order
/// of first appearance.
pub(crate) struct Kinds {
    /// Per node, an index into `table`.
    pub(crate) of: Vec<u32>,
    /// `(function, value, junction, on a worker)`.
    pub(crate) table: Vec<(&'static str, bool, bool, bool)>,
}

impl Kinds {
    /// One pass over the nodes; neighbours mostly share a kind, which is
    /// then looked up once.
    pub(crate) fn of(graph: &Graph) -> Kinds {
        type Kind = (&'static str, bool, bool, bool);
        let mut index: HashMap<Kind, u32> = HashMap::new();
        let mut table = Vec::new();
        let mut of = Vec::with_capacity(graph.len());
        let mut last: Option<(Kind, u32)> = None;
        for i in 0..graph.len() as u32 {
            let node = graph.node(i);
            let kind = (
                node.key.name(),
                node.is_value(),
                node.junction,
                on_worker(node),
            );
            let k = match last {
                Some((seen, k))
                    if std::ptr::eq(seen.0, kind.0)
                        && (seen.1, seen.2, seen.3) == (kind.1, kind.2, kind.3) =>
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
                let mut tooltip = node.key.to_string();
                if on_worker {
                    tooltip.push_str(ON_A_WORKER);
                }
                DrawnBox {
                    label: node.key.name().to_owned(),
                    tooltip,
                    name: node.key.name(),
                    value: node.is_value(),
                    output: outputs[i as usize],
                    junction: node.junction,
                    on_worker,
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
    fn of(graph: &Graph, max_nodes: usize, kinds: Option<&Kinds>) -> Drawing {
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
                    junction: node.junction,
                    on_worker,
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

    fn layout(&self) -> layout::Layout {
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
        if i > 0 && (digits.len() - i) % 3 == 0 {
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
