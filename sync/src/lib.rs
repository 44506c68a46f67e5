//! magpie-sync: channels, locks and notification primitives that work under any executor.
