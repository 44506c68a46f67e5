//! Unit tests of the argument parser and of the emitted tokens.

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::{self, Flavor, Kind};
use crate::expand::expand;

/// `s` without whitespace.
fn strip(s: &str) -> String {
    s.split_whitespace().collect()
}

/// Tokens as a string without whitespace, for `contains` checks.
fn flat(tokens: &TokenStream) -> String {
    strip(&tokens.to_string())
}

/// Whether flattened `s` contains `part`, whitespace ignored.
fn has(s: &str, part: &str) -> bool {
    s.contains(&strip(part))
}

/// Whether flattened `s` starts with `part`, whitespace ignored.
fn starts(s: &str, part: &str) -> bool {
    s.starts_with(&strip(part))
}

/// Every message in the error of `args::parse`, in order.
fn arg_errors(kind: Kind, args: TokenStream) -> Vec<String> {
    match args::parse(kind, args).1 {
        Some(e) => e.into_iter().map(|e| e.to_string()).collect(),
        None => Vec::new(),
    }
}

/// Asserts that `args` give exactly one error, containing every part of `parts`.
#[track_caller]
fn assert_one_error(kind: Kind, args: TokenStream, parts: &[&str]) {
    let errors = arg_errors(kind, args);
    assert_eq!(errors.len(), 1, "{errors:?}");
    for part in parts {
        assert!(errors[0].contains(part), "{:?} lacks {part:?}", errors[0]);
    }
}

/// The `compile_error!` messages in an expansion.
fn compile_errors(tokens: &TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = tokens.clone().into_iter();
    while let Some(tt) = iter.next() {
        if let proc_macro2::TokenTree::Ident(i) = &tt {
            if i == "compile_error" {
                iter.next(); // `!`
                if let Some(proc_macro2::TokenTree::Group(g)) = iter.next() {
                    let lit: syn::LitStr = syn::parse2(g.stream()).unwrap();
                    out.push(lit.value());
                }
            }
        }
    }
    out
}

// ---- argument parser ----

