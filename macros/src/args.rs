//! The attribute's arguments: `flavor`, `worker_threads`, `start_paused`, `name`,
//! `crate`.
//!
//! Parsing never gives up on the first mistake: [`parse`] always returns a usable
//! [`Config`] (every argument that was valid, defaults for the rest, conflicting options
//! dropped) together with every error it found, so the caller can still expand the
//! function and the user sees all the mistakes at once without a cascade of follow-up
//! errors.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, Token};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// `#[magpie::main]`
    Main,
    /// `#[magpie::test]`
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[magpie::main]",
            Kind::Test => "#[magpie::test]",
        }
    }

    /// The flavor used when the user names none.
    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }

    /// The argument names this attribute accepts, in the order messages list them.
    pub(crate) fn valid_args(self) -> &'static [&'static str] {
        match self {
            Kind::Main => &["flavor", "worker_threads", "name", "crate"],
            Kind::Test => &["flavor", "worker_threads", "start_paused", "name", "crate"],
        }
    }
}

/// The runtime flavor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Flavor {
    /// `Builder::new_multi_thread()`
    MultiThread,
    /// `Builder::new_current_thread()`
    CurrentThread,
    /// `Builder::new_current_thread().build_local()`: a `LocalRuntime`, where
    /// `spawn_local` works everywhere.
    Local,
}

impl Flavor {
    fn from_str(s: &str) -> Option<Flavor> {
        match s {
            "multi_thread" => Some(Flavor::MultiThread),
            "current_thread" => Some(Flavor::CurrentThread),
            "local" => Some(Flavor::Local),
            _ => None,
        }
    }
}

/// The validated configuration the expansion is built from.
pub(crate) struct Config {
    /// Runtime flavor (explicit or the attribute's default).
    pub(crate) flavor: Flavor,
    /// `worker_threads = N`: the value and the span of the literal.
    pub(crate) worker_threads: Option<(usize, Span)>,
    /// `start_paused = true`. `false` is accepted and emits nothing.
    pub(crate) start_paused: Option<(bool, Span)>,
    /// `name = "..."`: the runtime's name (`Builder::name`).
    pub(crate) name: Option<syn::LitStr>,
    /// Path of the facade crate, `::magpie` unless `crate = "..."` says otherwise.
    pub(crate) crate_path: syn::Path,
}

impl Config {
    /// The configuration used when no arguments are given.
    pub(crate) fn default_for(kind: Kind) -> Config {
        Config {
            flavor: kind.default_flavor(),
            worker_threads: None,
            start_paused: None,
            name: None,
            crate_path: syn::parse_quote!(::magpie),
        }
    }
}

/// One `name = value` (or bare `name`) item of the argument list.
struct Arg {
    name: Ident,
    value: Option<Expr>,
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `parse_any` so that the keyword `crate` is accepted as a name.
        let name = input.call(Ident::parse_any)?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let value = input.parse()?;
            Ok(Arg {
                name,
                value: Some(value),
            })
        } else if input.is_empty() || input.peek(Token![,]) {
            Ok(Arg { name, value: None })
        } else {
            Err(input.error(format!(
                "expected `=` after `{name}`: arguments are written `name = value`"
            )))
        }
    }
}

/// Adds `new` to the errors collected so far.
pub(crate) fn push_error(errors: &mut Option<syn::Error>, new: syn::Error) {
    match errors {
        Some(e) => e.combine(new),
        None => *errors = Some(new),
    }
}

/// The literal inside `value`, looking through the invisible groups that `macro_rules!`
/// wraps around interpolated fragments.
fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(l) => Some(&l.lit),
        Expr::Group(g) => literal(&g.expr),
        Expr::Paren(p) => literal(&p.expr),
        _ => None,
    }
}

