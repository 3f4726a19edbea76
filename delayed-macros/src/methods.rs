//! `#[delayed]` on an inherent impl block: Dask's method calls on delayed
//! objects (`df.groupby(…).mean()` is a task named `mean`).
//!
//! ```text
//! #[delayed]
//! impl Frame {
//!     fn load(path: String) -> Self { … }      // associated: lazy in place
//!     fn mean(&self, column: &str) -> f64 { … } // method: stays eager on Frame
//! }
//! ```
//!
//! becomes
//!
//! ```text
//! impl Frame {
//!     #[::delayed::delayed] fn load(path: String) -> Self { … }
//!     fn mean(&self, column: &str) -> f64 { … }
//! }
//! /// Lazy methods of `Frame`, on `Delayed<Frame>`.
//! trait DelayedFrame {
//!     fn mean(&self, column: impl IntoDelayed<String>) -> Delayed<f64>;
//! }
//! impl DelayedFrame for Delayed<Frame> {
//!     fn mean(&self, column: impl IntoDelayed<String>) -> Delayed<f64> {
//!         // a task named `mean` that calls `<Frame>::mean(&*frame, &*column)`
//!     }
//! }
//! ```
//!
//! Methods taking `&self` borrow the shared value; methods taking `self`
//! take it (moved to the last consumer, cloned for the others).

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, ImplItem, ItemImpl, Type, Visibility};

use crate::args::Args;
use crate::expand::Task;
use crate::signature::{Param, Pass, Signature};
use crate::validate::{self, Errors};

/// The methods of `Delayed<T>` itself: a method of the same name on the
/// generated trait would never be called, since inherent methods win. Keep
/// in step with the inherent impls of `Delayed` in `delayed-runtime`
/// (`handle.rs`, `ops.rs`, `compute.rs`).
const HANDLE_METHODS: [&str; 10] = [
    "key",
    "split",
    "map",
    "map_ref",
    "named",
    "with_key",
    "persist",
    "compute",
    "compute_async",
    "visualize",
];

pub(crate) fn expand(args: &Args, mut block: ItemImpl) -> syn::Result<TokenStream> {
    let self_name = validate::impl_block(&block)?;
    let trait_name = args
        .trait_name
        .clone()
        .unwrap_or_else(|| format_ident!("Delayed{}", self_name));
    let self_ty = block.self_ty.clone();
    let impl_generics_of_block = block.generics.clone();
    let mut errors = Errors::default();
    let mut lazy = LazyMethods::default();

    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let mut method_args = match take_delayed_attribute(&mut method.attrs) {
            Ok(method_args) => method_args.unwrap_or_default(),
            Err(error) => {
                errors.combine(error);
                continue;
            }
        };
        if method_args.krate.is_none() {
            method_args.krate = args.krate.clone();
        }
        if method.sig.receiver().is_none() {
            // An associated function: made lazy in place by the attribute
            // on the function itself, which sees `Self` where it is.
            let attribute = method_args.to_attribute();
            method.attrs.insert(0, syn::parse_quote!(#attribute));
            continue;
        }
        if let Err(error) = validate::method(&method.sig) {
            errors.combine(error);
            continue;
        }
        if let Err(error) = not_a_handle_method(&method.sig.ident) {
            errors.combine(error);
            continue;
        }
        // In the trait, `Self` is the handle: name the type instead.
        let sig = Signature::of(&without_self(&method.sig, &self_ty));
        lazy.add(
            &method_args,
            &self_ty,
            &impl_generics_of_block,
            method,
            &sig,
            Twin {
                owned: Owned::AsIs,
                method_call: false,
            },
        );
    }
    errors.finish()?;

    let block_tokens = block.to_token_stream();
    if lazy.is_empty() {
        return Ok(block_tokens);
    }
    let lazy_trait = lazy.into_trait(args, &trait_name, &self_ty, &block.generics, &[]);
    Ok(quote! {
        #block_tokens

        #lazy_trait
    })
}

/// Rejects a lazy method named as a method of `Delayed` itself, which a
/// call on a handle would reach instead.
pub(crate) fn not_a_handle_method(ident: &syn::Ident) -> syn::Result<()> {
    if !HANDLE_METHODS.contains(&ident.to_string().as_str()) {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        ident,
        format!(
            "a lazy method cannot be named `{ident}`: `Delayed` has a method of that name, which a call on a handle would reach instead\nhelp: rename the method, or move it to an impl block without `#[delayed]`"
        ),
    ))
}

