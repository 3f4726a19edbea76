//! `methods!`: lazy twins of the methods of a type this crate does not
//! own (polars's `DataFrame`, a `Vec`), where `#[delayed]` on the impl
//! block cannot go.
//!
//! ```text
//! delayed::methods! {
//!     impl DataFrame {
//!         fn height(&self) -> usize;
//!         fn column(&self, name: &str) -> Result<&Column, PolarsError>;
//!     }
//! }
//! ```
//!
//! declares a trait `DelayedDataFrame` implemented for
//! `Delayed<DataFrame>`, whose `height()` is a task named `height` calling
//! `<DataFrame>::height(&*frame)`, exactly as a method of a `#[delayed]`
//! impl block would. A method that returns a borrow (`&T`, and `&T` inside
//! `Result` or `Option`) has a twin that returns the value it borrows,
//! made with `ToOwned` (`&str` becomes `String`, `&Column` a clone).

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Token, TraitItemFn, Type, Visibility};

use crate::args::Args;
use crate::methods::{self, Owned, Twin};
use crate::signature::{Signature, result_ok_type};
use crate::validate::{self, Errors};

/// The macro's input: `#[delayed(…)]`, then `impl Type { fn …; … }`.
struct Input {
    args: Args,
    /// The trait's doc comment, if given above `impl`.
    docs: Vec<Attribute>,
    self_ty: Type,
    methods: Vec<(Visibility, TraitItemFn)>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        let mut args = Args::default();
        let mut docs = Vec::new();
        for attr in Attribute::parse_outer(input)? {
            if attr.path().is_ident("doc") {
                docs.push(attr);
                continue;
            }
            if !attr.path().is_ident("delayed") {
                return Err(syn::Error::new_spanned(
                    attr,
                    "`methods!` takes doc comments and a `#[delayed(…)]` attribute before `impl`\nhelp: write `#[delayed(trait_name = \"FrameTasks\")]`, or leave the attribute out",
                ));
            }
            args = attr.parse_args()?;
        }
        input.parse::<Token![impl]>().map_err(|error| {
            syn::Error::new(
                error.span(),
                "`methods!` declares the methods of a type as an impl block\nhelp: write `methods! { impl DataFrame { fn height(&self) -> usize; } }`",
            )
        })?;
        if input.peek(Token![<]) {
            let generics: syn::Generics = input.parse()?;
            return Err(syn::Error::new_spanned(
                generics,
                "`methods!` takes the methods of one concrete type: task values must have a type known where the task is built\nhelp: name the type with its arguments, e.g. `impl Vec<u64> { … }`",
            ));
        }
        let self_ty: Type = input.parse()?;
        let content;
        syn::braced!(content in input);
        let mut methods = Vec::new();
        while !content.is_empty() {
            let attrs = Attribute::parse_outer(&content)?;
            let vis: Visibility = content.parse()?;
            let mut method: TraitItemFn = content.parse()?;
            method.attrs = attrs;
            methods.push((vis, method));
        }
        Ok(Input {
            args,
            docs,
            self_ty,
            methods,
        })
    }
}

/// Expands `#[delayed(…)] impl Type { … }`. Called by the user's code
/// directly (the facade re-exports it), so that the generated code and
/// the user's tokens share their hygiene; the crate is `::delayed` unless
/// `crate = "…"` says otherwise, as for `#[delayed]`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Input {
        args,
        docs,
        self_ty,
        methods,
    } = syn::parse2(input)?;
    let self_name = validate::type_name(
        &self_ty,
        "`methods!` needs a named type, such as `DataFrame` or `Vec<u64>`\nhelp: for a slice, a tuple or a reference, declare a task with `#[delayed]` on a free function instead",
    )?;
    let trait_name = args
        .trait_name
        .clone()
        .unwrap_or_else(|| format_ident!("Delayed{}", self_name));
    let mut errors = Errors::default();
    let mut lazy = methods::LazyMethods::default();
    if methods.is_empty() {
        errors.push(
            Span::call_site(),
            "`methods!` needs at least one method to declare\nhelp: write its signature as in the type's impl, ending with `;`: `fn height(&self) -> usize;`",
        );
    }
    for (vis, method) in methods {
        if let Some(body) = &method.default {
            errors.push_spanned(
                body,
                "`methods!` declares methods the type already has: write the signature only, ending with `;`\nhelp: to write a new method, put it in an impl block of your own type under `#[delayed]`",
            );
            continue;
        }
        if method.sig.receiver().is_none() {
            errors.push_spanned(
                &method.sig.ident,
                "a lazy method needs a receiver, `&self` or `self`: it is called on a `Delayed` of the type\nhelp: for an associated function, build the task with the function form, `delayed(DataFrame::empty).call()`",
            );
            continue;
        }
        let (sig, owned) = owned_output(&method.sig);
        if let Err(error) = validate::method(&sig) {
            errors.combine(error);
            continue;
        }
        if let Err(error) = methods::not_a_handle_method(&sig.ident) {
            errors.combine(error);
            continue;
        }
        let item = syn::ImplItemFn {
            attrs: method.attrs,
            vis,
            defaultness: None,
            sig,
            block: syn::parse_quote!({}),
        };
        let signature = Signature::of(&item.sig);
        let twin = Twin {
            owned,
            method_call: true,
        };
        lazy.add(
            &args,
            &self_ty,
            &syn::Generics::default(),
            &item,
            &signature,
            twin,
        );
    }
    errors.finish()?;
    Ok(lazy.into_trait(
        &args,
        &trait_name,
        &self_ty,
        &syn::Generics::default(),
        &docs,
    ))
}

