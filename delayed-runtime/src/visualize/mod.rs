//! Pictures of task graphs: Dask's `visualize()`, with no Graphviz needed.
//!
//! [`visualize`] snapshots the graph behind anything computable into a
//! [`Visualization`], which writes Graphviz DOT text, an SVG drawn with our
//! own layered layout, or a PNG rendered from that SVG in pure Rust.

mod dot;
mod drawing;
mod layout;
#[cfg(feature = "png")]
mod png;
mod svg;
pub(crate) mod timeline;

use std::path::Path;

use crate::computable::{Computable, graph_of};
use crate::error::Error;
use crate::graph::{Graph, Roots};
use crate::handle::Delayed;
use crate::value::TaskValue;
use drawing::Drawing;
#[cfg(feature = "dashboard")]
pub(crate) use drawing::{Kinds, colour};

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
    Visualization::of(graph_of(computable))
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
        // Any handle: a `Delayed<T>` is `Computable` only for a `Clone` `T`.
        let mut roots = Roots::default();
        roots.push(self);
        Visualization::of(Graph::collect(&roots.0))
    }
}

impl Visualization {
    pub(crate) fn of(graph: Graph) -> Visualization {
        Visualization {
            graph,
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
