//! Every rejection of `#[delayed]`, each with a span on the token to change
//! and a help line that says what to write instead.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{FnArg, Ident, Item, ItemFn, ReturnType, Type};

use crate::signature::{is_static, result_ok_type};

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn combine(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let error = syn::Error::new(span, message);
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        let error = syn::Error::new_spanned(tokens, message);
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// What `#[delayed]` was put on.
pub(crate) enum Target<'a> {
    Function(&'a ItemFn),
    Impl(&'a syn::ItemImpl),
}

/// Rejects items that are neither functions nor impl blocks.
pub(crate) fn item(item: &Item) -> syn::Result<Target<'_>> {
    let (span, what) = match item {
        Item::Fn(function) => return Ok(Target::Function(function)),
        Item::Impl(block) => return Ok(Target::Impl(block)),
        Item::Struct(s) => (s.struct_token.span, "a struct"),
        Item::Enum(e) => (e.enum_token.span, "an enum"),
        Item::Union(u) => (u.union_token.span, "a union"),
        Item::Trait(t) => (t.trait_token.span, "a trait"),
        Item::Mod(m) => (m.mod_token.span, "a module"),
        Item::Const(c) => (c.const_token.span, "a constant"),
        Item::Static(s) => (s.static_token.span, "a static"),
        Item::Type(t) => (t.type_token.span, "a type alias"),
        Item::Use(u) => (u.use_token.span, "a `use` declaration"),
        Item::Verbatim(tokens) => match syn::parse2::<syn::TraitItemFn>(tokens.clone()) {
            // `fn f(…);` in a trait or an `extern` block.
            Ok(declaration) => {
                return Err(syn::Error::new_spanned(
                    &declaration.sig.ident,
                    "`#[delayed]` needs a function with a body: the body becomes the task\nhelp: put `#[delayed]` on a free function that calls this one, e.g. `#[delayed] fn load(path: String) -> Vec<u8> { read(&path) }`",
                ));
            }
            Err(_) => (Span::call_site(), "this item"),
        },
        _ => (Span::call_site(), "this item"),
    };
    Err(syn::Error::new(
        span,
        format!(
            "`#[delayed]` applies to functions and impl blocks, not to {what}\nhelp: put `#[delayed]` on a function, e.g. `#[delayed] fn load(path: String) -> Vec<u8>`"
        ),
    ))
}

/// Rejects impl blocks whose methods cannot be called on a handle; returns
/// the name of the type, for the generated trait's name.
pub(crate) fn impl_block(block: &syn::ItemImpl) -> syn::Result<Ident> {
    let mut errors = Errors::default();
    if let Some((_, path, _)) = &block.trait_ {
        errors.push_spanned(
            path,
            "`#[delayed]` cannot be used on a trait impl: the trait fixes the methods' signatures, and a lazy method returns a `Delayed<T>`\nhelp: put `#[delayed]` on an inherent impl block (`impl Point { … }`), or on a free function that calls the trait method",
        );
    }
    lifetimes(
        &block.generics,
        "a `#[delayed]` impl block cannot have lifetime parameters: task values outlive the call that builds the graph, so they must be `'static`\nhelp: implement the methods for an owned type",
        &mut errors,
    );
    let name = type_name(
        &block.self_ty,
        "`#[delayed]` on an impl block needs a named type, such as a struct or an enum\nhelp: wrap the value in a struct of your own, or use free `#[delayed]` functions",
    );
    if let Err(error) = &name {
        errors.combine(error.clone());
    }
    errors.finish()?;
    name
}

/// The name of the type whose methods get lazy twins: the last segment
/// of its path, which names their trait (`DelayedFrame`); else `message`.
pub(crate) fn type_name(ty: &Type, message: &str) -> syn::Result<Ident> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.clone()),
        _ => None,
    }
    .ok_or_else(|| syn::Error::new_spanned(ty, message))
}

/// Rejects a method of a `#[delayed]` impl block that cannot be called
/// lazily: everything [`function`] rejects, and receivers other than
/// `&self` and `self`.
pub(crate) fn method(sig: &syn::Signature) -> syn::Result<()> {
    let mut errors = Errors::default();
    signature(sig, &mut errors, true);
    errors.finish()
}

/// Rejects functions that cannot become tasks.
pub(crate) fn function(function: &ItemFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    signature(&function.sig, &mut errors, false);
    errors.finish()
}

