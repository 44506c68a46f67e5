//! magpie facade
