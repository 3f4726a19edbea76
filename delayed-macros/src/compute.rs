//! `compute!(a, b, …)`: borrows each argument and computes them together.
//!
//! A proc macro rather than `macro_rules!` so that a mistake in one argument
//! (`compute!(handle, 2)`) is reported on that argument, not on the whole
//! invocation.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Token};

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let args = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(input)?;
    let borrowed: Vec<TokenStream> = args
        .iter()
        // Parenthesised: `compute!(&a + &b)` must borrow the sum, not `&a`.
        .map(|arg| quote_spanned!(arg.span()=> ::delayed::__private::computable(&(#arg))))
        .collect();
    match (args.first(), borrowed.as_slice()) {
        (Some(arg), [one]) => {
            // All on the argument's span: if it is not computable, both
            // the bound and the output type fail there, and rustc reports
            // the identical errors once.
            Ok(quote_spanned!(arg.span()=> ::delayed::compute(#one)))
        }
        (_, []) => Err(syn::Error::new(
            Span::call_site(),
            "`compute!` needs at least one handle to compute\nhelp: write `compute!(x)` for one handle or collection, or `compute!(a, b)` for several",
        )),
        (_, several) => Ok(quote!(::delayed::compute(&(#(#several,)*)))),
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
        assert!(
            code.starts_with(
                ":: delayed :: compute (:: delayed :: __private :: computable (& (l)))"
            ),
            "{code}"
        );
    }

    #[test]
    fn several_arguments_become_a_tuple_of_references() {
        let code = expanded("a, f(b),");
        assert!(code.contains("(& (a))"), "{code}");
        assert!(code.contains("(& (f (b)))"), "{code}");
        assert!(code.starts_with(":: delayed :: compute (& ("), "{code}");
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
