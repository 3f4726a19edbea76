//! `register!(f::<u64>, …)`: registers instantiations of generic task
//! functions, so that workers run them by name.
//!
//! Each instantiation becomes an entry in the registry, made by the
//! function's hidden companion, `__delayed_instance_f`, which `#[delayed]`
//! writes beside it with the same generics (see `expand::companion`): the
//! path given is the function's, with its last segment renamed.

use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Path, PathArguments, Token};

use crate::compute::split_crate;
use crate::expand::respan;

/// Expands `krate; path::<T>, …`, the facade's `$crate` before the `;`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let (krate, input) = split_crate(input);
    let paths = Punctuated::<Path, Token![,]>::parse_terminated.parse2(input)?;
    if paths.is_empty() {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`register!` needs at least one instantiation of a generic task function\nhelp: write `register!(double::<u64>)`, or several separated by commas",
        ));
    }
    let mut registrations = Vec::new();
    for path in &paths {
        let companion = companion(path)?;
        let krate = respan(&krate, path.span());
        registrations.push(quote_spanned! {path.span()=>
            #krate::__private::inventory::submit! {
                #krate::__private::Instantiation::new(|| {
                    #krate::__private::IntoInstance::into_instance(#companion())
                })
            }
        });
    }
    Ok(registrations.into_iter().collect())
}

/// `a::f::<T>` as `a::__delayed_instance_f::<T>`.
fn companion(path: &Path) -> syn::Result<Path> {
    let mut companion = path.clone();
    let last = companion
        .segments
        .last_mut()
        .expect("a parsed path has a segment");
    let name = syn::ext::IdentExt::unraw(&last.ident);
    match &mut last.arguments {
        PathArguments::AngleBracketed(args) if !args.args.is_empty() => {
            args.colon2_token = Some(Default::default());
        }
        _ => {
            return Err(syn::Error::new(
                last.ident.span(),
                format!(
                    "`register!` needs the type arguments of the instantiation to register\nhelp: write `{name}::<u64>` (with the types it is called with); a function without type parameters needs no `register!`: `#[delayed]` registers it"
                ),
            ));
        }
    }
    last.ident = format_ident!("__delayed_instance_{}", name, span = last.ident.span());
    Ok(companion)
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn expanded(input: &str) -> String {
        expand(input.parse().unwrap()).unwrap().to_string()
    }

    #[test]
    fn each_instantiation_is_submitted_through_its_companion() {
        let code = expanded("dl; double::<u64>, io::pair::<u8, String>,");
        assert!(
            code.contains("__delayed_instance_double :: < u64 > ()"),
            "{code}"
        );
        assert!(
            code.contains("io :: __delayed_instance_pair :: < u8 , String > ()"),
            "{code}"
        );
        assert_eq!(
            code.matches("dl :: __private :: inventory :: submit !")
                .count(),
            2
        );
    }

    #[test]
    fn a_path_without_a_turbofish_is_accepted_with_one() {
        let code = expanded("double<u64>");
        assert!(
            code.contains("__delayed_instance_double :: < u64 > ()"),
            "{code}"
        );
        assert!(code.contains(":: delayed :: __private"), "{code}");
    }

    #[test]
    fn a_function_without_type_arguments_is_an_error_that_says_what_to_write() {
        let error = expand("inc".parse().unwrap()).unwrap_err().to_string();
        assert!(error.contains("write `inc::<u64>`"), "{error}");
        let error = expand("".parse().unwrap()).unwrap_err().to_string();
        assert!(
            error.contains("needs at least one instantiation"),
            "{error}"
        );
    }
}
