//! `magpie_sync::select!` support: strips binding modifiers from a pattern.
//!
//! `select!` checks whether a branch's output matches its pattern by matching a
//! *reference* to the output (the value must stay whole, to be matched again by value
//! for the handler). Under Rust 2024's match ergonomics, `mut`/`ref`/`ref mut` on a
//! binding below a reference is an error, so the reference check uses the pattern with
//! those modifiers removed: `Some(mut x)` becomes `Some(x)`. `&mut` reference patterns
//! keep their `mut`.

use proc_macro::{Group, TokenStream, TokenTree};

pub(crate) fn clean_pattern(input: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut prev_is_amp = false;
    for tt in input {
        let is_amp = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '&');
        match tt {
            TokenTree::Ident(ref i) if i.to_string() == "ref" => {}
            TokenTree::Ident(ref i) if i.to_string() == "mut" && !prev_is_amp => {}
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), clean_pattern(g.stream()));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other),
        }
        prev_is_amp = is_amp;
    }
    out.into_iter().collect()
}
