//! Turning `async fn` into a sync fn that builds a runtime and `block_on`s the body.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{ToTokens as _, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned as _;
use syn::{AttrStyle, Attribute, ReturnType, Signature, Visibility, braced};

use crate::args::{self, Config, Flavor, Kind, push_error};

/// An `fn` item whose body is kept as raw tokens: the body is only copied, never
/// inspected, so parsing stays cheap and a syntax error inside it is left to rustc.
struct ItemFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    /// `#![...]` attributes at the top of the body; they move to the outer fn.
    inner_attrs: Vec<Attribute>,
    /// Span of the body's braces, for error spans at the end of the body.
    brace: syn::token::Brace,
    body: TokenStream,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body = content.parse()?;
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            inner_attrs,
            brace,
            body,
        })
    }
}

/// Expands `#[magpie::main]` / `#[magpie::test]` with arguments `args` on `item`.
///
/// Never fails: errors come back as `compile_error!` invocations next to either the
/// original item (when the item itself is wrong: not a fn, not async, has arguments)
/// or an expansion with a fallback configuration (when only the arguments are wrong),
/// so that the user sees the real mistake and no follow-up errors such as "`main`
/// function not found" or "`main` function is not allowed to be `async`".
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let (config, mut errors) = args::parse(kind, args);

    let mut input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(_) => {
            let not_fn = syn::Error::new_spanned(
                &item,
                format!(
                    "the `{}` attribute can only be applied to an `async fn`",
                    kind.attr()
                ),
            );
            // The argument errors (if any) still matter; the item's own error first.
            let mut all = not_fn;
            if let Some(e) = errors {
                all.combine(e);
            }
            return with_error(item, all);
        }
    };

    // Mistakes in the signature: the item is emitted unchanged.
    let mut sig_errors = None;
    if input.sig.asyncness.is_none() {
        push_error(
            &mut sig_errors,
            syn::Error::new_spanned(
                input.sig.fn_token,
                "the `async` keyword is missing from the function declaration",
            ),
        );
    }
    if !input.sig.inputs.is_empty() {
        let msg = match kind {
            Kind::Main if input.sig.ident == "main" => {
                "the `main` function cannot accept arguments".to_string()
            }
            Kind::Main => format!("a `{}` function cannot accept arguments", kind.attr()),
            Kind::Test => "a test function cannot accept arguments".to_string(),
        };
        push_error(
            &mut sig_errors,
            syn::Error::new_spanned(&input.sig.inputs, msg),
        );
    }
    if let Some(mut e) = sig_errors {
        if let Some(arg_errors) = errors {
            e.combine(arg_errors);
        }
        return with_error(item, e);
    }

    // A second `#[test]`: report it, drop it, and expand as usual.
    if kind == Kind::Test {
        input.attrs.retain(|attr| {
            let is_test = attr
                .path()
                .segments
                .last()
                .is_some_and(|seg| seg.ident == "test");
            if is_test {
                push_error(
                    &mut errors,
                    syn::Error::new_spanned(
                        attr,
                        "a second test attribute is supplied: `#[magpie::test]` already makes \
                         this function a test, remove this attribute",
                    ),
                );
            }
            !is_test
        });
    }

    let expanded = expand_fn(kind, &config, input);
    match errors {
        Some(e) => with_error(expanded, e),
        None => expanded,
    }
}

/// `tokens` followed by `error` as `compile_error!` invocations.
fn with_error(mut tokens: TokenStream, error: syn::Error) -> TokenStream {
    tokens.extend(error.into_compile_error());
    tokens
}

/// Whether the return type can be named in `dyn Future<Output = ...>`: not when it
/// contains `impl Trait` (not allowed in a `let` type) or `!` (unstable as a type
/// argument).
fn nameable(ty: TokenStream) -> bool {
    ty.into_iter().all(|tt| match tt {
        TokenTree::Ident(i) => i != "impl",
        TokenTree::Punct(p) => p.as_char() != '!',
        TokenTree::Group(g) => nameable(g.stream()),
        TokenTree::Literal(_) => true,
    })
}

/// The expansion proper: the same fn, not async, whose body builds the runtime and
/// runs the original body on it.
fn expand_fn(kind: Kind, config: &Config, input: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        mut inner_attrs,
        brace,
        body,
    } = input;
    sig.asyncness = None;
    for attr in &mut inner_attrs {
        attr.style = AttrStyle::Outer;
    }

    let krate = &config.crate_path;
    let mut builder = match config.flavor {
        Flavor::MultiThread => quote!(#krate::runtime::Builder::new_multi_thread()),
        Flavor::CurrentThread | Flavor::Local => {
            quote!(#krate::runtime::Builder::new_current_thread())
        }
    };
    if let Some((n, span)) = config.worker_threads {
        let n = proc_macro2::Literal::usize_unsuffixed(n);
        builder.extend(quote_spanned!(span=> .worker_threads(#n)));
    }
    if let Some(name) = &config.name {
        builder.extend(quote_spanned!(name.span()=> .name(#name)));
    }
    builder.extend(quote!(.enable_all()));
    if let Some((true, span)) = config.start_paused {
        builder.extend(quote_spanned!(span=> .start_paused(true)));
    }

    // The body keeps the user's tokens (and so their spans). The pinned future is
    // coerced to `dyn Future<Output = Ret>` with the declared return type, so a body
    // whose value does not match it fails right there, with an error spanned on the
    // return type (or, for `()`, the body's closing brace) rather than somewhere in
    // the runtime call. It also pins down the output type that `?` and `return` in the
    // body convert to.
    let async_body = quote_spanned!(brace.span.join()=> async move { #body });
    let typed = |ty: TokenStream, span: Span| {
        let coerced = quote_spanned!(span=> body);
        quote! {
            let body = ::core::pin::pin!(#async_body);
            let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #ty>> =
                #coerced;
        }
    };
    let body = match &sig.output {
        ReturnType::Type(_, ty) if nameable(ty.to_token_stream()) => {
            typed(ty.to_token_stream(), ty.span())
        }
        ReturnType::Type(..) => quote! {
            let body = #async_body;
        },
        ReturnType::Default => typed(quote!(()), brace.span.close()),
    };

    let build = match config.flavor {
        Flavor::Local => quote!(build_local),
        _ => quote!(build),
    };

    let test_attr = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => TokenStream::new(),
    };

    let mut block = proc_macro2::Group::new(
        Delimiter::Brace,
        quote! {
            #body
            #[allow(
                clippy::expect_used,
                clippy::needless_return,
                clippy::diverging_sub_expression
            )]
            {
                return #builder
                    .#build()
                    .expect("failed to build the magpie runtime")
                    .block_on(body);
            }
        },
    );
    block.set_span(brace.span.join());

    quote! {
        #test_attr
        #(#attrs)*
        #(#inner_attrs)*
        #vis #sig #block
    }
}
