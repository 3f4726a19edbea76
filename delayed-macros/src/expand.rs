//! The code `#[delayed]` generates for a function.
//!
//! ```text
//! #[delayed]
//! fn add(x: i64, y: &Vec<i64>) -> Result<i64, E> { … }
//! ```
//!
//! becomes a function of the same name that builds a task, with the body
//! expanded in place (so that `Self` and the generics of an enclosing impl
//! stay in scope), the way `#[tracing::instrument]` rewrites a function:
//!
//! ```text
//! fn add(x: impl IntoDelayed<i64>, y: impl IntoDelayed<Vec<i64>>) -> Delayed<i64> {
//!     let mut builder = TaskBuilder::new(&"add");
//!     let slot0 = TaskBuilder::arg_owned(&mut builder, x.into_arg()); // checks i64: Clone
//!     let slot1 = TaskBuilder::arg(&mut builder, y.into_arg());
//!     builder.shared_sync(move |inputs| {
//!         let x = slot0.get(inputs);   // the value, moved or cloned
//!         let y = slot1.get(inputs);   // an Arc to the shared value
//!         (move || -> Result<i64, E> {
//!             let x: i64 = x;
//!             let y: &Vec<i64> = &*y;
//!             { … }                    // the body as written
//!         })().into_task_result()
//!     })
//! }
//! ```
//!
//! Inside the body, the function's own name is the lazy function, as in
//! Dask: the attribute replaces the function, it does not add one.
//!
//! Bounds on concrete types are checked by `arg`/`arg_owned`/`sync`, calls
//! spanned on the user's type; types naming the function's generic
//! parameters get them in the wrapper's where clause instead.
//!
//! Every path is absolute through `::delayed::__private` (or the path given
//! with `crate = "…"`), so the user's own names (`Result`, `Box`, a local
//! `delayed` module) cannot shadow ours.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Generics, Ident, ItemFn, LitStr};

use crate::args::Args;
use crate::cache::CacheTask;
use crate::signature::{Output, Param, Pass, Signature};

