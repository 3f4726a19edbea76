//! The `#[delayed]` attribute of the [`delayed`](https://docs.rs/delayed)
//! crate. Use it through `delayed`, which documents it; the generated code
//! refers to `::delayed`, so this crate does not work on its own.
//!
//! The macro is a pipeline: `args` parses the attribute's arguments,
//! `validate` rejects what cannot become a task (each error spanned on
//! the token to change), `signature` models the parameters and return
//! type, and `expand` writes the code. `compute` expands `compute!`,
//! `register` expands `register!`, and `foreign` expands `methods!` (on
//! the impl-block machinery of `methods`).

mod args;
mod attributes;
mod cache;
mod compute;
mod doc_images;
mod expand;
mod foreign;
mod methods;
mod register;
mod signature;
mod validate;

use proc_macro::TokenStream;
use quote::ToTokens;

/// Turns a function into a task builder: calling it returns a
/// `Delayed<T>` at once, and the body runs when the handle is computed.
/// On an impl block, its methods become callable on a `Delayed<Self>`.
/// See the `delayed` crate for the full documentation.
#[proc_macro_attribute]
pub fn delayed(args: TokenStream, item: TokenStream) -> TokenStream {
    let args_tokens = args.clone();
    let args = syn::parse::<args::Args>(args);
    let item = match syn::parse::<syn::Item>(item.clone()) {
        Ok(item) => item,
        // Not an item at all: leave the syntax error to rustc.
        Err(_) => return item,
    };
    let expanded = validate::item(&item).and_then(|target| match target {
        validate::Target::Function(function) => {
            let args = together(args, validate::function(function))?;
            Ok(
                attributes::body_macros_first(&args, function).unwrap_or_else(|| {
                    let signature = signature::Signature::of(&function.sig);
                    expand::function(&args, function, &signature)
                }),
            )
        }
        validate::Target::Impl(block) => methods::expand(&args?, block.clone()),
    });
    match expanded {
        Ok(tokens) => tokens.into(),
        // One mistake here must not cascade into errors at every call: a
        // rejected function is replaced by a stand-in with the lazy
        // signature it would have had, or, where none can be written,
        // kept as written.
        Err(error) => {
            let mut tokens = error.to_compile_error();
            let stand_in = match &item {
                syn::Item::Fn(function) => {
                    let args = syn::parse::<args::Args>(args_tokens).unwrap_or_default();
                    expand::stand_in(&args, function)
                }
                _ => None,
            };
            match stand_in {
                Some(stand_in) => tokens.extend(stand_in),
                None => without_variadic(item).to_tokens(&mut tokens),
            }
            tokens.into()
        }
    }
}

/// The arguments, if they and the function are both fine; otherwise every
/// error of both, reported at once.
fn together(args: syn::Result<args::Args>, checked: syn::Result<()>) -> syn::Result<args::Args> {
    match (args, checked) {
        (Ok(args), Ok(())) => Ok(args),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            Err(error)
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
}

/// A variadic Rust function does not compile by itself; drop the `...` from
/// the item kept after an error so that rustc does not add its own errors.
fn without_variadic(mut item: syn::Item) -> syn::Item {
    if let syn::Item::Fn(function) = &mut item {
        function.sig.variadic = None;
    }
    item
}

/// Registers instantiations of generic task functions for workers; see
/// `delayed::register!`.
#[proc_macro]
pub fn register(input: TokenStream) -> TokenStream {
    register::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares lazy twins of the methods of a type this crate does not own;
/// see `delayed::methods!`, which is this macro re-exported.
#[proc_macro]
pub fn methods(input: TokenStream) -> TokenStream {
    foreign::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Computes handles and returns their values; see the `delayed` crate,
/// whose `compute!` calls this one as `compute!($crate; args…)` so that
/// the expansion names the crate however the user's Cargo.toml renames it.
#[proc_macro]
pub fn compute(input: TokenStream) -> TokenStream {
    compute::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Embeds the guide's pictures in the API documentation. Not part of the
/// public contract: the `delayed` crate applies it to its `guide` module
/// under rustdoc.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __embed_images(_args: TokenStream, item: TokenStream) -> TokenStream {
    let module = syn::parse_macro_input!(item as syn::ItemMod);
    doc_images::embed(module)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Marks a helper whose code is part of the cache keys of the
/// `#[delayed(cache, uses = [helper])]` functions that name it; see
/// `delayed::tracked`.
#[proc_macro_attribute]
pub fn tracked(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = syn::parse::<cache::Tracked>(args).and_then(|args| {
        let function = syn::parse::<syn::ItemFn>(item.clone()).map_err(|error| {
            syn::Error::new(
                error.span(),
                "`#[delayed::tracked]` goes on a function\nhelp: put it on the helper `fn` that a `#[delayed(cache, uses = [helper])]` function names",
            )
        })?;
        Ok((args, function))
    });
    match parsed {
        Ok((args, function)) => cache::tracked(&args, &function).into(),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(proc_macro2::TokenStream::from(item));
            tokens.into()
        }
    }
}
