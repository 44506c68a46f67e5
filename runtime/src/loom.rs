//! The loom shim, shared with every magpie crate (see `magpie_base::loom`).
#[allow(unused_imports)]
pub(crate) use magpie_base::loom::*;
