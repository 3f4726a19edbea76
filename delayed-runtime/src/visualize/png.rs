//! PNG pictures: the SVG rendered by `resvg`, a pure-Rust renderer, with
//! the DejaVu Sans font embedded so text looks the same on every machine,
//! fonts installed or not.

use resvg::{tiny_skia, usvg};

use crate::error::Error;

pub(crate) fn render(svg: &str) -> Result<Vec<u8>, Error> {
    let mut options = usvg::Options::default();
    options
        .fontdb_mut()
        .load_font_data(dejavu::sans::regular().to_vec());
    options.font_family = "DejaVu Sans".to_owned();
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| Error::render(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        Error::render(format!(
            "a {}×{} picture is too large",
            size.width(),
            size.height()
        ))
    })?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| Error::render(e.to_string()))
}
