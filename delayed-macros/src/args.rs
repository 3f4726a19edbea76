//! Parsing `#[delayed(name = "…")]`.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// The arguments of one `#[delayed(…)]` attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// Prefix of the task keys, instead of the function's name.
    pub(crate) name: Option<LitStr>,
}

const EXPECTED: &str = "`#[delayed]` takes `name = \"…\"`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let mut args = Args::default();
        let mut errors: Option<syn::Error> = None;
        let mut fail = |error: syn::Error| match &mut errors {
            Some(errors) => errors.combine(error),
            None => errors = Some(error),
        };
        for meta in Punctuated::<Meta, Token![,]>::parse_terminated(input)? {
            match meta {
                Meta::NameValue(pair) if pair.path.is_ident("name") => match pair.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(name),
                        ..
                    }) => {
                        if args.name.is_some() {
                            fail(syn::Error::new_spanned(
                                &pair.path,
                                "`name` is given twice\nhelp: keep one `name = \"…\"`",
                            ));
                        } else if !is_key_name(&name.value()) {
                            fail(syn::Error::new(
                                name.span(),
                                "a task name must be a non-empty word of letters, digits, `_`, `-` or `.`\nhelp: write for example `name = \"load\"`",
                            ));
                        } else {
                            args.name = Some(name);
                        }
                    }
                    other => fail(syn::Error::new_spanned(
                        other,
                        "`name` takes a string\nhelp: write `name = \"load\"`",
                    )),
                },
                Meta::Path(path) if path.is_ident("name") => fail(syn::Error::new_spanned(
                    path,
                    "`name` needs a value\nhelp: write `name = \"load\"`",
                )),
                other => {
                    let path = other.path();
                    let shown = quote::ToTokens::to_token_stream(path)
                        .to_string()
                        .replace(' ', "");
                    fail(syn::Error::new_spanned(
                        path,
                        format!("unknown argument `{shown}`\nhelp: {EXPECTED}"),
                    ));
                }
            }
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(args),
        }
    }
}

fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
