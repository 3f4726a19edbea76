//! Pictures in the API documentation: the guide's chapters are included
//! with `#[doc = include_str!("…md")]`, and their `![…](images/x.png)`
//! links are relative to the mdBook, which rustdoc's pages are not beside.
//! Under rustdoc, `#[__embed_images]` on the guide's module replaces each
//! such link with the picture itself, as a `data:` URL, and keeps the files
//! tracked (`include_bytes!`) so that editing one rebuilds the docs.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Expr, ExprMacro, Item, ItemMod, LitStr, Meta};

pub(crate) fn embed(module: ItemMod) -> syn::Result<TokenStream> {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| syn::Error::new(Span::call_site(), "CARGO_MANIFEST_DIR is not set"))?;
    // `include_str!` paths are relative to the file that names them: the
    // crate's `src/lib.rs`.
    let base = root.join("src");
    let mut module = module;
    let Some((_, items)) = module.content.as_mut() else {
        return Ok(quote!(#module));
    };
    for item in items.iter_mut() {
        let Item::Mod(chapter) = item else { continue };
        let mut tracked = Vec::new();
        for attr in &mut chapter.attrs {
            let Meta::NameValue(doc) = &mut attr.meta else {
                continue;
            };
            if !doc.path.is_ident("doc") {
                continue;
            }
            let Expr::Macro(ExprMacro { mac, .. }) = &doc.value else {
                continue;
            };
            if !mac.path.is_ident("include_str") {
                continue;
            }
            let relative: LitStr = mac.parse_body()?;
            let file = base.join(relative.value());
            let text = std::fs::read_to_string(&file).map_err(|e| {
                syn::Error::new(
                    relative.span(),
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            let dir = Path::new(&relative.value())
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let (text, pictures) = inline_pictures(&text, &base.join(&dir), relative.span())?;
            tracked.push(relative.value());
            tracked.extend(
                pictures
                    .iter()
                    .map(|p| dir.join(p).to_string_lossy().into_owned()),
            );
            doc.value = syn::parse_quote!(#text);
        }
        if let Some((_, content)) = chapter.content.as_mut() {
            for path in tracked {
                content.push(syn::parse_quote! {
                    const _: &[u8] = include_bytes!(#path);
                });
            }
        }
    }
    Ok(quote!(#module))
}

/// Replaces `](images/x.png)` (and `.svg`) with the picture as a `data:`
/// URL; returns the text and the pictures' paths, relative to `dir`.
fn inline_pictures(text: &str, dir: &Path, span: Span) -> syn::Result<(String, Vec<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut pictures = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](images/") {
        let (before, link) = rest.split_at(at + 2);
        out.push_str(before);
        let end = link.find(')').unwrap_or(link.len());
        let path = &link[..end];
        let mime = match Path::new(path).extension().and_then(|e| e.to_str()) {
            Some("png") => "image/png",
            Some("svg") => "image/svg+xml",
            _ => {
                out.push_str(path);
                rest = &link[end..];
                continue;
            }
        };
        let file = dir.join(path);
        let bytes = std::fs::read(&file).map_err(|e| {
            syn::Error::new(
                span,
                format!("cannot read the picture {}: {e}", file.display()),
            )
        })?;
        out.push_str("data:");
        out.push_str(mime);
        out.push_str(";base64,");
        out.push_str(&base64(&bytes));
        pictures.push(path.to_owned());
        rest = &link[end..];
    }
    out.push_str(rest);
    Ok((out, pictures))
}

/// Standard base64, with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn picture_links_become_data_urls_and_other_links_stay() {
        let dir = std::env::temp_dir().join(format!("delayed-doc-images-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("images")).unwrap();
        std::fs::write(dir.join("images/a.png"), b"foo").unwrap();
        let text = "See ![A](images/a.png) and [the guide](guide.md), ![B](images/b.gif).";
        let (out, pictures) = inline_pictures(text, &dir, Span::call_site()).unwrap();
        assert_eq!(
            out,
            "See ![A](data:image/png;base64,Zm9v) and [the guide](guide.md), ![B](images/b.gif)."
        );
        assert_eq!(pictures, ["images/a.png"]);
        let missing = inline_pictures("![C](images/c.png)", &dir, Span::call_site());
        assert!(missing.unwrap_err().to_string().contains("images/c.png"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