/// Checks a signature; `in_delayed_impl` when it is a method of a
/// `#[delayed]` impl block, where `&self` and `self` are allowed.
fn signature(sig: &syn::Signature, errors: &mut Errors, in_delayed_impl: bool) {
    if let Some(constness) = &sig.constness {
        errors.push(
            constness.span,
            "`#[delayed]` cannot be used on a `const fn`: calling it builds a task at run time\nhelp: remove `const`",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(
            unsafety.span,
            "`#[delayed]` cannot be used on an `unsafe fn`: the task runs later, on another thread, where the caller's safety promises no longer hold\nhelp: remove `unsafe` and put an `unsafe { … }` block, with its safety argument, inside the body",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.push_spanned(
            abi,
            "`#[delayed]` cannot be used on an `extern` function: a task is called by the scheduler with Rust's calling convention\nhelp: remove the `extern` ABI; to run a foreign function as a task, call it from a `#[delayed]` Rust function",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.push_spanned(
            variadic,
            "`#[delayed]` cannot be used on a variadic function: a task has a fixed list of typed parameters\nhelp: take the extra arguments as one parameter, e.g. `args: Vec<i64>`",
        );
    }
    lifetimes(
        &sig.generics,
        "`#[delayed]` functions cannot have lifetime parameters: task values outlive the call that builds the graph, so they must be `'static`\nhelp: remove the lifetime; take owned values (`String`) or `&T`, which borrows the task's shared input",
        errors,
    );
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) if !in_delayed_impl => errors.push_spanned(
                receiver,
                "`#[delayed]` on a method that takes `self` belongs on its impl block: the lazy method is called on a `Delayed<Self>`, which needs a trait of its own\nhelp: write `#[delayed]` above `impl Point { … }`; then `point.area()` on a `Delayed<Point>` builds a task named `area`",
            ),
            FnArg::Receiver(receiver) if receiver.colon_token.is_some() => errors.push_spanned(
                receiver,
                "a lazy method takes `&self` or `self`: the task holds the value itself, not a `Box`, `Rc` or `Arc` of it\nhelp: write `&self` to borrow the shared value, or `self` to take it",
            ),
            FnArg::Receiver(receiver) if receiver.mutability.is_some() && receiver.reference.is_some() => {
                errors.push_spanned(
                    receiver,
                    "a lazy method cannot take `&mut self`: the value may be shared with other tasks running at the same time\nhelp: take `self`, change it, and return it",
                )
            }
            FnArg::Receiver(_) => {}
            FnArg::Typed(typed) => parameter(&typed.ty, errors),
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        output(ty, errors);
    }
}

/// Rejects each lifetime parameter of `generics` with `message`.
fn lifetimes(generics: &syn::Generics, message: &str, errors: &mut Errors) {
    for lifetime in generics.lifetimes() {
        errors.push_spanned(lifetime, message);
    }
}

fn parameter(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(reference) if reference.mutability.is_some() => {
            let (and, mutability) = (&reference.and_token, &reference.mutability);
            errors.push_spanned(
                quote::quote!(#and #mutability),
                "a task cannot take `&mut`: its input may be shared with other tasks running at the same time\nhelp: take the value (`T`), change it, and return it",
            );
        }
        Type::Reference(reference) if !is_static(reference) => {
            if let Some(span) = inner_borrow(reference.elem.to_token_stream()) {
                errors.push(span, NESTED_BORROW);
            }
        }
        Type::ImplTrait(impl_trait) => errors.push_spanned(
            impl_trait,
            "`impl Trait` cannot be the type of a task parameter: the task must name the type of the value it stores\nhelp: add a generic parameter instead, e.g. `fn f<T: Trait + Clone + Send + Sync + 'static>(x: T)`",
        ),
        other => {
            if let Some(span) = inner_borrow(other.to_token_stream()) {
                errors.push(span, NESTED_BORROW);
            }
        }
    }
}

const NESTED_BORROW: &str = "a task value cannot hold a borrow: values outlive the call that builds the graph, so they must be `'static`\nhelp: use an owned type, e.g. `String` for `&str` or `Vec<T>` for `&[T]`; a parameter may itself be `&T`";

fn output(ty: &Type, errors: &mut Errors) {
    let value = result_ok_type(ty).unwrap_or(ty);
    match value {
        Type::Reference(reference) if !is_static(reference) => {
            let (and, lifetime) = (&reference.and_token, &reference.lifetime);
            errors.push_spanned(
                quote::quote!(#and #lifetime),
                "a task cannot return a borrow: its value is stored after the function returns\nhelp: return an owned value, e.g. `String` instead of `&str`, `Vec<T>` instead of `&[T]`",
            );
        }
        Type::ImplTrait(impl_trait) => {
            let help = if impl_trait
                .bounds
                .iter()
                .any(|bound| bound.to_token_stream().to_string().contains("Future"))
            {
                "help: write an `async fn` returning the output type instead"
            } else {
                "help: name the concrete type, or return `Box<dyn Trait + Send + Sync>`"
            };
            errors.push_spanned(
                impl_trait,
                format!("a task cannot return `impl Trait`: the handle must name the type of the value\n{help}"),
            );
        }
        other => {
            if let Some(span) = inner_borrow(other.to_token_stream()) {
                errors.push(span, NESTED_BORROW);
            }
        }
    }
}

/// The span of a borrow (`&` or `&'a`, but not `&'static`) or a non-`'static`
/// lifetime inside a type, skipping the argument lists of `Fn(…)` and
/// `fn(…)` types, whose borrows are higher-ranked and fine.
fn inner_borrow(tokens: TokenStream) -> Option<Span> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_static_at = |i: usize| {
        matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '\'')
            && matches!(tokens.get(i + 1), Some(TokenTree::Ident(name)) if name == "static")
    };
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Punct(punct) if punct.as_char() == '&' && !is_static_at(i + 1) => {
                return Some(punct.span());
            }
            TokenTree::Punct(punct) if punct.as_char() == '\'' && !is_static_at(i) => {
                return Some(punct.span());
            }
            TokenTree::Group(group) => {
                let after_fn = i > 0
                    && matches!(&tokens[i - 1], TokenTree::Ident(ident)
                        if ident == "Fn" || ident == "FnMut" || ident == "FnOnce" || ident == "fn");
                let skip = after_fn && group.delimiter() == Delimiter::Parenthesis;
                if !skip && let Some(span) = inner_borrow(group.stream()) {
                    return Some(span);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(item: &str) -> Vec<String> {
        let item: Item = syn::parse_str(item).unwrap();
        let checked = self::item(&item).and_then(|target| match target {
            Target::Function(f) => function(f),
            Target::Impl(block) => impl_block(block).map(drop),
        });
        match checked {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_ordinary_functions() {
        for item in [
            "fn f(x: i64, y: &Vec<u8>) -> Result<u8, String> {}",
            "async fn f(x: Box<dyn Fn(&str) -> bool + Send + Sync>) {}",
            "fn f<T: Clone>(x: T, s: &'static str) -> &'static str {}",
            "pub(crate) fn f((a, b): (u8, u8)) -> Vec<(u8, u8)> {}",
        ] {
            assert_eq!(errors(item), Vec::<String>::new(), "{item}");
        }
    }

    #[test]
    fn each_rejection_has_its_own_message() {
        for (item, start) in [
            (
                "const fn f() {}",
                "`#[delayed]` cannot be used on a `const fn`",
            ),
            (
                "unsafe fn f() {}",
                "`#[delayed]` cannot be used on an `unsafe fn`",
            ),
            (
                "extern \"C\" fn f() {}",
                "`#[delayed]` cannot be used on an `extern` function",
            ),
            (
                "fn f(&self) {}",
                "`#[delayed]` on a method that takes `self` belongs on its impl block",
            ),
            (
                "fn f<'a>(x: &'a u8) {}",
                "`#[delayed]` functions cannot have lifetime parameters",
            ),
            ("fn f(x: &mut u8) {}", "a task cannot take `&mut`"),
            (
                "fn f(x: impl Clone) {}",
                "`impl Trait` cannot be the type of a task parameter",
            ),
            ("fn f(x: Vec<&str>) {}", "a task value cannot hold a borrow"),
            ("fn f() -> &str {}", "a task cannot return a borrow"),
            (
                "fn f() -> Result<&str, E> {}",
                "a task cannot return a borrow",
            ),
            (
                "fn f() -> impl Clone {}",
                "a task cannot return `impl Trait`",
            ),
            (
                "struct S;",
                "`#[delayed]` applies to functions and impl blocks, not to a struct",
            ),
            (
                "impl Clone for S {}",
                "`#[delayed]` cannot be used on a trait impl",
            ),
            (
                "impl<'a> S<'a> {}",
                "a `#[delayed]` impl block cannot have lifetime parameters",
            ),
            (
                "impl [u8] {}",
                "`#[delayed]` on an impl block needs a named type",
            ),
        ] {
            let found = errors(item);
            assert_eq!(found.len(), 1, "{item}: {found:?}");
            assert!(found[0].starts_with(start), "{item}: {}", found[0]);
            assert!(found[0].contains("\nhelp: "), "{item}: {}", found[0]);
        }
    }

    #[test]
    fn methods_take_self_or_a_reference_to_it() {
        let method = |sig: &str| {
            let item: syn::ItemFn = syn::parse_str(&format!("{sig} {{}}")).unwrap();
            method(&item.sig).err().map(|e| e.to_string())
        };
        assert_eq!(method("fn f(&self, x: u8)"), None);
        assert_eq!(method("fn f(mut self)"), None);
        assert!(
            method("fn f(&mut self)")
                .unwrap()
                .starts_with("a lazy method cannot take `&mut self`")
        );
        assert!(
            method("fn f(self: Box<Self>)")
                .unwrap()
                .starts_with("a lazy method takes `&self` or `self`")
        );
    }

    #[test]
    fn all_problems_are_reported_together() {
        assert_eq!(
            errors("const unsafe fn f(&self, x: &mut u8) -> &u8 {}").len(),
            5
        );
    }
}
