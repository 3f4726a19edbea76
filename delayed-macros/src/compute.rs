//! `compute!(a, b, …)`: borrows each argument and computes them together.
//!
//! A proc macro rather than `macro_rules!` so that a mistake in one argument
//! (`compute!(handle, 2)`) is reported on that argument, not on the whole
//! invocation.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Token};

use crate::expand::respan;

/// Expands `krate; a, b, …`: the facade's `compute!` passes its own
/// `$crate` before the `;`, so that a renamed dependency works unchanged.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let (krate, input) = split_crate(input);
    let args = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(input)?;
    let borrowed: Vec<TokenStream> = args
        .iter()
        // Parenthesised: `compute!(&a + &b)` must borrow the sum, not `&a`.
        .map(|arg| {
            let krate = respan(&krate, arg.span());
            quote_spanned!(arg.span()=> #krate::__private::computable(&(#arg)))
        })
        .collect();
    match (args.first(), borrowed.as_slice()) {
        (Some(arg), [_]) => {
            // All on the argument's span: if it is not computable, the
            // bound and the output type fail there, and rustc reports the
            // identical errors once.
            let krate = respan(&krate, arg.span());
            Ok(quote_spanned!(arg.span()=> #krate::compute(&(#arg))))
        }
        (_, []) => Err(syn::Error::new(
            Span::call_site(),
            "`compute!` needs at least one handle to compute\nhelp: write `compute!(x)` for one handle or collection, or `compute!(a, b)` for several",
        )),
        (_, several) => Ok(quote!(#krate::compute(&(#(#several,)*)))),
    }
}

/// The crate path before the first top-level `;`, and the rest; without a
/// `;`, `::delayed` and the whole input.
pub(crate) fn split_crate(input: TokenStream) -> (TokenStream, TokenStream) {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let semicolon = tokens
        .iter()
        .position(|token| matches!(token, TokenTree::Punct(p) if p.as_char() == ';'));
    match semicolon {
        Some(at) => (
            tokens[..at].iter().cloned().collect(),
            tokens[at + 1..].iter().cloned().collect(),
        ),
        None => (quote!(::delayed), tokens.into_iter().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn expanded(input: &str) -> String {
        expand(input.parse().unwrap()).unwrap().to_string()
    }

    #[test]
    fn one_argument_is_computed_directly() {
        let code = expanded("l");
        assert!(code.starts_with(":: delayed :: compute (& (l))"), "{code}");
    }

    #[test]
    fn several_arguments_become_a_tuple_of_references() {
        let code = expanded("a, f(b),");
        assert!(code.contains("(& (a))"), "{code}");
        assert!(code.contains("(& (f (b)))"), "{code}");
        assert!(code.starts_with(":: delayed :: compute (& ("), "{code}");
    }

    #[test]
    fn the_crate_path_comes_before_a_semicolon() {
        let code = expanded("dl; a, b");
        assert!(
            code.starts_with("dl :: compute (& (dl :: __private"),
            "{code}"
        );
    }

    #[test]
    fn expressions_are_borrowed_whole() {
        assert!(expanded("&a + &b").contains("(& (& a + & b))"));
    }

    #[test]
    fn nothing_to_compute_is_an_error() {
        let error = expand(quote::quote!()).unwrap_err().to_string();
        assert!(
            error.starts_with("`compute!` needs at least one handle"),
            "{error}"
        );
    }
}
