//! Which attributes of a `#[delayed]` function go where.
//!
//! - Attributes that describe the function as callers see it stay on the
//!   lazy function: docs, `cfg`, `must_use`, `inline`, `cold`,
//!   `deprecated`, `track_caller`, lint levels and tool attributes
//!   (`rustfmt::`, `clippy::`, `diagnostic::`). Since the body is expanded
//!   inside the lazy function, lint levels cover the body too.
//! - Attribute macros (`#[tracing::instrument]`, …) wrap the body that
//!   runs as the task, wherever they are written: below `#[delayed]` they
//!   are moved above it, so that the compiler expands them first, on the
//!   function as written, and `#[delayed]` then makes their result lazy.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, ItemFn};

use crate::args::Args;

/// Attributes the compiler itself understands, kept on the lazy function.
const BUILTIN: [&str; 15] = [
    "doc",
    "cfg",
    "cfg_attr",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "must_use",
    "inline",
    "cold",
    "deprecated",
    "track_caller",
    "test",
    "automatically_derived",
];

/// Tool attributes, also kept: `#[rustfmt::skip]`, `#[clippy::…]`.
const TOOLS: [&str; 3] = ["rustfmt", "clippy", "diagnostic"];

fn is_builtin(attr: &Attribute) -> bool {
    let path = attr.path();
    match path.segments.first() {
        Some(first) if path.segments.len() > 1 => TOOLS.iter().any(|tool| first.ident == tool),
        Some(first) => BUILTIN.iter().any(|builtin| first.ident == builtin),
        None => true,
    }
}

/// When attribute macros sit below `#[delayed]`, the function again with
/// them moved above it; `None` when there are none.
pub(crate) fn body_macros_first(args: &Args, function: &ItemFn) -> Option<TokenStream> {
    let (kept, moved): (Vec<&Attribute>, Vec<&Attribute>) =
        function.attrs.iter().partition(|attr| is_builtin(attr));
    if moved.is_empty() {
        return None;
    }
    let delayed = args.to_attribute();
    let ItemFn {
        vis, sig, block, ..
    } = function;
    Some(quote! {
        #(#moved)*
        #delayed
        #(#kept)*
        #vis #sig #block
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reordered(item: &str) -> Option<String> {
        let function: ItemFn = syn::parse_str(item).unwrap();
        body_macros_first(&Args::default(), &function).map(|tokens| tokens.to_string())
    }

    #[test]
    fn builtin_attributes_stay() {
        assert_eq!(
            reordered(
                "/// Doc.\n#[inline] #[must_use] #[allow(unused)] #[rustfmt::skip] #[cfg(all())] fn f() {}"
            ),
            None
        );
    }

    #[test]
    fn attribute_macros_move_above_the_attribute() {
        let tokens =
            reordered("#[inline] #[tracing::instrument(level = \"info\")] fn f() {}").unwrap();
        let instrument = tokens.find("tracing :: instrument").unwrap();
        let delayed = tokens.find(":: delayed :: delayed").unwrap();
        let inline = tokens.find("inline").unwrap();
        assert!(instrument < delayed && delayed < inline, "{tokens}");
    }
}
