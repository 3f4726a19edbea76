//! The code `#[delayed]` generates.
//!
//! ```text
//! #[delayed]
//! fn add(x: i64, y: &Vec<i64>) -> Result<i64, E> { … }
//! ```
//!
//! becomes a function of the same name that builds a task:
//!
//! ```text
//! fn add(x: impl IntoDelayed<i64>, y: impl IntoDelayed<Vec<i64>>) -> Delayed<i64> {
//!     fn add(x: i64, y: &Vec<i64>) -> Result<i64, E> { … }   // the original
//!     let mut builder = TaskBuilder::new("add");
//!     let slot0 = TaskBuilder::arg_owned(&mut builder, x.into_arg()); // checks i64: Clone
//!     let slot1 = TaskBuilder::arg(&mut builder, y.into_arg());
//!     builder.sync(move |inputs| {
//!         let x = slot0.get(inputs);   // the value, moved or cloned
//!         let y = slot1.get(inputs);   // an Arc to the shared value
//!         add(x, &*y).into_task_result()
//!     })
//! }
//! ```
//!
//! Bounds on concrete types are checked by `arg`/`arg_owned`/`sync`, calls
//! spanned on the user's type; types naming the function's generic
//! parameters get them in the wrapper's where clause instead.
//!
//! Every path is absolute through `::delayed::__private`, so the user's own
//! names (`Result`, `Box`, a local `delayed` module) cannot shadow ours.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, GenericParam, ItemFn, LitStr};

use crate::args::Args;
use crate::signature::{Output, Pass, Signature};