#[test]
fn defaults() {
    let (main, e) = args::parse(Kind::Main, TokenStream::new());
    assert!(e.is_none());
    assert_eq!(main.flavor, Flavor::MultiThread);
    assert!(main.worker_threads.is_none());
    assert!(main.start_paused.is_none());
    let path = &main.crate_path;
    assert_eq!(flat(&quote!(#path)), "::magpie");

    let (test, e) = args::parse(Kind::Test, TokenStream::new());
    assert!(e.is_none());
    assert_eq!(test.flavor, Flavor::CurrentThread);
}

#[test]
fn all_arguments() {
    let (c, e) = args::parse(
        Kind::Main,
        quote!(
            flavor = "multi_thread",
            worker_threads = 8,
            crate = "::other::magpie",
        ),
    );
    assert!(e.is_none());
    assert_eq!(c.flavor, Flavor::MultiThread);
    assert_eq!(c.worker_threads.map(|w| w.0), Some(8));
    let path = &c.crate_path;
    assert_eq!(flat(&quote!(#path)), "::other::magpie");

    let (c, e) = args::parse(
        Kind::Test,
        quote!(
            flavor = "current_thread",
            start_paused = true,
            crate = "crate"
        ),
    );
    assert!(e.is_none());
    assert_eq!(c.flavor, Flavor::CurrentThread);
    assert_eq!(c.start_paused.map(|s| s.0), Some(true));
    let path = &c.crate_path;
    assert_eq!(flat(&quote!(#path)), "crate");
}

#[test]
fn unknown_argument_names_it_and_lists_the_valid_ones() {
    assert_one_error(
        Kind::Main,
        quote!(threads = 4),
        &[
            "unknown argument `threads`",
            "#[magpie::main]",
            "`flavor`, `worker_threads`, `name`, `crate`",
        ],
    );
    assert_one_error(
        Kind::Test,
        quote!(paused = true),
        &[
            "unknown argument `paused`",
            "`flavor`, `worker_threads`, `start_paused`, `name`, `crate`",
        ],
    );
    assert_one_error(
        Kind::Main,
        quote!(start_paused = true),
        &[
            "unknown argument `start_paused`",
            "only supported by `#[magpie::test]`",
        ],
    );
    assert_one_error(
        Kind::Main,
        quote!(current_thread),
        &["did you mean `flavor = \"current_thread\"`?"],
    );
}

#[test]
fn bad_values() {
    assert_one_error(
        Kind::Main,
        quote!(flavor = "multi_threaded"),
        &[
            "unknown runtime flavor `multi_threaded`",
            "`\"multi_thread\"`, `\"current_thread\"` or `\"local\"`",
        ],
    );
    assert_one_error(
        Kind::Main,
        quote!(flavor = current_thread),
        &["`flavor` must be a string"],
    );
    assert_one_error(
        Kind::Main,
        quote!(worker_threads = 0),
        &["`worker_threads` must be greater than 0"],
    );
    assert_one_error(
        Kind::Main,
        quote!(worker_threads = "4"),
        &["`worker_threads` must be an integer literal"],
    );
    assert_one_error(
        Kind::Main,
        quote!(worker_threads = -1),
        &["`worker_threads` must be an integer literal"],
    );
    assert_one_error(
        Kind::Test,
        quote!(start_paused = 1),
        &["`start_paused` must be `true` or `false`"],
    );
    assert_one_error(
        Kind::Main,
        quote!(crate = "not a path"),
        &["`crate` must be a path", "`not a path` is not a path"],
    );
    assert_one_error(
        Kind::Main,
        quote!(crate = magpie),
        &["`crate` must be a string holding a path"],
    );
    assert_one_error(Kind::Main, quote!(flavor), &["`flavor` needs a value"]);
    assert_one_error(
        Kind::Main,
        quote!(flavor = "current_thread", flavor = "multi_thread"),
        &["`flavor` is set more than once"],
    );
}

#[test]
fn syntax_error_in_arguments() {
    let errors = arg_errors(Kind::Main, quote!(flavor("current_thread")));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("expected `=` after `flavor`"),
        "{errors:?}"
    );
}

#[test]
fn flavor_conflicts() {
    assert_one_error(
        Kind::Main,
        quote!(flavor = "current_thread", worker_threads = 2),
        &["`worker_threads` cannot be used with `flavor = \"current_thread\"`"],
    );
    assert_one_error(
        Kind::Test,
        quote!(worker_threads = 2),
        &[
            "`worker_threads` needs the multi-thread runtime",
            "add `flavor = \"multi_thread\"`",
        ],
    );
    assert_one_error(
        Kind::Test,
        quote!(flavor = "multi_thread", start_paused = true),
        &["`start_paused` can only be used with the current-thread runtime"],
    );
    // Any explicit start_paused is refused with multi_thread, as in tokio.
    assert_one_error(
        Kind::Test,
        quote!(flavor = "multi_thread", start_paused = false),
        &["`start_paused` can only be used with the current-thread runtime"],
    );
    // Order does not matter: the flavor is known before the conflicts are checked.
    assert_one_error(
        Kind::Main,
        quote!(worker_threads = 2, flavor = "current_thread"),
        &["cannot be used with `flavor = \"current_thread\"`"],
    );
}

#[test]
fn local_flavor_conflicts() {
    assert_one_error(
        Kind::Main,
        quote!(flavor = "local", worker_threads = 2),
        &["`worker_threads` cannot be used with `flavor = \"local\"`"],
    );
    // start_paused is fine: the local runtime is a current-thread one.
    assert!(arg_errors(Kind::Test, quote!(flavor = "local", start_paused = true)).is_empty());
}

#[test]
fn every_error_is_reported_and_the_valid_arguments_are_kept() {
    let (c, e) = args::parse(
        Kind::Main,
        quote!(
            crate = "fake",
            bogus = 1,
            flavor = "nope",
            worker_threads = 0
        ),
    );
    let errors: Vec<String> = e.unwrap().into_iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("unknown argument `bogus`"));
    assert!(errors[1].contains("unknown runtime flavor `nope`"));
    assert!(errors[2].contains("greater than 0"));
    let path = &c.crate_path;
    assert_eq!(flat(&quote!(#path)), "fake");
    assert_eq!(c.flavor, Flavor::MultiThread);
}

#[test]
fn literals_from_macro_rules_are_accepted() {
    // `macro_rules!` hands `$n:literal` / `$e:expr` over wrapped in an invisible group.
    let n = proc_macro2::Group::new(proc_macro2::Delimiter::None, quote!(3));
    let (c, e) = args::parse(Kind::Main, quote!(worker_threads = #n));
    assert!(e.is_none());
    assert_eq!(c.worker_threads.map(|w| w.0), Some(3));
}

#[test]
fn name_must_be_a_string() {
    let (c, e) = args::parse(Kind::Test, quote!(name = "ingest"));
    assert!(e.is_none());
    assert_eq!(c.name.map(|n| n.value()).as_deref(), Some("ingest"));
    let (_, e) = args::parse(Kind::Main, quote!(name = 3));
    let msg = e.expect("a non-string name is an error").to_string();
    assert!(msg.contains("`name` must be a string"), "{msg}");
}

// ---- expansion ----

#[test]
fn main_default_expansion() {
    let out = expand(
        Kind::Main,
        TokenStream::new(),
        quote! {
            /// Docs.
            #[allow(unused)]
            async fn main() {
                println!("hi");
            }
        },
    );
    let s = flat(&out);
    assert!(compile_errors(&out).is_empty());
    assert!(
        starts(&s, "#[doc=r\" Docs.\"]#[allow(unused)]fnmain(){"),
        "{s}"
    );
    assert!(
        has(
            &s,
            "let body = ::core::pin::pin!(async move { println!(\"hi\"); });
             let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = ()>> = body;"
        ),
        "{s}"
    );
    assert!(
        has(
            &s,
            "return::magpie::runtime::Builder::new_multi_thread().enable_all().build()\
             .expect(\"failed to build the magpie runtime\").block_on(body);"
        ),
        "{s}"
    );
    assert!(!has(&s, "v1::test"), "{s}");
    assert!(!has(&s, "worker_threads"), "{s}");
    assert!(!has(&s, "start_paused"), "{s}");
}

#[test]
fn main_with_arguments_and_return_type() {
    let out = expand(
        Kind::Main,
        quote!(worker_threads = 4, crate = "my::magpie"),
        quote! {
            pub async fn run() -> Result<u32, String> where u32: Copy {
                Ok(1)
            }
        },
    );
    let s = flat(&out);
    assert!(
        starts(&s, "pubfnrun()->Result<u32,String>whereu32:Copy{"),
        "{s}"
    );
    assert!(has(&s, "Future<Output=Result<u32,String>>"), "{s}");
    assert!(
        has(
            &s,
            "returnmy::magpie::runtime::Builder::new_multi_thread().worker_threads(4)\
             .enable_all().build()"
        ),
        "{s}"
    );
}

#[test]
fn main_current_thread() {
    let out = expand(
        Kind::Main,
        quote!(flavor = "current_thread"),
        quote!(
            async fn main() {}
        ),
    );
    let s = flat(&out);
    assert!(
        has(
            &s,
            "::magpie::runtime::Builder::new_current_thread().enable_all().build()"
        ),
        "{s}"
    );
}

#[test]
fn main_local() {
    let out = expand(
        Kind::Main,
        quote!(flavor = "local"),
        quote!(
            async fn main() {}
        ),
    );
    let s = flat(&out);
    assert!(
        has(
            &s,
            "::magpie::runtime::Builder::new_current_thread().enable_all().build_local()"
        ),
        "{s}"
    );
}

#[test]
fn unnameable_return_type_is_left_to_inference() {
    let out = expand(
        Kind::Main,
        TokenStream::new(),
        quote!(
            async fn f() -> impl std::fmt::Debug {
                1
            }
        ),
    );
    let s = flat(&out);
    assert!(has(&s, "letbody=asyncmove{1};"), "{s}");
    assert!(!has(&s, "dyn"), "{s}");
}

#[test]
fn inner_attributes_move_to_the_fn() {
    let out = expand(
        Kind::Main,
        TokenStream::new(),
        quote!(
            async fn main() {
                #![allow(unused_variables)]
                let x = 1;
            }
        ),
    );
    let s = flat(&out);
    assert!(starts(&s, "#[allow(unused_variables)]fnmain(){"), "{s}");
    assert!(has(&s, "asyncmove{letx=1;}"), "{s}");
}

#[test]
fn test_expansion() {
    let out = expand(
        Kind::Test,
        quote!(start_paused = true),
        quote! {
            #[should_panic]
            async fn it_works() -> std::io::Result<()> { Ok(()) }
        },
    );
    let s = flat(&out);
    assert!(compile_errors(&out).is_empty());
    assert!(
        starts(
            &s,
            "#[::core::prelude::v1::test]#[should_panic]fnit_works()->std::io::Result<()>{"
        ),
        "{s}"
    );
    assert!(
        has(
            &s,
            "::magpie::runtime::Builder::new_current_thread().enable_all().start_paused(true)\
             .build()"
        ),
        "{s}"
    );

    let out = expand(
        Kind::Test,
        quote!(flavor = "multi_thread", worker_threads = 2),
        quote!(
            async fn t() {}
        ),
    );
    let s = flat(&out);
    assert!(
        has(
            &s,
            "Builder::new_multi_thread().worker_threads(2).enable_all().build()"
        ),
        "{s}"
    );

    // `start_paused = false` emits nothing.
    let out = expand(
        Kind::Test,
        quote!(start_paused = false),
        quote!(
            async fn t() {}
        ),
    );
    assert!(!flat(&out).contains("start_paused"));
}

#[test]
fn not_async_emits_the_fn_unchanged_and_an_error() {
    for kind in [Kind::Main, Kind::Test] {
        let item = quote!(
            fn main() {
                let _ = 1;
            }
        );
        let out = expand(kind, TokenStream::new(), item.clone());
        assert_eq!(
            compile_errors(&out),
            ["the `async` keyword is missing from the function declaration"]
        );
        assert!(starts(&flat(&out), &item.to_string()));
        assert!(!flat(&out).contains("Builder"));
    }
}

#[test]
fn arguments_are_refused() {
    let out = expand(
        Kind::Main,
        TokenStream::new(),
        quote!(
            async fn main(x: u32) {}
        ),
    );
    assert_eq!(
        compile_errors(&out),
        ["the `main` function cannot accept arguments"]
    );
    let out = expand(
        Kind::Main,
        TokenStream::new(),
        quote!(
            async fn run(x: u32) {}
        ),
    );
    assert_eq!(
        compile_errors(&out),
        ["a `#[magpie::main]` function cannot accept arguments"]
    );
    let out = expand(
        Kind::Test,
        TokenStream::new(),
        quote!(
            async fn t(x: u32) {}
        ),
    );
    assert_eq!(
        compile_errors(&out),
        ["a test function cannot accept arguments"]
    );
    assert!(starts(&flat(&out), "async fn t(x: u32) {}"));
}

#[test]
fn signature_and_argument_errors_are_reported_together() {
    let out = expand(
        Kind::Test,
        quote!(bogus = 1),
        quote!(
            fn t(x: u32) {}
        ),
    );
    let errors = compile_errors(&out);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("`async` keyword is missing"));
    assert!(errors[1].contains("cannot accept arguments"));
    assert!(errors[2].contains("unknown argument `bogus`"));
}

#[test]
fn not_a_fn() {
    let item = quote!(
        struct Main;
    );
    let out = expand(Kind::Main, TokenStream::new(), item.clone());
    assert_eq!(
        compile_errors(&out),
        ["the `#[magpie::main]` attribute can only be applied to an `async fn`"]
    );
    assert!(starts(&flat(&out), "struct Main;"));

    let out = expand(
        Kind::Test,
        TokenStream::new(),
        quote!(
            const X: u8 = 1;
        ),
    );
    assert_eq!(
        compile_errors(&out),
        ["the `#[magpie::test]` attribute can only be applied to an `async fn`"]
    );
}

#[test]
fn argument_errors_still_expand_with_the_valid_arguments() {
    let out = expand(
        Kind::Main,
        quote!(
            crate = "fake",
            flavor = "current_thread",
            worker_threads = 2
        ),
        quote!(
            async fn main() {}
        ),
    );
    let s = flat(&out);
    assert_eq!(compile_errors(&out).len(), 1);
    // The fn is expanded (not left async), without the conflicting option.
    assert!(starts(&s, "fnmain(){"), "{s}");
    assert!(
        has(
            &s,
            "fake::runtime::Builder::new_current_thread().enable_all().build()"
        ),
        "{s}"
    );
}

#[test]
fn second_test_attribute() {
    let out = expand(
        Kind::Test,
        TokenStream::new(),
        quote!(
            #[test]
            #[ignore]
            async fn t() {}
        ),
    );
    let errors = compile_errors(&out);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("a second test attribute is supplied"));
    let s = flat(&out);
    assert!(
        starts(&s, "#[::core::prelude::v1::test]#[ignore]fnt(){"),
        "{s}"
    );
}

#[test]
fn error_spans_point_at_the_mistake() {
    // Spans of tokens built with `quote!` in a unit test are all `call_site`, so this
    // only checks that the errors are built with `new_spanned` on the right tokens by
    // counting the spanned `compile_error!` groups: one per error.
    let out = expand(
        Kind::Main,
        quote!(a = 1, b = 2),
        quote!(
            async fn main() {}
        ),
    );
    assert_eq!(compile_errors(&out).len(), 2);
}
