//! What `#[delayed(cache)]` adds: a hash of the function's tokens, taken
//! here at compile time, and the spec each task records so that a client
//! with a cache can work out its key (`delayed::cache`).
//!
//! Every free `#[delayed]` function, and every `#[delayed::tracked]`
//! helper, also gets a hidden constant `__delayed_tokens_<name>`: its
//! tokens' hash combined with its own helpers'. That is what another
//! function's `uses = [name]` reads, so a change in a helper changes the
//! key of every cached function that names it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, ItemFn, Path, Visibility};

use crate::args::{Args, Cache};
use crate::signature::Param;

/// FNV-1a, 64 bits: the same function as `delayed::cache`'s `tokens`, so
/// that a hash taken here equals one taken there.
pub(crate) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The hash of a function's tokens: its signature and body as the compiler
/// sees them, so that a comment or reformatting changes nothing, while any
/// change to the code does. Attributes are left out: `#[delayed(…)]`'s own
/// arguments (`version`) and docs are not code.
pub(crate) fn own_tokens(sig: &syn::Signature, block: &syn::Block) -> u64 {
    fnv(&quote!(#sig #block).to_string())
}

/// The constant a helper's hash is read from: `util::clean` →
/// `util::__delayed_tokens_clean`, spanned on the helper's name so that a
/// helper without `#[delayed::tracked]` is reported there.
fn tokens_const_path(helper: &Path) -> TokenStream {
    let mut path = helper.clone();
    let last = path.segments.last_mut().expect("a path has a segment");
    let ident = &last.ident;
    last.ident = format_ident!("__delayed_tokens_{}", ident, span = ident.span());
    quote!(#path)
}

/// `__delayed_tokens_<name>`: `own` combined with each helper's constant,
/// by the arithmetic a `const` can do.
pub(crate) fn tokens_const(
    attrs: &[Attribute],
    vis: &Visibility,
    ident: &Ident,
    own: u64,
    uses: &[Path],
) -> TokenStream {
    let name = format_ident!("__delayed_tokens_{}", ident);
    let cfgs = attrs.iter().filter(|attr| attr.path().is_ident("cfg"));
    let helpers = uses.iter().map(tokens_const_path);
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        #vis const #name: u64 = {
            #[allow(unused_mut)]
            let mut hash: u64 = #own;
            #(
                hash = (hash ^ #helpers).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
            )*
            hash
        };
    }
}

/// The arguments of `#[delayed::tracked]`: at most `uses = [helper, …]`.
pub(crate) struct Tracked {
    uses: Vec<Path>,
}

impl syn::parse::Parse for Tracked {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Tracked> {
        let mut uses = Vec::new();
        let metas =
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated(input)?;
        for meta in metas {
            let list = match &meta {
                syn::Meta::NameValue(pair) if pair.path.is_ident("uses") && uses.is_empty() => {
                    match &pair.value {
                        syn::Expr::Array(array) => Some(array),
                        _ => None,
                    }
                }
                _ => None,
            };
            let paths = list.map(|array| {
                array
                    .elems
                    .iter()
                    .map(|element| match element {
                        syn::Expr::Path(path) if path.qself.is_none() => Some(path.path.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<Path>>>()
            });
            match paths {
                Some(Some(paths)) => uses = paths,
                _ => {
                    return Err(syn::Error::new_spanned(
                        meta,
                        "`#[delayed::tracked]` takes only the helpers this one calls\nhelp: write `#[delayed::tracked]`, or `#[delayed::tracked(uses = [other_helper])]`",
                    ));
                }
            }
        }
        Ok(Tracked { uses })
    }
}

/// `#[delayed::tracked]` (optionally `(uses = [...])`) on a helper: the
/// function unchanged, and its tokens' constant.
pub(crate) fn tracked(args: &Tracked, function: &ItemFn) -> TokenStream {
    let constant = tokens_const(
        &function.attrs,
        &function.vis,
        &function.sig.ident,
        own_tokens(&function.sig, &function.block),
        &args.uses,
    );
    quote! {
        #function
        #constant
    }
}

/// The cache part of a task: what `#[delayed(cache)]` records.
pub(crate) struct CacheTask {
    pub(crate) by_value: bool,
    pub(crate) uses: Vec<Path>,
    pub(crate) version: String,
    /// The function's own tokens' hash.
    pub(crate) tokens: u64,
}

impl CacheTask {
    /// The cache part of a task of a function with these arguments and
    /// this signature and body; `None` unless it is cached.
    pub(crate) fn of(args: &Args, sig: &syn::Signature, block: &syn::Block) -> Option<CacheTask> {
        let by_value = match args.cache? {
            Cache::Off => return None,
            Cache::ByKey => false,
            Cache::ByValue => true,
        };
        Some(CacheTask {
            by_value,
            uses: args.uses.clone(),
            version: args.version.as_ref().map(|v| v.value()).unwrap_or_default(),
            tokens: own_tokens(sig, block),
        })
    }

    /// The builder call that records the spec. A result or argument type
    /// that serde cannot write fails here, spanned on the type.
    pub(crate) fn record(
        &self,
        krate: &TokenStream,
        name: &syn::LitStr,
        value_type: &syn::Type,
        params: &[Param],
        slots: &[Ident],
    ) -> TokenStream {
        let parts = params.iter().zip(slots).map(|(param, slot)| {
            let stored = &param.stored;
            let krate = crate::expand::respan(krate, stored.span());
            quote_spanned! {stored.span()=>
                #slot.remote_part(#krate::__private::cache::encoder::<#stored>())
            }
        });
        let uses = self.uses.iter().map(|helper| {
            let shown = quote!(#helper).to_string().replace(' ', "");
            let constant = tokens_const_path(helper);
            quote!((#shown, #constant))
        });
        let (tokens, version, by_value) = (self.tokens, &self.version, self.by_value);
        let krate_at_type = crate::expand::respan(krate, value_type.span());
        let spec = quote_spanned! {value_type.span()=>
            #krate_at_type::__private::cache::spec::<#value_type>
        };
        quote! {
            #krate::__private::TaskBuilder::cache(
                &mut __delayed_builder,
                #spec(
                    ::core::concat!(::core::module_path!(), "::", #name),
                    #tokens,
                    &[#(#uses),*],
                    #version,
                    #by_value,
                    ::std::vec![#(#parts),*],
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv_1a() {
        // The published test vectors, which `delayed::cache::tokens` checks too.
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn comments_and_layout_do_not_change_the_hash_but_code_does() {
        let hash = |source: &str| {
            let function: ItemFn = syn::parse_str(source).unwrap();
            own_tokens(&function.sig, &function.block)
        };
        let plain = hash("fn f(x: u64) -> u64 { x + 1 }");
        assert_eq!(
            plain,
            hash("/// Docs.\nfn f(x: u64)\n    -> u64\n{\n    // a comment\n    x + 1\n}")
        );
        assert_ne!(plain, hash("fn f(x: u64) -> u64 { x + 2 }"));
    }
}