/// Parses the attribute's argument tokens.
///
/// Returns the configuration to expand with (always usable, see the module docs) and
/// the errors found, if any.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> (Config, Option<syn::Error>) {
    let mut config = Config::default_for(kind);
    let mut errors = None;

    let list = match Punctuated::<Arg, Token![,]>::parse_terminated.parse2(args) {
        Ok(list) => list,
        Err(e) => return (config, Some(e)),
    };

    let mut flavor: Option<(Flavor, Span)> = None;
    let mut seen: Vec<String> = Vec::new();

    for arg in list {
        let name = arg.name.to_string();
        if !kind.valid_args().contains(&name.as_str()) {
            push_error(&mut errors, unknown_arg(kind, &arg));
            continue;
        }
        if seen.contains(&name) {
            push_error(
                &mut errors,
                syn::Error::new(arg.name.span(), format!("`{name}` is set more than once")),
            );
            continue;
        }
        seen.push(name.clone());

        let Some(value) = &arg.value else {
            let example = match name.as_str() {
                "flavor" => "flavor = \"current_thread\"",
                "worker_threads" => "worker_threads = 4",
                "start_paused" => "start_paused = true",
                "name" => "name = \"ingest\"",
                _ => "crate = \"::magpie\"",
            };
            push_error(
                &mut errors,
                syn::Error::new(
                    arg.name.span(),
                    format!("`{name}` needs a value, for example `{example}`"),
                ),
            );
            continue;
        };

        match (name.as_str(), literal(value)) {
            ("flavor", Some(Lit::Str(s))) => match Flavor::from_str(&s.value()) {
                Some(f) => flavor = Some((f, arg.name.span())),
                None => push_error(
                    &mut errors,
                    syn::Error::new(
                        s.span(),
                        format!(
                            "unknown runtime flavor `{}`; expected `\"multi_thread\"`, \
                             `\"current_thread\"` or `\"local\"`",
                            s.value()
                        ),
                    ),
                ),
            },
            ("flavor", _) => push_error(
                &mut errors,
                syn::Error::new_spanned(
                    value,
                    "`flavor` must be a string: `\"multi_thread\"`, `\"current_thread\"` or \
                     `\"local\"`",
                ),
            ),
            ("worker_threads", Some(Lit::Int(i))) => match i.base10_parse::<usize>() {
                Ok(0) => push_error(
                    &mut errors,
                    syn::Error::new(i.span(), "`worker_threads` must be greater than 0"),
                ),
                Ok(n) => config.worker_threads = Some((n, i.span())),
                Err(e) => push_error(
                    &mut errors,
                    syn::Error::new(i.span(), format!("invalid `worker_threads`: {e}")),
                ),
            },
            ("worker_threads", _) => push_error(
                &mut errors,
                syn::Error::new_spanned(
                    value,
                    "`worker_threads` must be an integer literal, for example `worker_threads = 4`",
                ),
            ),
            ("start_paused", Some(Lit::Bool(b))) => {
                config.start_paused = Some((b.value, arg.name.span()));
            }
            ("start_paused", _) => push_error(
                &mut errors,
                syn::Error::new_spanned(value, "`start_paused` must be `true` or `false`"),
            ),
            ("name", Some(Lit::Str(s))) => config.name = Some(s.clone()),
            ("name", _) => push_error(
                &mut errors,
                syn::Error::new_spanned(
                    value,
                    "`name` must be a string, for example `name = \"ingest\"`",
                ),
            ),
            ("crate", Some(Lit::Str(s))) => match s.parse::<syn::Path>() {
                Ok(path) => config.crate_path = path,
                Err(_) => push_error(
                    &mut errors,
                    syn::Error::new(
                        s.span(),
                        format!(
                            "`crate` must be a path to the magpie crate, for example \
                             `crate = \"::magpie\"`; `{}` is not a path",
                            s.value()
                        ),
                    ),
                ),
            },
            _ => push_error(
                &mut errors,
                syn::Error::new_spanned(
                    value,
                    "`crate` must be a string holding a path, for example `crate = \"::magpie\"`",
                ),
            ),
        }
    }

    if let Some((f, _)) = flavor {
        config.flavor = f;
    }

    // Options that only make sense for one flavor. On a conflict the option is dropped
    // so that the fallback expansion still builds.
    if config.flavor != Flavor::MultiThread {
        if let Some((_, span)) = config.worker_threads.take() {
            let msg = if flavor.is_some() {
                let name = if config.flavor == Flavor::Local {
                    "local"
                } else {
                    "current_thread"
                };
                format!(
                    "`worker_threads` cannot be used with `flavor = \"{name}\"`: that \
                     runtime runs every task on the thread that calls `block_on`"
                )
            } else {
                format!(
                    "`worker_threads` needs the multi-thread runtime: add \
                     `flavor = \"multi_thread\"` ({} uses the current-thread runtime by default)",
                    kind.attr()
                )
            };
            push_error(&mut errors, syn::Error::new(span, msg));
        }
    }
    if config.flavor == Flavor::MultiThread {
        if let Some((_, span)) = config.start_paused.take() {
            push_error(
                &mut errors,
                syn::Error::new(
                    span,
                    "`start_paused` can only be used with the current-thread runtime: remove \
                     `flavor = \"multi_thread\"` or use `flavor = \"current_thread\"`",
                ),
            );
        }
    }

    (config, errors)
}

/// The error for an argument name this attribute does not know.
fn unknown_arg(kind: Kind, arg: &Arg) -> syn::Error {
    let name = arg.name.to_string();
    let valid = kind
        .valid_args()
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match name.as_str() {
        "multi_thread" | "current_thread" | "local" if arg.value.is_none() => {
            format!("; did you mean `flavor = \"{name}\"`?")
        }
        "start_paused" => " (`start_paused` is only supported by `#[magpie::test]`)".to_string(),
        _ => String::new(),
    };
    syn::Error::new(
        arg.name.span(),
        format!(
            "unknown argument `{name}` for `{}`; expected one of {valid}{hint}",
            kind.attr()
        ),
    )
}
