//! The examples' command line, shared (`#[path = "common/args.rs"] mod args;`): flags,
//! `--name VALUE` options and positionals are taken out one by one, and whatever is
//! left over is an error. A mistyped flag is never silently ignored: the example prints
//! what it did not understand and its usage line, and exits with status 2. `-h` /
//! `--help` print the usage line and exit 0.

#![allow(dead_code)] // each example uses the parts it needs

use std::fmt::Display;
use std::str::FromStr;

/// The arguments not taken yet.
pub struct Args {
    usage: &'static str,
    rest: Vec<String>,
}

impl Args {
    /// This process's arguments; `usage` is the line printed on an error, e.g.
    /// `"usage: echo [ADDR] [--selftest]"`.
    pub fn parse(usage: &'static str) -> Args {
        Args::from_iter(usage, std::env::args().skip(1))
    }

    /// The arguments `args` (for tests of the parser).
    pub fn from_iter(usage: &'static str, args: impl IntoIterator<Item = String>) -> Args {
        let rest: Vec<String> = args.into_iter().collect();
        if rest.iter().any(|a| a == "-h" || a == "--help") {
            println!("{usage}");
            std::process::exit(0);
        }
        Args { usage, rest }
    }

    /// Whether `--flag` was given (every occurrence is taken).
    pub fn flag(&mut self, flag: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != flag);
        self.rest.len() != before
    }

    /// The value after `--name`, parsed; a missing or unparsable value is an error.
    pub fn value<T: FromStr>(&mut self, name: &str) -> Option<T>
    where
        T::Err: Display,
    {
        let i = self.rest.iter().position(|a| a == name)?;
        self.rest.remove(i);
        if i >= self.rest.len() {
            self.fail(format!("{name} needs a value"));
        }
        let v = self.rest.remove(i);
        match v.parse() {
            Ok(v) => Some(v),
            Err(e) => self.fail(format!("{name} {v}: {e}")),
        }
    }

    /// The next argument that is not a flag (does not start with `-`), parsed.
    pub fn positional<T: FromStr>(&mut self, what: &str) -> Option<T>
    where
        T::Err: Display,
    {
        let i = self.rest.iter().position(|a| !a.starts_with('-'))?;
        let v = self.rest.remove(i);
        match v.parse() {
            Ok(v) => Some(v),
            Err(e) => self.fail(format!("{what} {v:?}: {e}")),
        }
    }

    /// Ends parsing: anything not taken is an error.
    pub fn finish(self) {
        if let Some(a) = self.rest.first() {
            let msg = format!("unknown argument {a:?}");
            self.fail(msg);
        }
    }

    fn fail(&self, why: String) -> ! {
        eprintln!("{why}");
        eprintln!("{}", self.usage);
        std::process::exit(2);
    }
}
