//! Parsing `#[delayed(pure, local, name = "…", retries = 3, backoff = "…",
//! timeout = "…", priority = 10, resources(gpu = 1, memory = "4GiB"),
//! cache, uses = […], version = "…", crate = "…", trait_name = "…")]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Meta, Path, Token};

/// Records `cache` once, or says that it was given twice.
fn set_cache(args: &mut Args, cache: Cache, path: &Path, fail: &mut impl FnMut(syn::Error)) {
    if args.cache.is_some() {
        fail(syn::Error::new_spanned(
            path,
            "`cache` is given twice\nhelp: keep one `cache`, `cache(by_value)` or `cache = false`",
        ));
    } else {
        args.cache = Some(cache);
        args.cache_span = Some(syn::spanned::Spanned::span(path));
    }
}

/// The arguments of one `#[delayed(…)]` attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// Prefix of the task keys, instead of the function's name.
    pub(crate) name: Option<LitStr>,
    /// Identical calls share a key (a hash of the call) and run once.
    pub(crate) pure: Option<Path>,
    /// Never run from bytes in another process (feature `distributed`),
    /// even when the function's types are serde types.
    pub(crate) local: Option<Path>,
    /// The path of the `delayed` crate, for a renamed dependency:
    /// `#[dl::delayed(crate = "dl")]`.
    pub(crate) krate: Option<Path>,
    /// On an impl block: the name of the generated trait of lazy methods.
    pub(crate) trait_name: Option<Ident>,
    /// Runs a failed task again, up to this many times (at least 1).
    pub(crate) retries: Option<LitInt>,
    /// The pause before the first retry, in milliseconds.
    pub(crate) backoff: Option<(LitStr, u64)>,
    /// How long one attempt may take, in milliseconds (more than 0).
    pub(crate) timeout: Option<(LitStr, u64)>,
    /// `cache`, `cache = true`, `cache(by_value)` or `cache = false`.
    pub(crate) cache: Option<Cache>,
    /// Where `cache` is written.
    pub(crate) cache_span: Option<proc_macro2::Span>,
    /// `uses = [helper, …]`: helpers whose tokens are part of the key.
    pub(crate) uses: Vec<Path>,
    /// `version = "…"`: a salt of the function's cache keys.
    pub(crate) version: Option<LitStr>,
    /// `priority = n`: among ready tasks, a higher one runs first.
    pub(crate) priority: Option<(Expr, i32)>,
    /// `resources(name = amount, …)`: what each task needs to run.
    pub(crate) resources: Vec<(Ident, Amount)>,
}

/// One amount of `resources(…)`: a count, or a size to check as the
/// crate compiles (`"4GiB"`).
#[derive(Clone)]
pub(crate) enum Amount {
    Count(LitInt),
    Size(LitStr),
}

/// What `cache` says: whether the function's tasks are cached, and how
/// their inputs are keyed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Cache {
    /// `cache = false`: never cached.
    Off,
    /// `cache`: keyed on its inputs' keys.
    ByKey,
    /// `cache(by_value)`: keyed on its inputs' values.
    ByValue,
}