/// A `#[delayed]` function without a receiver: the lazy function, with the
/// body in place.
pub(crate) fn function(args: &Args, item: &ItemFn, sig: &Signature) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig: original,
        block,
    } = item;
    let plan = if cfg!(feature = "distributed") {
        Registration::of(args, item, sig)
    } else {
        Registration::None
    };
    let mut task = Task::new(args, &original.ident, sig, original.asyncness.is_some());
    task.cache = CacheTask::of(args, original, block);
    // What another cached function's `uses = [this]` reads: only with the
    // feature, the one place a cache key is made.
    let tokens_const = cfg!(feature = "cache").then(|| {
        let tokens = crate::cache::own_tokens(original, block);
        crate::cache::tokens_const(attrs, vis, &original.ident, tokens, &args.uses)
    });
    task.remote = match &plan {
        Registration::Remote(path) => Some(Remote::Registered(path.clone())),
        Registration::Generic(base) => Some(Remote::Instance {
            base: base.clone(),
            args: instance_args(&original.generics),
        }),
        _ => None,
    };
    let krate = &task.krate;
    let bindings = sig.params.iter().map(|param| {
        let (pat, ty, binding) = (&param.pat, &param.ty, &param.binding);
        match param.pass {
            Pass::Owned => quote_spanned!(ty.span()=> let #pat: #ty = #binding;),
            Pass::Shared => quote_spanned!(ty.span()=> let #pat: #ty = &*#binding;),
        }
    });
    let returns = &sig.returns;
    let run = if original.asyncness.is_some() {
        quote! {
            #krate::__private::returning::<#returns, _>(async move {
                #(#bindings)*
                #block
            }).await
        }
    } else {
        quote! {
            (move || -> #returns {
                #(#bindings)*
                #block
            })()
        }
    };
    let ident = &original.ident;
    let value_type = sig.output.value_type();
    let generics = &original.generics;
    let (impl_generics, _, _) = generics.split_for_impl();
    let params: Vec<TokenStream> = task.wrapper_params(&sig.params).collect();
    let where_clause = task.where_clause(generics, &sig.params, None);
    let body = task.build(&sig.params, run);
    // `unused_braces`: a one-line body (`{ x + 1 }`) becomes the last
    // expression of the closure that runs it, where rustc would call its
    // braces unnecessary, in the user's code.
    let define = |vis: TokenStream, name: &Ident, registration: TokenStream| {
        quote! {
            #[allow(
                unused_braces,
                clippy::too_many_arguments,
                clippy::needless_pass_by_value,
                clippy::multiple_bound_locations,
                clippy::redundant_closure_call
            )]
            #vis fn #name #impl_generics (#(#params),*) -> #krate::Delayed<#value_type>
            #where_clause
            {
                #registration
                #body
            }
        }
    };
    // The same function again, nested in its body (or its companion's),
    // for the registry: a static there can name it, where it could not
    // name an associated function (`Self::f`) of the impl around it.
    let copy = || define(quote!(), &format_ident!("__delayed_task"), quote!());
    let registration = registration(args, sig, &plan, copy);
    let lazy = define(quote!(#vis), ident, registration);
    let companion = companion(args, item, sig, &plan, &where_clause, copy);
    quote! {
        #(#attrs)*
        #lazy
        #companion
        #tokens_const
    }
}

/// The type arguments' names and the const arguments' values of a call of
/// a generic function, in order: what, after its path, names its
/// instantiation in the registry.
fn instance_args(generics: &Generics) -> TokenStream {
    let args = generics.params.iter().filter_map(|param| match param {
        syn::GenericParam::Type(ty) => {
            let ident = &ty.ident;
            Some(quote!(&::core::any::type_name::<#ident>() as &dyn ::core::fmt::Display))
        }
        syn::GenericParam::Const(constant) => {
            let ident = &constant.ident;
            Some(quote!(&#ident as &dyn ::core::fmt::Display))
        }
        syn::GenericParam::Lifetime(_) => None,
    });
    quote!(#(#args),*)
}

/// The hidden companion of a generic function, which `delayed::register!`
/// calls to register one instantiation (feature `distributed`):
/// `__delayed_instance_f`, beside `f`, with its generics.
///
/// Its where clause asks each type of the signature to cross to a worker
/// (`Wire`), so that naming an instantiation whose types are not serde
/// types is an error at the `register!` that names it; a concrete type's
/// bound is put off that far by `for<'_>`, which keeps it from being
/// checked where the function is defined. A function whose instantiations
/// cannot be registered has a companion that returns why, which
/// `register!` reports.
fn companion(
    args: &Args,
    item: &ItemFn,
    sig: &Signature,
    plan: &Registration,
    where_clause: &TokenStream,
    copy: impl FnOnce() -> TokenStream,
) -> TokenStream {
    let original = &item.sig;
    let name = syn::ext::IdentExt::unraw(&original.ident);
    let companion = format_ident!("__delayed_instance_{}", name, span = original.ident.span());
    let vis = &item.vis;
    let cfgs = item.attrs.iter().filter(|attr| attr.path().is_ident("cfg"));
    let generics = &original.generics;
    let (impl_generics, _, _) = generics.split_for_impl();
    let krate = args.krate();
    let private = quote!(#krate::__private);
    let heading = quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(
            non_snake_case,
            dead_code,
            clippy::type_complexity,
            clippy::multiple_bound_locations,
            clippy::extra_unused_type_parameters
        )]
    };
    let base = match plan {
        Registration::Generic(base) => base,
        Registration::Unregistrable(reason) => {
            let reason = Ident::new(reason, Span::call_site());
            let user_where = &generics.where_clause;
            return quote! {
                #heading
                #vis fn #companion #impl_generics () -> #private::#reason #user_where {
                    #private::#reason
                }
            };
        }
        _ => return quote!(),
    };
    let stored: Vec<&syn::Type> = sig.params.iter().map(|param| &param.stored).collect();
    let output = sig.output.value_type();
    let type_params: Vec<&Ident> = generics.type_params().map(|p| &p.ident).collect();
    let mut seen = std::collections::HashSet::new();
    let mut wire = Vec::new();
    let mut bound = |ty: &syn::Type, bound: TokenStream| {
        if seen.insert((quote!(#ty).to_string(), bound.to_string())) {
            let put_off = (!mentions(ty, &type_params)).then(|| quote!(for<'__delayed>));
            wire.push(quote_spanned!(ty.span()=> #put_off #ty: #bound));
        }
    };
    for ty in stored.iter().copied().chain([output]) {
        bound(ty, quote!(#private::Wire));
    }
    bound(output, quote!(::core::clone::Clone));
    let bindings: Vec<Ident> = (0..stored.len())
        .map(|i| format_ident!("__delayed_arg{}", i))
        .collect();
    let turbofish = crate::methods::turbofish(generics);
    let instance_args = instance_args(generics);
    let copy = copy();
    quote! {
        #heading
        #vis fn #companion #impl_generics () -> #private::Instance
        #where_clause #(#wire,)*
        {
            #copy
            #private::Instance::new::<(#(#stored,)*), #output, _>(
                #base,
                &[#instance_args],
                ::core::any::type_name_of_val(&|| ()),
                &[#(::core::any::type_name::<#stored>()),*],
                |(#(#bindings,)*): (#(#stored,)*)| __delayed_task #turbofish (#(#bindings),*),
                ::std::vec![#(#private::encoder_of::<#stored>()),*],
            )
        }
    }
}

/// The function's entry in the registry of task functions (feature
/// `distributed`), placed in the function's own body: its path, its
/// signature as the task stores its arguments, and a call taking the
/// arguments as one tuple, through `copy`, the function again under a
/// name of its own.
///
/// Only a function without type or const parameters has one type to
/// register. A nested function cannot use the `Self` of an impl around
/// it, so a function whose signature or body says `Self` is not
/// registered. (Neither can it use the impl's generic parameters, which an
/// attribute on the function cannot see: such a function needs
/// `#[delayed(local)]` with the feature on.)
///
/// Whether the function runs from bytes is decided where it is
/// registered, by method resolution: `(&probe).runner()` finds `ViaSerde`
/// when the argument and result types are serde types, `Fallback`
/// otherwise.
fn registration(
    args: &Args,
    sig: &Signature,
    plan: &Registration,
    copy: impl FnOnce() -> TokenStream,
) -> TokenStream {
    let (path, remote) = match plan {
        Registration::Local(path) => (path, false),
        Registration::Remote(path) => (path, true),
        _ => return quote!(),
    };
    let krate = args.krate();
    let stored: Vec<&syn::Type> = sig.params.iter().map(|param| &param.stored).collect();
    let output = sig.output.value_type();
    let signature = signature_text(&stored, output);
    let private = quote!(#krate::__private);
    if !remote {
        return quote! {
            #private::inventory::submit! {
                #private::Registration::local(#path, #signature)
            }
        };
    }
    let bindings: Vec<Ident> = (0..stored.len())
        .map(|i| format_ident!("__delayed_arg{}", i))
        .collect();
    let copy = copy();
    quote! {
        #copy
        #private::inventory::submit! {
            #private::Registration::new(#path, #signature, || {
                #[allow(unused_imports)]
                use #private::{Fallback as _, ViaSerde as _};
                let call = |(#(#bindings,)*): (#(#stored,)*)| __delayed_task(#(#bindings),*);
                (&#private::Probe::<(#(#stored,)*), #output, _>::new(call)).runner()
            })
        }
    }
}

/// Whether and how a function is registered; the path is the expression
/// of its path.
pub(crate) enum Registration {
    None,
    /// Registered to run only where it is called.
    Local(TokenStream),
    /// Registered to run from bytes when its types allow, and its tasks
    /// record how to run on a worker.
    Remote(TokenStream),
    /// A generic function, whose instantiations `delayed::register!`
    /// registers: its tasks look theirs up; the path is without type
    /// arguments.
    Generic(TokenStream),
    /// A generic function whose instantiations cannot be registered, and
    /// why: the name of the type its companion returns.
    Unregistrable(&'static str),
}

impl Registration {
    fn of(args: &Args, item: &ItemFn, sig: &Signature) -> Registration {
        let original = &item.sig;
        let stored: Vec<&syn::Type> = sig.params.iter().map(|param| &param.stored).collect();
        let output = sig.output.value_type();
        let says = |word: &str| {
            let signature = stored.iter().copied().chain([output]);
            let block = &item.block;
            signature
                .map(|ty| quote!(#ty))
                .chain([quote!(#block)])
                .any(|tokens| mentions_word(tokens, word))
        };
        let generic = original.generics.type_params().next().is_some()
            || original.generics.const_params().next().is_some();
        let name = syn::ext::IdentExt::unraw(&original.ident).to_string();
        let path = quote!(::core::concat!(::core::module_path!(), "::", #name));
        // A borrow inside a type (`Vec<&'static str>`) never decodes into
        // an owned value; left to the bounds, its lifetime would make the
        // compile-time choice an error instead of a `false`.
        let borrows = stored
            .iter()
            .copied()
            .chain([output])
            .any(|ty| quote!(#ty).to_string().contains(['&', '\'']));
        match (generic, says("Self"), args.local.is_some(), borrows) {
            (false, true, _, _) => Registration::None,
            (false, false, true, _) | (false, false, false, true) => Registration::Local(path),
            (false, false, false, false) => Registration::Remote(path),
            (true, true, _, _) => Registration::Unregistrable("SaysSelf"),
            (true, false, true, _) => Registration::Unregistrable("MarkedLocal"),
            (true, false, false, true) => Registration::Unregistrable("BorrowsInItsSignature"),
            (true, false, false, false) => Registration::Generic(path),
        }
    }
}

/// Whether `tokens` contain the identifier `word`, also inside groups.
fn mentions_word(tokens: TokenStream, word: &str) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == word,
        proc_macro2::TokenTree::Group(group) => mentions_word(group.stream(), word),
        _ => false,
    })
}

/// `fn(String, u32) -> usize`: the types as written (a borrowed one as the
/// owned type the task stores, by its short name), spaced as rustfmt would.
fn signature_text(params: &[&syn::Type], output: &syn::Type) -> String {
    let tidy = |ty: &syn::Type| {
        let mut text = quote!(#ty).to_string();
        for (from, to) in [
            (":: std :: string :: String", "String"),
            (":: std :: path :: PathBuf", "PathBuf"),
            (":: std :: ffi :: OsString", "OsString"),
            (":: std :: ffi :: CString", "CString"),
            (":: std :: vec :: Vec", "Vec"),
            (" < ", "<"),
            ("< ", "<"),
            (" <", "<"),
            (" >", ">"),
            (" :: ", "::"),
            (":: ", "::"),
            (" ,", ","),
            ("& ", "&"),
            ("( ", "("),
            (" )", ")"),
            ("[ ", "["),
            (" ]", "]"),
            (" ;", ";"),
        ] {
            text = text.replace(from, to);
        }
        text
    };
    let params: Vec<String> = params.iter().map(|ty| tidy(ty)).collect();
    format!("fn({}) -> {}", params.join(", "), tidy(output))
}

/// What every task-building function shares: the facade's path, the task's
/// name, and whether its key is a hash of the call.
pub(crate) struct Task<'a> {
    pub(crate) krate: TokenStream,
    name: LitStr,
    pure: Option<&'a syn::Path>,
    /// Builder calls for retries, backoff and timeout.
    policy: TokenStream,
    output: &'a Output,
    is_async: bool,
    /// How the function's tasks record how to run on a worker (feature
    /// `distributed`).
    pub(crate) remote: Option<Remote>,
    /// What its tasks record for the cache (`#[delayed(cache)]`).
    pub(crate) cache: Option<CacheTask>,
}

/// How a task finds what it needs to run on a worker.
pub(crate) enum Remote {
    /// A registered function at this path: encoders and decoder found at
    /// compile time.
    Registered(TokenStream),
    /// An instantiation of a generic function, looked up when the task is
    /// built: the function's path and the type arguments.
    Instance {
        base: TokenStream,
        args: TokenStream,
    },
}

impl<'a> Task<'a> {
    pub(crate) fn new(args: &'a Args, ident: &Ident, sig: &'a Signature, is_async: bool) -> Self {
        let name = args.name.clone().unwrap_or_else(|| {
            LitStr::new(&syn::ext::IdentExt::unraw(ident).to_string(), ident.span())
        });
        let krate = args.krate();
        Task {
            policy: args.policy(&krate),
            krate,
            name,
            pure: args.pure.as_ref(),
            output: &sig.output,
            is_async,
            remote: None,
            cache: None,
        }
    }

    /// The facade's path with every token at `span`, so that an error in
    /// the code around it points at the user's token, not the attribute.
    pub(crate) fn krate_at(&self, span: Span) -> TokenStream {
        respan(&self.krate, span)
    }

    /// `x: impl IntoDelayed<T>` for each parameter.
    pub(crate) fn wrapper_params<'p>(
        &'p self,
        params: &'p [Param],
    ) -> impl Iterator<Item = TokenStream> + 'p {
        params.iter().map(move |param| {
            let (binding, stored) = (&param.binding, &param.stored);
            let krate = self.krate_at(stored.span());
            quote_spanned!(stored.span()=> #binding: impl #krate::IntoDelayed<#stored>)
        })
    }

    /// The user's predicates, and the bounds of the types that mention the
    /// function's (or impl's) generic parameters, so that users need not
    /// repeat `Send + Sync + 'static`. Concrete types are checked where the
    /// task is built, by calls spanned on the user's type: an unmet bound
    /// (`Rc<T>: TaskValue`, `Table: ByValue`) is reported there, with its
    /// explanation. `receiver` is the stored type of a method's receiver.
    pub(crate) fn where_clause(
        &self,
        generics: &Generics,
        params: &[Param],
        receiver: Option<(&syn::Type, Pass, &Generics)>,
    ) -> TokenStream {
        let mut type_params: Vec<&Ident> = generics.type_params().map(|p| &p.ident).collect();
        if let Some((_, _, outer)) = receiver {
            type_params.extend(outer.type_params().map(|p| &p.ident));
        }
        let mut bounds: Vec<TokenStream> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut bound = |ty: &syn::Type, requirement: Requirement| {
            if mentions(ty, &type_params) && seen.insert((quote!(#ty).to_string(), requirement)) {
                bounds.push(requirement.bound(&self.krate_at(ty.span()), ty));
            }
        };
        let receiver_param = receiver.map(|(ty, pass, _)| (ty, pass));
        let all = params
            .iter()
            .map(|param| (&param.stored, param.pass))
            .chain(receiver_param);
        for (ty, pass) in all {
            bound(ty, Requirement::TaskValue);
            if pass == Pass::Owned {
                bound(ty, Requirement::ByValue);
            }
            if self.pure.is_some() {
                bound(ty, Requirement::Hash);
            }
        }
        bound(self.output.value_type(), Requirement::TaskValue);
        let user_predicates = generics
            .where_clause
            .iter()
            .flat_map(|clause| clause.predicates.iter());
        quote!(where #(#user_predicates,)* #(#bounds,)*)
    }

    /// The statements that record the arguments and build the task, whose
    /// call evaluates `run` with each parameter's binding holding its read
    /// (`T` for an owned parameter, an `Arc<T>` for a shared one). For an
    /// async task `run` is evaluated inside an `async move` block.
    pub(crate) fn build(&self, params: &[Param], run: TokenStream) -> TokenStream {
        let krate = &self.krate;
        let slots: Vec<Ident> = (0..params.len())
            .map(|i| format_ident!("__delayed_slot{}", i))
            .collect();
        let records = params.iter().zip(&slots).map(|(param, slot)| {
            let binding = &param.binding;
            let krate = self.krate_at(param.stored.span());
            let record = match param.pass {
                Pass::Owned => quote!(arg_owned),
                Pass::Shared => quote!(arg),
            };
            let hash = self.pure.map(|_| {
                quote_spanned! {param.stored.span()=>
                    #krate::__private::PureKey::arg(&mut __delayed_pure, &__delayed_arg);
                }
            });
            quote_spanned! {param.stored.span()=>
                let #slot = {
                    let __delayed_arg = #krate::IntoDelayed::into_arg(#binding);
                    #hash
                    #krate::__private::TaskBuilder::#record(&mut __delayed_builder, __delayed_arg)
                };
            }
        });
        let value_type = self.output.value_type();
        let (start_pure, finish_pure) = match self.pure {
            // The closure's type name is the path of the function that
            // defines it (`my_crate::io::Point::new::{{closure}}`, with any
            // generic arguments): the function itself, whatever `name` says.
            Some(pure) => {
                let krate_here = self.krate_at(pure.span());
                let start = quote_spanned! {pure.span()=>
                    let mut __delayed_pure = #krate_here::__private::PureKey::new(
                        ::core::any::type_name_of_val(&|| ()),
                        ::core::any::type_name::<#value_type>(),
                    );
                };
                let finish = quote! {
                    #krate::__private::TaskBuilder::pure(&mut __delayed_builder, __delayed_pure.finish());
                };
                (start, finish)
            }
            None => (quote!(), quote!()),
        };
        let reads = params.iter().zip(&slots).map(|(param, slot)| {
            let binding = &param.binding;
            quote_spanned!(param.stored.span()=> let #binding = #slot.get(__delayed_inputs);)
        });
        let result = match self.output {
            Output::Value(_) => quote!(::core::result::Result::Ok(#run)),
            Output::Fallible(_) => {
                quote!(#krate::__private::IntoTaskResult::into_task_result(#run))
            }
        };
        let build = if self.is_async {
            quote_spanned! {value_type.span()=>
                __delayed_builder.shared_future::<#value_type, _, _>(move |__delayed_inputs| {
                    #(#reads)*
                    async move { #result }
                })
            }
        } else {
            quote_spanned! {value_type.span()=>
                __delayed_builder.shared_sync::<#value_type, _>(move |__delayed_inputs| {
                    #(#reads)*
                    #result
                })
            }
        };
        // How the task runs on a worker: each argument's encoder and the
        // result's decoder, found by method resolution as the registry's
        // runner is (`EncodeVia` for serde types, `EncodeFallback` else).
        let remote = self.remote.as_ref().map(|remote| match remote {
            Remote::Registered(path) => {
                let parts = params.iter().zip(&slots).map(|(param, slot)| {
                    let stored = &param.stored;
                    quote!(#slot.remote_part((&#krate::__private::Codec::<#stored>::new()).encoder()))
                });
                quote! {
                    {
                        #[allow(unused_imports)]
                        use #krate::__private::{
                            DecodeFallback as _, DecodeVia as _, EncodeFallback as _, EncodeVia as _,
                        };
                        #krate::__private::TaskBuilder::remote(
                            &mut __delayed_builder,
                            #path,
                            ::std::vec![#(#parts),*],
                            (&#krate::__private::Codec::<#value_type>::new()).decoder(),
                        );
                    }
                }
            }
            Remote::Instance { base, args } => {
                let parts = slots
                    .iter()
                    .enumerate()
                    .map(|(i, slot)| quote!(#slot.remote_part(__delayed_codecs.encoder(#i))));
                quote! {
                    if let ::core::option::Option::Some((__delayed_path, __delayed_codecs)) =
                        #krate::__private::instance(#base, &[#args])
                    {
                        #krate::__private::TaskBuilder::remote(
                            &mut __delayed_builder,
                            __delayed_path,
                            ::std::vec![#(#parts),*],
                            __delayed_codecs.decoder(),
                        );
                    }
                }
            }
        });
        let cache = self
            .cache
            .as_ref()
            .map(|cache| cache.record(krate, &self.name, value_type, params, &slots));
        let immutable = params.is_empty()
            && self.pure.is_none()
            && self.policy.is_empty()
            && remote.is_none()
            && cache.is_none();
        let binding = if immutable {
            quote!(let)
        } else {
            quote!(let mut)
        };
        let name = &self.name;
        let policy = &self.policy;
        quote! {
            #binding __delayed_builder = #krate::__private::TaskBuilder::new(&#name);
            #start_pure
            #(#records)*
            #finish_pure
            #policy
            #remote
            #cache
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
    fn bound(self, krate: &TokenStream, ty: &syn::Type) -> TokenStream {
        let span = ty.span();
        match self {
            Requirement::TaskValue => quote_spanned!(span=> #ty: #krate::TaskValue),
            Requirement::ByValue => quote_spanned!(span=> #ty: #krate::__private::ByValue),
            Requirement::Hash => quote_spanned!(span=> #ty: #krate::__private::PureArg),
        }
    }
}

/// What stands in for a function the attribute rejected: its lazy
/// signature with no body, so that callers type-check against what the
/// function would have been and only the real error is shown (as
/// `serde_derive` emits a dummy impl). `None` where no such signature can
/// be written (a method, `impl Trait`, a variadic).
pub(crate) fn stand_in(args: &Args, function: &ItemFn) -> Option<TokenStream> {
    let sig = &function.sig;
    let has_impl_trait = sig.inputs.iter().any(|input| match input {
        syn::FnArg::Typed(typed) => mentions_impl_trait(&typed.ty),
        syn::FnArg::Receiver(_) => true,
    }) || matches!(&sig.output, syn::ReturnType::Type(_, ty) if mentions_impl_trait(ty));
    if has_impl_trait || sig.variadic.is_some() {
        return None;
    }
    let model = Signature::of(sig);
    let krate = args.krate();
    let ident = &sig.ident;
    let name = ident.to_string();
    let vis = &function.vis;
    let docs = function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"));
    // Lifetimes have nothing to borrow in a stand-in: every type is owned.
    let type_params = sig.generics.type_params().map(|param| {
        let mut param = param.clone();
        param.bounds = param
            .bounds
            .into_iter()
            .filter(|bound| !matches!(bound, syn::TypeParamBound::Lifetime(_)))
            .collect();
        param
    });
    let stored: Vec<syn::Type> = model.params.iter().map(|p| owned(&p.stored)).collect();
    let output = owned(model.output.value_type());
    // A borrow left inside a type (`Vec<&str>`) has no lifetime to name.
    if stored.iter().chain([&output]).any(|ty| {
        let text = quote!(#ty).to_string();
        text.contains('&') || text.contains('\'')
    }) {
        return None;
    }
    let params = stored
        .iter()
        .map(|stored| quote!(_: impl #krate::IntoDelayed<#stored>));
    Some(quote! {
        #(#docs)*
        #[allow(dead_code, clippy::all)]
        #vis fn #ident<#(#type_params),*>(#(#params),*) -> #krate::Delayed<#output> {
            #krate::__private::rejected(#name)
        }
    })
}

/// The owned form of a type: a borrow's referent, as the task would
/// store it (`&str` as `String`).
fn owned(ty: &syn::Type) -> syn::Type {
    match ty {
        syn::Type::Reference(reference) => crate::signature::stored_type(&reference.elem),
        other => other.clone(),
    }
}

fn mentions_impl_trait(ty: &syn::Type) -> bool {
    quote!(#ty).into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => group.stream().to_string().contains("impl "),
        _ => false,
    })
}

/// `tokens` with every token (also inside groups) located at `span`, for
/// error messages, while keeping their own hygiene: `$crate` from the
/// facade's `compute!` still names the facade.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            let located = token.span().located_at(span);
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(located);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(located);
            }
            token
        })
        .collect()
}

/// Whether `ty` names one of the function's type parameters.
fn mentions(ty: &syn::Type, type_params: &[&Ident]) -> bool {
    fn scan(tokens: TokenStream, type_params: &[&Ident]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => type_params.iter().any(|p| **p == ident),
            proc_macro2::TokenTree::Group(group) => scan(group.stream(), type_params),
            _ => false,
        })
    }
    scan(quote!(#ty), type_params)
}