/// How a lazy twin calls its method.
#[derive(Clone, Copy)]
pub(crate) struct Twin {
    /// How the method's value becomes the task's.
    pub(crate) owned: Owned,
    /// Called as `value.method(…)`, through `Deref` (a foreign type's
    /// methods, as its users call them), rather than as `<T>::method(…)`
    /// (the block's own methods, which a trait method of the same name
    /// in scope must not shadow).
    pub(crate) method_call: bool,
}

/// How a method's value becomes its task's value.
#[derive(Clone, Copy)]
pub(crate) enum Owned {
    /// As it is.
    AsIs,
    /// A borrow, `&T`: its `ToOwned::to_owned()`.
    Borrowed,
    /// `Result<&T, E>`: the borrow's `to_owned()` in the `Ok`.
    InResult,
    /// `Option<&T>`: the borrow's `to_owned()` in the `Some`.
    InOption,
}

impl Owned {
    /// `call`'s value, owned.
    fn apply(self, call: TokenStream) -> TokenStream {
        match self {
            Owned::AsIs => call,
            Owned::Borrowed => quote!(::std::borrow::ToOwned::to_owned(#call)),
            Owned::InResult => {
                quote!(::core::result::Result::map(#call, ::std::borrow::ToOwned::to_owned))
            }
            Owned::InOption => {
                quote!(::core::option::Option::map(#call, ::std::borrow::ToOwned::to_owned))
            }
        }
    }
}

/// The lazy twins of a type's methods, gathered into the trait that
/// `Delayed<Type>` implements.
#[derive(Default)]
pub(crate) struct LazyMethods {
    declarations: Vec<TokenStream>,
    definitions: Vec<TokenStream>,
    /// The trait is as visible as its most visible method.
    visibility: Option<Visibility>,
}

impl LazyMethods {
    /// Adds the twin of `method`, whose signature (without `Self`) is
    /// `sig`: its declaration in the trait and its definition.
    pub(crate) fn add(
        &mut self,
        args: &Args,
        self_ty: &Type,
        impl_generics: &syn::Generics,
        method: &syn::ImplItemFn,
        sig: &Signature,
        twin: Twin,
    ) {
        let receiver_pass = sig.receiver.expect("methods have a receiver");
        let is_async = method.sig.asyncness.is_some();
        let mut task = Task::new(args, &method.sig.ident, sig, is_async);
        task.cache = crate::cache::CacheTask::of(args, &method.sig, &method.block);
        let krate = &task.krate;
        let receiver = Param {
            binding: format_ident!("__delayed_self"),
            pat: syn::parse_quote!(__delayed_self),
            ty: self_ty.clone(),
            stored: self_ty.clone(),
            pass: receiver_pass,
        };
        let params: Vec<Param> = std::iter::once(receiver)
            .chain(sig.params.iter().cloned())
            .collect();
        let call_args = params.iter().map(|param| {
            let binding = &param.binding;
            match param.pass {
                Pass::Owned => quote!(#binding),
                Pass::Shared => quote!(&*#binding),
            }
        });
        let ident = &method.sig.ident;
        let turbofish = turbofish(&method.sig.generics);
        let call = if twin.method_call {
            // As the caller would write it: through `Deref` too (`String`'s
            // `trim` is `str`'s).
            // The receiver's type is named, since no path names it.
            let mut call_args = call_args;
            let receiver = call_args.next().expect("a method has a receiver");
            let receiver = match receiver_pass {
                Pass::Owned => quote!(::core::convert::identity::<#self_ty>(#receiver)),
                Pass::Shared => quote!(::core::convert::identity::<&#self_ty>(#receiver)),
            };
            quote!(#receiver.#ident #turbofish(#(#call_args),*))
        } else {
            quote!(<#self_ty>::#ident #turbofish(#(#call_args),*))
        };
        let run = twin
            .owned
            .apply(if is_async { quote!(#call.await) } else { call });
        let value_type = sig.output.value_type();
        let generics = &method.sig.generics;
        let (method_generics, _, _) = generics.split_for_impl();
        let where_clause = task.where_clause(
            generics,
            &sig.params,
            Some((self_ty, receiver_pass, impl_generics)),
        );
        let wrapper_params: Vec<TokenStream> = task.wrapper_params(&sig.params).collect();
        // The lazy twin has the method's docs, and its `cfg`s on both sides.
        let docs_and_cfgs: Vec<&Attribute> = method
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc") || attr.path().is_ident("cfg"))
            .collect();
        let signature = quote! {
            fn #ident #method_generics (&self, #(#wrapper_params),*) -> #krate::Delayed<#value_type>
            #where_clause
        };
        let declaration = quote! {
            #(#docs_and_cfgs)*
            #signature;
        };
        let body = task.build(&params, run);
        let cfgs = docs_and_cfgs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg"));
        let definition = quote! {
            #(#cfgs)*
            #signature {
                let __delayed_self = ::core::clone::Clone::clone(self);
                #body
            }
        };
        self.declarations.push(declaration);
        self.definitions.push(definition);
        self.visibility = Some(wider(self.visibility.take(), &method.vis));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.declarations.is_empty()
    }

    /// The trait `trait_name` with every twin, and its impl for
    /// `Delayed<self_ty>`.
    pub(crate) fn into_trait(
        self,
        args: &Args,
        trait_name: &syn::Ident,
        self_ty: &Type,
        generics: &syn::Generics,
        docs: &[Attribute],
    ) -> TokenStream {
        let krate = args.krate();
        let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
        let trait_params = &generics.params;
        let doc = match docs {
            [] => {
                let doc = format!(
                    "The lazy methods of `{}` on a `Delayed<{0}>`: each call builds a task named after the method. Generated by `delayed`.",
                    self_ty.to_token_stream().to_string().replace(' ', "")
                );
                quote!(#[doc = #doc])
            }
            docs => quote!(#(#docs)*),
        };
        let LazyMethods {
            declarations,
            definitions,
            visibility,
        } = self;
        quote! {
            #doc
            #[allow(clippy::too_many_arguments)]
            #visibility trait #trait_name <#trait_params> #where_clause {
                #(#declarations)*
            }

            #[allow(
                clippy::too_many_arguments,
                clippy::needless_pass_by_value,
                clippy::multiple_bound_locations
            )]
            impl #impl_generics #trait_name #ty_generics for #krate::Delayed<#self_ty> #where_clause {
                #(#definitions)*
            }
        }
    }
}

/// `sig` with `Self` in its parameter and return types replaced by
/// `self_ty` (`<self_ty>` before `::`).
fn without_self(sig: &syn::Signature, self_ty: &Type) -> syn::Signature {
    fn replace(tokens: TokenStream, self_ty: &Type) -> TokenStream {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = TokenStream::new();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Ident(ident) if ident == "Self" => {
                    let before_path = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                    if before_path {
                        out.extend(quote!(<#self_ty>));
                    } else {
                        out.extend(quote!(#self_ty));
                    }
                }
                TokenTree::Group(group) => {
                    let mut inner = Group::new(group.delimiter(), replace(group.stream(), self_ty));
                    inner.set_span(group.span());
                    out.extend([TokenTree::Group(inner)]);
                }
                other => out.extend([other.clone()]),
            }
        }
        out
    }
    let mut sig = sig.clone();
    for input in &mut sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            let ty = &typed.ty;
            *typed.ty = syn::parse2(replace(quote!(#ty), self_ty)).expect("a type stays a type");
        }
    }
    if let syn::ReturnType::Type(_, ty) = &mut sig.output {
        let replaced = replace(quote!(#ty), self_ty);
        **ty = syn::parse2(replaced).expect("a type stays a type");
    }
    sig
}

/// Removes the first `#[delayed(…)]` (or `#[path::delayed(…)]`) attribute
/// of a method in a `#[delayed]` impl block and parses its arguments.
fn take_delayed_attribute(attrs: &mut Vec<Attribute>) -> syn::Result<Option<Args>> {
    let Some(position) = attrs.iter().position(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "delayed")
    }) else {
        return Ok(None);
    };
    let attr = attrs.remove(position);
    match &attr.meta {
        syn::Meta::Path(_) => Ok(Some(Args::default())),
        syn::Meta::List(list) => list.parse_args::<Args>().map(Some),
        syn::Meta::NameValue(pair) => Err(syn::Error::new_spanned(
            pair,
            "`delayed` takes its arguments in parentheses\nhelp: write `#[delayed(name = \"load\")]`",
        )),
    }
}

/// The more visible of the two: the trait is as visible as its most
/// visible method.
fn wider(current: Option<Visibility>, next: &Visibility) -> Visibility {
    let rank = |vis: &Visibility| match vis {
        Visibility::Public(_) => 2,
        Visibility::Restricted(_) => 1,
        Visibility::Inherited => 0,
    };
    match current {
        Some(current) if rank(&current) >= rank(next) => current,
        _ => next.clone(),
    }
}

/// `::<T, N>` for the type and const parameters of a generic method or
/// function.
pub(crate) fn turbofish(generics: &syn::Generics) -> TokenStream {
    let params: Vec<_> = generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(ty) => Some(ty.ident.clone()),
            syn::GenericParam::Const(constant) => Some(constant.ident.clone()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    if params.is_empty() {
        quote!()
    } else {
        quote!(::<#(#params),*>)
    }
}
