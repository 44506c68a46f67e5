//! Compile-fail tests of `#[magpie::main]`, `#[magpie::test]`, `join!`, `try_join!` and
//! `pin!` (trybuild): one file per misuse under `tests/ui/`, each with the expected
//! compiler output checked in beside it as a `.stderr` file.
//!
//! To regenerate the `.stderr` files after an intended change of a message, run
//! `TRYBUILD=overwrite cargo test -p magpie --test macros_ui` and review the diff.

#[test]
fn misuse_is_a_compile_error() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