/// `sig` with a borrowed return type (`&T`, or `&T` inside `Result` or
/// `Option`) made owned (`<T as ToOwned>::Owned`), and how the call's
/// value becomes that.
fn owned_output(sig: &syn::Signature) -> (syn::Signature, Owned) {
    let syn::ReturnType::Type(arrow, ty) = &sig.output else {
        return (sig.clone(), Owned::AsIs);
    };
    let owned_of = |ty: &Type| -> Option<Type> {
        match ty {
            Type::Reference(reference) if reference.mutability.is_none() => {
                let elem = &reference.elem;
                Some(syn::parse_quote!(<#elem as ::std::borrow::ToOwned>::Owned))
            }
            _ => None,
        }
    };
    let mut sig = sig.clone();
    let (ty, owned) = if let Some(owned) = owned_of(ty) {
        (owned, Owned::Borrowed)
    } else if let Some(inner) = result_ok_type(ty).and_then(owned_of) {
        (replace_first_argument(ty, inner), Owned::InResult)
    } else if let Some(inner) = option_some_type(ty).and_then(owned_of) {
        (replace_first_argument(ty, inner), Owned::InOption)
    } else {
        return (sig, Owned::AsIs);
    };
    sig.output = syn::ReturnType::Type(*arrow, Box::new(ty));
    (sig, owned)
}

/// `T` when `ty` is `Option<T>`.
fn option_some_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first()? {
            syn::GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// `ty` (a path type such as `Result<&T, E>`) with its first type
/// argument replaced by `with`.
fn replace_first_argument(ty: &Type, with: Type) -> Type {
    let mut ty = ty.clone();
    if let Type::Path(path) = &mut ty
        && let Some(syn::PathArguments::AngleBracketed(args)) = path
            .path
            .segments
            .last_mut()
            .map(|segment| &mut segment.arguments)
        && let Some(syn::GenericArgument::Type(first)) = args.args.first_mut()
    {
        *first = with;
    }
    ty
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(input: &str) -> Result<String, String> {
        expand(input.parse().unwrap())
            .map(|tokens| tokens.to_string())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_twin_of_each_method_in_a_trait_for_the_handle() {
        let code = expanded(
            "impl Frame { fn height(&self) -> usize; pub fn column(&self, name: &str) -> Result<&Column, Error>; }",
        )
        .unwrap();
        assert!(code.contains("pub trait DelayedFrame"), "{code}");
        assert!(
            code.contains("for :: delayed :: Delayed < Frame >"),
            "{code}"
        );
        assert!(
            code.contains("< Column as :: std :: borrow :: ToOwned > :: Owned"),
            "{code}"
        );
    }

    #[test]
    fn mistakes_say_what_to_write() {
        let body = expanded("impl Frame { fn height(&self) -> usize { 1 } }").unwrap_err();
        assert!(body.contains("write the signature only"), "{body}");
        let no_self = expanded("impl Frame { fn empty() -> Frame; }").unwrap_err();
        assert!(no_self.contains("needs a receiver"), "{no_self}");
        let generic = expanded("impl<T> Vec<T> { fn len(&self) -> usize; }").unwrap_err();
        assert!(generic.contains("one concrete type"), "{generic}");
        let none = expanded("impl Frame {}").unwrap_err();
        assert!(none.contains("at least one method"), "{none}");
    }
}
