//! The model of a `#[delayed]` function: how each parameter is passed and
//! what the task returns. Built after validation, so it does not fail.

use proc_macro2::{Span, TokenStream};
use syn::{FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Type};

pub(crate) struct Signature {
    /// `&self` (shared) or `self` (owned), for a method.
    pub(crate) receiver: Option<Pass>,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
    /// The return type as written (`()` when there is none).
    pub(crate) returns: Type,
}

#[derive(Clone)]
pub(crate) struct Param {
    /// The wrapper's name for the argument: the user's identifier when the
    /// parameter is a plain binding, a generated one for other patterns.
    pub(crate) binding: Ident,
    /// The parameter as the user wrote it, bound at the top of the body.
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
    /// The type of the value the task stores: `T` for both `T` and `&T`,
    /// `String` for `&str`, `Vec<T>` for `&[T]`.
    pub(crate) stored: Type,
    pub(crate) pass: Pass,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// `x: T`: moved from the last consumer, cloned for the others.
    Owned,
    /// `x: &T`: borrows the shared value.
    Shared,
}

pub(crate) enum Output {
    /// `-> T` (or no return type: `()`).
    Value(Type),
    /// `-> Result<T, E>`: the task's value is `T`; an `Err` fails the compute.
    Fallible(Type),
}

impl Output {
    pub(crate) fn value_type(&self) -> &Type {
        match self {
            Output::Value(ty) | Output::Fallible(ty) => ty,
        }
    }
}

impl Signature {
    pub(crate) fn of(sig: &syn::Signature) -> Signature {
        let receiver = sig.receiver().map(|receiver| {
            if receiver.reference.is_some() {
                Pass::Shared
            } else {
                Pass::Owned
            }
        });
        let params = sig
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(i, input)| match input {
                FnArg::Typed(typed) => Some(Param::new(i, &typed.pat, &typed.ty)),
                FnArg::Receiver(_) => None,
            })
            .collect();
        let returns: Type = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        let output = match result_ok_type(&returns) {
            Some(ok) => Output::Fallible(ok.clone()),
            None => Output::Value(returns.clone()),
        };
        Signature {
            receiver,
            params,
            output,
            returns,
        }
    }
}

impl Param {
    fn new(index: usize, pat: &Pat, ty: &Type) -> Param {
        let binding = match pat {
            Pat::Ident(ident) if ident.subpat.is_none() => ident.ident.clone(),
            _ => Ident::new(&format!("__delayed_arg{index}"), Span::call_site()),
        };
        let (stored, pass) = match ty {
            // `&'static T` is an ordinary `'static` value, passed as is.
            Type::Reference(reference) if !is_static(reference) => {
                (stored_type(&reference.elem), Pass::Shared)
            }
            _ => (ty.clone(), Pass::Owned),
        };
        Param {
            binding,
            pat: pat.clone(),
            ty: ty.clone(),
            stored,
            pass,
        }
    }
}

pub(crate) fn is_static(reference: &syn::TypeReference) -> bool {
    reference
        .lifetime
        .as_ref()
        .is_some_and(|lifetime| lifetime.ident == "static")
}

/// What a `&ty` parameter borrows from: the unsized `str`, `[T]`, `Path`,
/// `OsStr` and `CStr` are stored as their owned forms (`String`, `Vec<T>`,
/// `PathBuf`, `OsString`, `CString`), which deref to them at the call.
pub(crate) fn stored_type(ty: &Type) -> Type {
    const OWNED: [(&str, &str); 4] = [
        ("str", "::std::string::String"),
        ("Path", "::std::path::PathBuf"),
        ("OsStr", "::std::ffi::OsString"),
        ("CStr", "::std::ffi::CString"),
    ];
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last().map(|s| s.ident.to_string());
            let owned = OWNED
                .iter()
                .find(|(borrowed, _)| last.as_deref() == Some(*borrowed));
            match owned {
                Some((_, owned)) => {
                    let owned: TokenStream = owned.parse().expect("a valid path");
                    let span = path.path.segments.last().expect("a segment").ident.span();
                    syn::parse_quote_spanned!(span=> #owned)
                }
                None => ty.clone(),
            }
        }
        Type::Slice(slice) => {
            let elem = &slice.elem;
            syn::parse_quote_spanned!(slice.bracket_token.span.join()=> ::std::vec::Vec<#elem>)
        }
        other => other.clone(),
    }
}

/// `T` when `ty` is `Result<T, …>` (any path whose last segment is
/// `Result`, so `io::Result<T>` and `anyhow::Result<T>` count too).
pub(crate) fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn model(item: &str) -> Signature {
        Signature::of(&syn::parse_str::<syn::ItemFn>(item).unwrap().sig)
    }

    fn shown(ty: &Type) -> String {
        ty.to_token_stream().to_string().replace(' ', "")
    }

    #[test]
    fn parameters_are_owned_or_shared() {
        let sig = model(
            "fn f(a: i64, b: &Vec<u8>, c: &str, d: &[u32], e: &'static str, p: &std::path::Path) {}",
        );
        let passes: Vec<Pass> = sig.params.iter().map(|p| p.pass).collect();
        use Pass::*;
        assert_eq!(passes, [Owned, Shared, Shared, Shared, Owned, Shared]);
        let stored: Vec<String> = sig.params.iter().map(|p| shown(&p.stored)).collect();
        assert_eq!(
            stored,
            [
                "i64",
                "Vec<u8>",
                "::std::string::String",
                "::std::vec::Vec<u32>",
                "&'staticstr",
                "::std::path::PathBuf"
            ]
        );
    }

    #[test]
    fn receivers_are_shared_or_owned() {
        assert_eq!(model("fn f(&self) {}").receiver, Some(Pass::Shared));
        assert_eq!(model("fn f(self, x: u8) {}").receiver, Some(Pass::Owned));
        assert_eq!(model("fn f(x: u8) {}").receiver, None);
        assert_eq!(model("fn f(self, x: u8) {}").params.len(), 1);
    }

    #[test]
    fn patterns_get_generated_bindings() {
        let sig = model("fn f((a, b): (i64, i64), mut c: u8, _: u8) {}");
        let names: Vec<String> = sig.params.iter().map(|p| p.binding.to_string()).collect();
        assert_eq!(names, ["__delayed_arg0", "c", "__delayed_arg2"]);
    }

    #[test]
    fn results_are_fallible_whatever_their_path() {
        for (item, expected) in [
            ("fn f() -> Result<u8, E> {}", Some("u8")),
            ("fn f() -> std::io::Result<Vec<u8>> {}", Some("Vec<u8>")),
            ("fn f() -> anyhow::Result<()> {}", Some("()")),
            ("fn f() -> Option<u8> {}", None),
        ] {
            match model(item).output {
                Output::Fallible(ok) => assert_eq!(Some(shown(&ok).as_str()), expected),
                Output::Value(_) => assert_eq!(expected, None, "{item}"),
            }
        }
        assert!(matches!(model("fn f() {}").output, Output::Value(ty) if shown(&ty) == "()"));
    }
}