pub(crate) fn expand(args: Args, item: &ItemFn, sig: &Signature) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig: original,
        block,
    } = item;
    let ident = &original.ident;
    let Args { name, pure } = args;
    let value_type = sig.output.value_type();
    let name = name.unwrap_or_else(|| {
        LitStr::new(&syn::ext::IdentExt::unraw(ident).to_string(), ident.span())
    });
    let generics = &original.generics;
    let (impl_generics, _, _) = generics.split_for_impl();

    let slots: Vec<_> = (0..sig.params.len())
        .map(|i| format_ident!("__delayed_slot{}", i))
        .collect();
    let records = sig.params.iter().zip(&slots).map(|(param, slot)| {
        let binding = &param.binding;
        let record = match param.pass {
            Pass::Owned => quote!(arg_owned),
            Pass::Shared => quote!(arg),
        };
        if pure.is_some() {
            quote_spanned! {param.stored.span()=>
                let #slot = {
                    let __delayed_arg = ::delayed::IntoDelayed::into_arg(#binding);
                    ::delayed::__private::PureKey::arg(&mut __delayed_pure, &__delayed_arg);
                    ::delayed::__private::TaskBuilder::#record(&mut __delayed_builder, __delayed_arg)
                };
            }
        } else {
            quote_spanned! {param.stored.span()=>
                let #slot = ::delayed::__private::TaskBuilder::#record(
                    &mut __delayed_builder,
                    ::delayed::IntoDelayed::into_arg(#binding),
                );
            }
        }
    });
    let (start_pure, finish_pure) = match &pure {
        Some(pure) => (
            quote_spanned! {pure.span()=>
                let mut __delayed_pure = ::delayed::__private::PureKey::new(
                    ::core::concat!(::core::module_path!(), "::", #name),
                    ::core::any::type_name::<#value_type>(),
                );
            },
            quote!(::delayed::__private::TaskBuilder::pure(&mut __delayed_builder, __delayed_pure.finish());),
        ),
        None => (quote!(), quote!()),
    };
    let wrapper_params = sig.params.iter().map(|param| {
        let (binding, stored) = (&param.binding, &param.stored);
        quote_spanned!(stored.span()=> #binding: impl ::delayed::IntoDelayed<#stored>)
    });

    // Types that mention the function's generic parameters get their
    // bounds in the wrapper's where clause, so users need not repeat
    // `Send + Sync + 'static`. Concrete types are checked where the task is
    // built, by calls spanned on the user's type: an unmet bound
    // (`Rc<T>: TaskValue`, `Table: ByValue`) is reported there, with its
    // explanation.
    let type_params: Vec<&syn::Ident> = generics.type_params().map(|p| &p.ident).collect();
    let mut bounds: Vec<TokenStream> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut bound = |ty: &syn::Type, requirement: Requirement| {
        if mentions(ty, &type_params) && seen.insert((quote!(#ty).to_string(), requirement)) {
            bounds.push(requirement.bound(ty));
        }
    };
    for param in &sig.params {
        bound(&param.stored, Requirement::TaskValue);
        if param.pass == Pass::Owned {
            bound(&param.stored, Requirement::ByValue);
        }
        if pure.is_some() {
            bound(&param.stored, Requirement::Hash);
        }
    }
    bound(value_type, Requirement::TaskValue);
    let user_predicates = generics
        .where_clause
        .as_ref()
        .map(|clause| clause.predicates.iter().collect::<Vec<_>>())
        .unwrap_or_default();

    // Reads in the task, one per parameter: `Owned::get` gives the value,
    // `Shared::get` an `Arc` the call borrows from.
    let reads = sig.params.iter().zip(&slots).map(|(param, slot)| {
        let (binding, stored) = (&param.binding, &param.stored);
        quote_spanned! {stored.span()=>
            let #binding = #slot.get(__delayed_inputs);
        }
    });
    let call_args = sig.params.iter().map(|param| {
        let binding = &param.binding;
        match param.pass {
            Pass::Owned => quote!(#binding),
            Pass::Shared => quote!(&*#binding),
        }
    });
    let turbofish = turbofish(generics);
    let call = quote!(#ident #turbofish(#(#call_args),*));
    let await_call = if original.asyncness.is_some() {
        quote!(#call.await)
    } else {
        call
    };
    let result = match &sig.output {
        Output::Value(_) => quote!(::core::result::Result::Ok(#await_call)),
        Output::Fallible(_) => {
            quote!(::delayed::__private::IntoTaskResult::into_task_result(#await_call))
        }
    };
    let build = if original.asyncness.is_some() {
        quote_spanned! {value_type.span()=>
            __delayed_builder.future::<#value_type, _, _>(move |__delayed_inputs| {
                #(#reads)*
                async move { #result }
            })
        }
    } else {
        quote_spanned! {value_type.span()=>
            __delayed_builder.sync::<#value_type, _>(move |__delayed_inputs| {
                #(#reads)*
                #result
            })
        }
    };
    let lint_attrs = attrs.iter().filter(|attr| is_lint(attr));
    let mut_builder = if sig.params.is_empty() && pure.is_none() {
        quote!()
    } else {
        quote!(mut)
    };

    quote! {
        #(#attrs)*
        #[allow(
            clippy::too_many_arguments,
            clippy::needless_pass_by_value,
            clippy::multiple_bound_locations
        )]
        #vis fn #ident #impl_generics (#(#wrapper_params),*) -> ::delayed::Delayed<#value_type>
        where
            #(#user_predicates,)*
            #(#bounds,)*
        {
            #(#lint_attrs)*
            #[allow(clippy::too_many_arguments)]
            #original #block

            let #mut_builder __delayed_builder = ::delayed::__private::TaskBuilder::new(#name);
            #start_pure
            #(#records)*
            #finish_pure
            #build
        }
    }
}

/// What a type in a generic `#[delayed]` signature must satisfy.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Requirement {
    /// Every parameter and the output: `Send + Sync + 'static`.
    TaskValue,
    /// Parameters taken by value: `Clone`.
    ByValue,
    /// Parameters of a pure function: `Hash`.
    Hash,
}

impl Requirement {
    /// The where-clause predicate, spanned on the user's type.
    fn bound(self, ty: &syn::Type) -> TokenStream {
        let span = ty.span();
        match self {
            Requirement::TaskValue => quote_spanned!(span=> #ty: ::delayed::TaskValue),
            Requirement::ByValue => quote_spanned!(span=> #ty: ::delayed::__private::ByValue),
            Requirement::Hash => quote_spanned!(span=> #ty: ::delayed::__private::PureArg),
        }
    }
}

fn is_lint(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "expect", "forbid"]
        .iter()
        .any(|lint| attr.path().is_ident(lint))
}

/// `::<T, N>` for the type and const parameters of a generic function, so
/// the inner function is called with exactly the wrapper's parameters.
fn turbofish(generics: &syn::Generics) -> TokenStream {
    let params: Vec<_> = generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(ty) => Some(ty.ident.clone()),
            GenericParam::Const(constant) => Some(constant.ident.clone()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if params.is_empty() {
        quote!()
    } else {
        quote!(::<#(#params),*>)
    }
}

/// Whether `ty` names one of the function's type parameters.
fn mentions(ty: &syn::Type, type_params: &[&syn::Ident]) -> bool {
    fn scan(tokens: TokenStream, type_params: &[&syn::Ident]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => type_params.iter().any(|p| **p == ident),
            proc_macro2::TokenTree::Group(group) => scan(group.stream(), type_params),
            _ => false,
        })
    }
    scan(quote!(#ty), type_params)
}