impl Args {
    /// The path generated code names the facade by: `::delayed` unless
    /// `crate = "…"` says otherwise.
    pub(crate) fn krate(&self) -> TokenStream {
        match &self.krate {
            Some(path) => quote!(#path),
            None => quote!(::delayed),
        }
    }

    /// `#[path::delayed(…)]` with these arguments, for a function the
    /// expansion hands back to the attribute.
    pub(crate) fn to_attribute(&self) -> TokenStream {
        let krate = self.krate();
        let mut args = Vec::new();
        if self.pure.is_some() {
            args.push(quote!(pure));
        }
        if self.local.is_some() {
            args.push(quote!(local));
        }
        if let Some(name) = &self.name {
            args.push(quote!(name = #name));
        }
        if let Some(retries) = &self.retries {
            args.push(quote!(retries = #retries));
        }
        if let Some((backoff, _)) = &self.backoff {
            args.push(quote!(backoff = #backoff));
        }
        if let Some((timeout, _)) = &self.timeout {
            args.push(quote!(timeout = #timeout));
        }
        if let Some((priority, _)) = &self.priority {
            args.push(quote!(priority = #priority));
        }
        if !self.resources.is_empty() {
            let pairs = self.resources.iter().map(|(name, amount)| match amount {
                Amount::Count(count) => quote!(#name = #count),
                Amount::Size(size) => quote!(#name = #size),
            });
            args.push(quote!(resources(#(#pairs),*)));
        }
        match self.cache {
            Some(Cache::Off) => args.push(quote!(cache = false)),
            Some(Cache::ByKey) => args.push(quote!(cache)),
            Some(Cache::ByValue) => args.push(quote!(cache(by_value))),
            None => {}
        }
        if !self.uses.is_empty() {
            let uses = &self.uses;
            args.push(quote!(uses = [#(#uses),*]));
        }
        if let Some(version) = &self.version {
            args.push(quote!(version = #version));
        }
        if let Some(path) = &self.krate {
            let text = quote!(#path).to_string().replace(' ', "");
            args.push(quote!(crate = #text));
        }
        quote!(#[#krate::delayed(#(#args),*)])
    }

    /// The builder calls that give the task its retries, backoff and
    /// timeout; empty when none is set.
    pub(crate) fn policy(&self, krate: &TokenStream) -> TokenStream {
        let mut calls = Vec::new();
        if let Some(retries) = &self.retries {
            calls.push(
                quote!(#krate::__private::TaskBuilder::retries(&mut __delayed_builder, #retries);),
            );
        }
        if let Some((_, ms)) = &self.backoff {
            calls.push(
                quote!(#krate::__private::TaskBuilder::backoff_ms(&mut __delayed_builder, #ms);),
            );
        }
        if let Some((_, ms)) = &self.timeout {
            calls.push(
                quote!(#krate::__private::TaskBuilder::timeout_ms(&mut __delayed_builder, #ms);),
            );
        }
        if let Some((_, priority)) = &self.priority {
            calls.push(
                quote!(#krate::__private::TaskBuilder::priority(&mut __delayed_builder, #priority);),
            );
        }
        for (name, amount) in &self.resources {
            let name = name.to_string();
            // A size is read by a `const`, so that a bad one fails the
            // build, pointing at it.
            let amount = match amount {
                Amount::Count(count) => quote!(#count),
                Amount::Size(size) => {
                    // Every token at the size, so that the error points at it.
                    let krate = respan(krate.clone(), size.span());
                    quote::quote_spanned! {size.span()=>
                        {
                            const AMOUNT: u64 = #krate::__private::checked_amount(#size);
                            AMOUNT
                        }
                    }
                }
            };
            calls.push(quote!(
                #krate::__private::TaskBuilder::resource(&mut __delayed_builder, #name, #amount);
            ));
        }
        quote!(#(#calls)*)
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}

const EXPECTED: &str = "`#[delayed]` takes `pure`, `local`, `name = \"…\"`, `retries = 3`, `backoff = \"100ms\"`, `timeout = \"30s\"`, `priority = 10`, `resources(gpu = 1)`, `cache`, `uses = [helper]`, `version = \"2\"`, `crate = \"…\"` and, on an impl block, `trait_name = \"…\"`, e.g. `#[delayed(pure, name = \"load\")]`";

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
                Meta::NameValue(pair) if pair.path.is_ident("crate") => {
                    match string_value(&pair.value, "crate", "dl") {
                        Ok(path) if args.krate.is_some() => fail(syn::Error::new(
                            path.span(),
                            "`crate` is given twice\nhelp: keep one `crate = \"…\"`",
                        )),
                        Ok(path) => match path.parse::<Path>() {
                            Ok(parsed) => args.krate = Some(parsed),
                            Err(_) => fail(syn::Error::new(
                                path.span(),
                                "`crate` takes the path of the `delayed` crate as this crate names it\nhelp: write for example `crate = \"dl\"` when Cargo.toml says `dl = { package = \"delayed\" }`",
                            )),
                        },
                        Err(error) => fail(error),
                    }
                }
                Meta::NameValue(pair) if pair.path.is_ident("trait_name") => {
                    match string_value(&pair.value, "trait_name", "PointTasks") {
                        Ok(name) => match name.parse::<Ident>() {
                            Ok(ident) if args.trait_name.is_none() => args.trait_name = Some(ident),
                            Ok(_) => fail(syn::Error::new(
                                name.span(),
                                "`trait_name` is given twice\nhelp: keep one `trait_name = \"…\"`",
                            )),
                            Err(_) => fail(syn::Error::new(
                                name.span(),
                                "`trait_name` takes the name of a trait\nhelp: write for example `trait_name = \"PointTasks\"`",
                            )),
                        },
                        Err(error) => fail(error),
                    }
                }
                Meta::NameValue(pair) if pair.path.is_ident("retries") => match &pair.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(count),
                        ..
                    }) => match count.base10_parse::<u32>() {
                        _ if args.retries.is_some() => fail(syn::Error::new_spanned(
                            &pair.path,
                            "`retries` is given twice\nhelp: keep one `retries = …`",
                        )),
                        Ok(0) => fail(syn::Error::new(
                            count.span(),
                            "`retries = 0` retries nothing\nhelp: give at least 1, or leave `retries` out",
                        )),
                        Ok(_) => args.retries = Some(count.clone()),
                        Err(_) => fail(syn::Error::new(
                            count.span(),
                            "`retries` takes a whole number of retries\nhelp: write for example `retries = 3`",
                        )),
                    },
                    other => fail(syn::Error::new_spanned(
                        other,
                        "`retries` takes a whole number of retries\nhelp: write for example `retries = 3`",
                    )),
                },
                Meta::NameValue(pair)
                    if pair.path.is_ident("timeout") || pair.path.is_ident("backoff") =>
                {
                    let timeout = pair.path.is_ident("timeout");
                    let key = if timeout { "timeout" } else { "backoff" };
                    let example = if timeout { "30s" } else { "100ms" };
                    let slot = if timeout {
                        &mut args.timeout
                    } else {
                        &mut args.backoff
                    };
                    match string_value(&pair.value, key, example) {
                        Ok(text) if slot.is_some() => fail(syn::Error::new(
                            text.span(),
                            format!("`{key}` is given twice\nhelp: keep one `{key} = \"…\"`"),
                        )),
                        Ok(text) => match parse_duration_ms(&text.value()) {
                            Some(0) if timeout => fail(syn::Error::new(
                                text.span(),
                                "a timeout of zero leaves no time to run\nhelp: give a positive duration, e.g. `timeout = \"30s\"`",
                            )),
                            Some(ms) => *slot = Some((text, ms)),
                            None => fail(syn::Error::new(
                                text.span(),
                                format!(
                                    "`{key}` takes a duration: a whole number and a unit (`ms`, `s`, `m` or `h`)\nhelp: write for example `{key} = \"{example}\"`"
                                ),
                            )),
                        },
                        Err(error) => fail(error),
                    }
                }
                Meta::NameValue(pair) if pair.path.is_ident("priority") => {
                    const HELP: &str = "`priority` takes a whole number, higher first, 0 by default\nhelp: write for example `priority = 10` or `priority = -1`";
                    let value = match &pair.value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Int(n), ..
                        }) => n.base10_parse::<i32>().ok(),
                        Expr::Unary(syn::ExprUnary {
                            op: syn::UnOp::Neg(_),
                            expr,
                            ..
                        }) => match &**expr {
                            Expr::Lit(ExprLit {
                                lit: Lit::Int(n), ..
                            }) => n
                                .base10_parse::<i64>()
                                .ok()
                                .and_then(|n| i32::try_from(-n).ok()),
                            _ => None,
                        },
                        _ => None,
                    };
                    match value {
                        _ if args.priority.is_some() => fail(syn::Error::new_spanned(
                            &pair.path,
                            "`priority` is given twice\nhelp: keep one `priority = …`",
                        )),
                        Some(priority) => args.priority = Some((pair.value.clone(), priority)),
                        None => fail(syn::Error::new_spanned(&pair.value, HELP)),
                    }
                }
                Meta::List(list) if list.path.is_ident("resources") => {
                    const HELP: &str = "`resources(…)` lists what each task needs, as `name = amount`: a whole number, or a size in a string\nhelp: write for example `resources(gpu = 1, memory = \"4GiB\")`";
                    if !args.resources.is_empty() {
                        fail(syn::Error::new_spanned(
                            &list.path,
                            "`resources` is given twice\nhelp: keep one `resources(…)` listing them all",
                        ));
                        continue;
                    }
                    let pairs = match list.parse_args_with(
                        Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated,
                    ) {
                        Ok(pairs) if !pairs.is_empty() => pairs,
                        _ => {
                            fail(syn::Error::new_spanned(&list.tokens, HELP));
                            continue;
                        }
                    };
                    for pair in pairs {
                        let Some(name) = pair.path.get_ident().cloned() else {
                            fail(syn::Error::new_spanned(&pair.path, HELP));
                            continue;
                        };
                        if args.resources.iter().any(|(seen, _)| *seen == name) {
                            fail(syn::Error::new_spanned(
                                &name,
                                format!("`{name}` is given twice\nhelp: keep one `{name} = …`"),
                            ));
                            continue;
                        }
                        let amount = match pair.value {
                            Expr::Lit(ExprLit {
                                lit: Lit::Int(count),
                                ..
                            }) if count.base10_parse::<u64>().is_ok() => Amount::Count(count),
                            Expr::Lit(ExprLit {
                                lit: Lit::Str(size),
                                ..
                            }) => Amount::Size(size),
                            other => {
                                fail(syn::Error::new_spanned(other, HELP));
                                continue;
                            }
                        };
                        args.resources.push((name, amount));
                    }
                }
                Meta::Path(path) if path.is_ident("cache") => {
                    set_cache(&mut args, Cache::ByKey, &path, &mut fail)
                }
                Meta::NameValue(pair) if pair.path.is_ident("cache") => match &pair.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Bool(on), ..
                    }) => {
                        let cache = if on.value { Cache::ByKey } else { Cache::Off };
                        set_cache(&mut args, cache, &pair.path, &mut fail)
                    }
                    other => fail(syn::Error::new_spanned(
                        other,
                        "`cache` takes `true` or `false`\nhelp: write `cache`, `cache(by_value)` or `cache = false`",
                    )),
                },
                Meta::List(list) if list.path.is_ident("cache") => {
                    match list.parse_args::<Ident>() {
                        Ok(word) if word == "by_value" => {
                            set_cache(&mut args, Cache::ByValue, &list.path, &mut fail)
                        }
                        _ => fail(syn::Error::new_spanned(
                            &list.tokens,
                            "`cache(…)` takes `by_value`, which keys a task on its inputs' values rather than their keys\nhelp: write `cache(by_value)`, or `cache`",
                        )),
                    }
                }
                Meta::NameValue(pair) if pair.path.is_ident("uses") => match &pair.value {
                    Expr::Array(array) if args.uses.is_empty() => {
                        for element in &array.elems {
                            match element {
                                Expr::Path(path) if path.qself.is_none() => {
                                    args.uses.push(path.path.clone())
                                }
                                other => fail(syn::Error::new_spanned(
                                    other,
                                    "`uses` lists functions by path\nhelp: write for example `uses = [parse_row, util::clean]`",
                                )),
                            }
                        }
                    }
                    Expr::Array(_) => fail(syn::Error::new_spanned(
                        &pair.path,
                        "`uses` is given twice\nhelp: keep one `uses = […]` listing every helper",
                    )),
                    other => fail(syn::Error::new_spanned(
                        other,
                        "`uses` takes a list of functions\nhelp: write for example `uses = [parse_row, util::clean]`",
                    )),
                },
                Meta::NameValue(pair) if pair.path.is_ident("version") => {
                    match string_value(&pair.value, "version", "2") {
                        Ok(text) if args.version.is_some() => fail(syn::Error::new(
                            text.span(),
                            "`version` is given twice\nhelp: keep one `version = \"…\"`",
                        )),
                        Ok(text) => args.version = Some(text),
                        Err(error) => fail(error),
                    }
                }
                Meta::Path(path) if is_flag(&path) => {
                    let word = flag_word(&path);
                    let slot = if word == "pure" {
                        &mut args.pure
                    } else {
                        &mut args.local
                    };
                    if slot.is_some() {
                        fail(syn::Error::new_spanned(
                            &path,
                            format!("`{word}` is given twice\nhelp: keep one `{word}`"),
                        ));
                    }
                    *slot = Some(path);
                }
                Meta::NameValue(pair) if is_flag(&pair.path) => fail(syn::Error::new_spanned(
                    &pair.value,
                    flag_takes_no_value(&pair.path),
                )),
                Meta::List(list) if is_flag(&list.path) => fail(syn::Error::new(
                    list.delimiter.span().join(),
                    flag_takes_no_value(&list.path),
                )),
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
        if !matches!(args.cache, Some(Cache::ByKey | Cache::ByValue)) {
            let stray = args
                .uses
                .first()
                .map(|path| ("uses", quote!(#path)))
                .or_else(|| args.version.as_ref().map(|v| ("version", quote!(#v))));
            if let Some((word, tokens)) = stray {
                fail(syn::Error::new_spanned(
                    tokens,
                    format!(
                        "`{word}` is part of a cache key, and this function is not cached\nhelp: add `cache`, as in `#[delayed(cache, {word} = …)]`, or remove `{word}`"
                    ),
                ));
            }
        }
        if let (Some(Cache::ByKey | Cache::ByValue), Some(span), false) =
            (args.cache, args.cache_span, cfg!(feature = "cache"))
        {
            fail(syn::Error::new(
                span,
                "`cache` needs the `cache` feature of `delayed`\nhelp: in Cargo.toml, write `delayed = { version = \"…\", features = [\"cache\"] }`",
            ));
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(args),
        }
    }
}

/// Whether `path` is an argument without a value: `pure` or `local`.
fn is_flag(path: &Path) -> bool {
    path.is_ident("pure") || path.is_ident("local")
}

fn flag_word(path: &Path) -> &'static str {
    if path.is_ident("pure") {
        "pure"
    } else {
        "local"
    }
}

fn flag_takes_no_value(path: &Path) -> String {
    let word = flag_word(path);
    format!("`{word}` takes no value\nhelp: write `#[delayed({word})]`")
}

/// The string literal of `key = "…"`, or an error that shows `example`.
fn string_value(value: &Expr, key: &str, example: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string\nhelp: write `{key} = \"{example}\"`"),
        )),
    }
}

/// `"30s"`, `"500ms"`, `"2m"`, `"1h"` in milliseconds.
fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::Args;

    fn parse(tokens: &str) -> syn::Result<Args> {
        syn::parse_str::<Args>(tokens)
    }

    #[test]
    fn retries_backoff_and_timeout() {
        let args = parse("retries = 3, backoff = \"10ms\", timeout = \"2m\"").unwrap();
        assert_eq!(args.retries.unwrap().base10_parse::<u32>().unwrap(), 3);
        assert_eq!(args.backoff.unwrap().1, 10);
        assert_eq!(args.timeout.unwrap().1, 120_000);
        for bad in [
            "retries = 0",
            "retries = \"3\"",
            "timeout = \"0s\"",
            "timeout = \"soon\"",
            "timeout = 30",
            "backoff = \"5 parsecs\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(super::parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(super::parse_duration_ms("ms"), None);
    }

    #[test]
    fn empty_and_named() {
        assert!(parse("").unwrap().name.is_none());
        assert!(parse("pure").unwrap().pure.is_some());
        let both = parse("pure, name = \"load\"").unwrap();
        assert!(both.pure.is_some() && both.name.is_some());
        assert_eq!(
            parse("name = \"load\"").unwrap().name.unwrap().value(),
            "load"
        );
        assert_eq!(
            parse("name = \"io.read-2\",")
                .unwrap()
                .name
                .unwrap()
                .value(),
            "io.read-2"
        );
    }

    #[test]
    fn mistakes_say_what_to_write() {
        let message = |tokens| parse(tokens).err().unwrap().to_string();
        assert!(message("foo").starts_with("unknown argument `foo`"));
        assert!(message("name = 5").contains("help: write `name = \"load\"`"));
        assert!(message("name").starts_with("`name` needs a value"));
        assert!(message("name = \"a\", name = \"b\"").starts_with("`name` is given twice"));
        assert!(message("name = \"two words\"").starts_with("a task name must be"));
        assert!(message("pure = \"yes\"").starts_with("`pure` takes no value"));
        assert!(message("pure(true)").starts_with("`pure` takes no value"));
        assert!(message("pure, pure").starts_with("`pure` is given twice"));
        assert!(message("crate = dl").contains("help: write `crate = \"dl\"`"));
        assert!(message("crate = \"a b\"").starts_with("`crate` takes the path"));
        assert!(message("trait_name = \"a::b\"").starts_with("`trait_name` takes the name"));
    }

    #[test]
    fn crate_and_trait_name() {
        let args = parse("crate = \"dl\", trait_name = \"PointTasks\"").unwrap();
        assert_eq!(args.krate().to_string(), "dl");
        assert_eq!(args.trait_name.unwrap().to_string(), "PointTasks");
        assert_eq!(parse("").unwrap().krate().to_string(), ":: delayed");
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let error = parse("foo, bar = 1").err().unwrap();
        assert_eq!(error.into_iter().count(), 2);
    }
}
